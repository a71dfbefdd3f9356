"""Event fields outside the numeric block: strict numbers, ``<event>`` attributes and LHEF 3 tags.

:func:`read_tags` fills the optional columns (``alpha_s`` from AQCDUP, ``trials``/``muf2``/``mur2`` from
``<event>`` attributes, ``muf2``/``mur2`` from ``<scales muf mur>`` squared) and the extra weights
(``<weights>`` values by position in ``<initrwgt>``, then ``<rwgt><wgt id=...>``, which wins, as in pylhe).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ._channels import FlatEvents
from ._source import LHEFormatError

__all__ = ["check_momenta", "read_tags", "to_float", "to_int"]

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]

_WGT = re.compile(rb"<wgt\b([^>]*)>(.*?)</wgt\s*>", re.S)
_WEIGHTS = re.compile(rb"<weights\b[^>]*>(.*?)</weights\s*>", re.S)
_SCALES = re.compile(rb"<scales\b([^>]*?)/?>")
_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(["'])(.*?)\2""", re.S)
_NUMBER = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?")
_ATTR_COLUMNS = {b"trials": "trials", b"muf2": "muf2", b"mur2": "mur2"}


def to_float(path: str | os.PathLike[str], tok: bytes, line: int, event: int, what: str) -> float:
    """Strict float conversion of one token (Fortran ``D`` exponents allowed; nan/inf rejected)."""
    try:
        value = float(tok)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or b"_" in tok:
        t = tok.strip()
        if not _NUMBER.fullmatch(t):
            raise LHEFormatError(
                path,
                f"non-numeric {what} {t.decode(errors='replace')!r}; expected a finite number",
                line=line,
                event=event,
            )
        value = float(t.replace(b"D", b"E").replace(b"d", b"e"))
    return value


def to_int(path: str | os.PathLike[str], tok: bytes, line: int, event: int, what: str) -> int:
    value = to_float(path, tok, line, event, what)
    if value != int(value):
        raise LHEFormatError(path, f"{what} must be an integer, found {value!r}", line=line, event=event)
    return int(value)


def check_momenta(path: str | os.PathLike[str], flat: FlatEvents, first_event: int) -> None:
    bad = ~np.isfinite(flat.momenta).all(axis=1)
    if bad.any():
        p = int(np.flatnonzero(bad)[0])
        ev = int(np.searchsorted(np.cumsum(flat.nup), p, side="right"))
        raise LHEFormatError(
            path, f"momentum of particle {p} is not finite: {flat.momenta[p]}", event=first_event + ev
        )


def read_tags(
    path: str | os.PathLike[str],
    chunk: bytes,
    flat: FlatEvents,
    aqcd: F8,
    open_off: I8,
    close_off: I8,
    first_line: int,
    first_event: int,
    weight_ids: Sequence[str],
    opens_have_attrs: npt.NDArray[np.bool_] | None = None,
    scan_tags: bool = True,
) -> None:
    """Fill ``flat.columns`` and ``flat.extra_weights`` from event attributes and LHEF 3 tags.

    Every id declared in ``<initrwgt>`` gets a column (NaN in events that do not carry it), so all chunks of
    a file have the same extra weights.
    """
    n_ev = len(flat)

    def line_at(pos: int) -> int:
        return first_line + chunk.count(b"\n", 0, pos)

    def event_at(pos: int) -> int | None:
        k = int(np.searchsorted(open_off, pos, side="right")) - 1
        if k < 0 or pos > close_off[k]:
            return None
        return k

    if np.any(aqcd > 0):
        flat.columns["alpha_s"] = np.where(aqcd > 0, aqcd, np.nan)
    # <event ...> attributes
    cols: dict[str, F8] = {}
    candidates = range(n_ev) if opens_have_attrs is None else np.flatnonzero(opens_have_attrs).tolist()
    for j in candidates:
        start = int(open_off[j])
        end = chunk.find(b">", start)
        for key, _, value in _ATTR.findall(chunk, start, end):
            name = _ATTR_COLUMNS.get(key)
            if name is None:
                continue
            arr = cols.setdefault(name, np.full(n_ev, np.nan))
            arr[j] = to_float(path, value, line_at(start), first_event + j, f"event attribute {name}")
    # <scales muf=.. mur=..> (LHEF 3): squared into muf2/mur2 where no attribute gave them
    if scan_tags and b"<scales" in chunk:
        for m in _SCALES.finditer(chunk):
            k = event_at(m.start())
            if k is None:
                continue
            for key, _, value in _ATTR.findall(m.group(1)):
                if key in (b"muf", b"mur"):
                    name = key.decode() + "2"
                    v = to_float(path, value, line_at(m.start()), first_event + k, f"<scales> {key.decode()}")
                    arr = cols.setdefault(name, np.full(n_ev, np.nan))
                    if np.isnan(arr[k]):
                        arr[k] = v * v
    flat.columns.update(cols)
    if scan_tags:
        for tag in (b"rwgt", b"wgt", b"weights"):
            if b"<" + tag in chunk:
                _check_closed(path, chunk, tag, line_at, event_at, first_event)
    # weights: <weights> by position in <initrwgt>, then <rwgt><wgt id=..> (which wins)
    extra: dict[str, F8] = {wid: np.full(n_ev, np.nan) for wid in weight_ids}
    if scan_tags and b"<weights" in chunk:
        for m in _WEIGHTS.finditer(chunk):
            k = event_at(m.start())
            if k is None:
                continue
            vals = m.group(1).split()
            if not weight_ids:
                raise LHEFormatError(
                    path,
                    "<weights> block but no <initrwgt> declares weight ids",
                    line=line_at(m.start()),
                    event=first_event + k,
                )
            if len(vals) > len(weight_ids):
                raise LHEFormatError(
                    path,
                    f"<weights> has {len(vals)} values but <initrwgt> declares only {len(weight_ids)} ids",
                    line=line_at(m.start()),
                    event=first_event + k,
                )
            for wid, tok in zip(weight_ids, vals, strict=False):
                arr = extra.setdefault(wid, np.full(n_ev, np.nan))
                arr[k] = to_float(path, tok, line_at(m.start()), first_event + k, f"weight {wid!r}")
    if scan_tags and b"<wgt" in chunk:
        for m in _WGT.finditer(chunk):
            k = event_at(m.start())
            if k is None:
                continue
            attrs = {key: value for key, _, value in _ATTR.findall(m.group(1))}
            if b"id" not in attrs:
                raise LHEFormatError(
                    path, "<wgt> without an 'id' attribute", line=line_at(m.start()), event=first_event + k
                )
            wid = attrs[b"id"].decode(errors="replace")
            arr = extra.setdefault(wid, np.full(n_ev, np.nan))
            arr[k] = to_float(path, m.group(2), line_at(m.start()), first_event + k, f"weight {wid!r}")
    for wid, arr in extra.items():
        bad = np.isinf(arr)
        if bad.any():
            raise LHEFormatError(
                path, f"weight {wid!r} is infinite", event=first_event + int(np.flatnonzero(bad)[0])
            )
    rank = {wid: k for k, wid in enumerate(weight_ids)}
    for wid in sorted(extra, key=lambda w: rank.get(w, len(rank))):
        flat.extra_weights[wid] = extra[wid]


def _check_closed(
    path: str | os.PathLike[str],
    chunk: bytes,
    tag: bytes,
    line_at: Callable[[int], int],
    event_at: Callable[[int], int | None],
    first_event: int,
) -> None:
    """Every ``<tag ...>`` must be closed by ``</tag>`` before the next ``<tag`` (malformed XML otherwise)."""
    name = tag.decode()
    opens = [m.start() for m in re.finditer(rb"<" + tag + rb"[\s>]", chunk)]
    closes = [m.start() for m in re.finditer(rb"</" + tag + rb"\s*>", chunk)]
    for i, start in enumerate(opens):
        close = closes[i] if i < len(closes) else None
        after = opens[i + 1] if i + 1 < len(opens) else None
        if close is None or close < start or (after is not None and close > after):
            k = event_at(start)
            raise LHEFormatError(
                path,
                f"unterminated <{name}>: expected </{name}> before the next <{name}> or the end of the event",
                line=line_at(start),
                event=None if k is None else first_event + k,
            )
    if len(closes) > len(opens):
        extra = closes[len(opens)]
        raise LHEFormatError(path, f"</{name}> without a matching <{name}>", line=line_at(extra))
