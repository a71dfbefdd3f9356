"""Parse a run of complete ``<event>`` blocks (bytes) into :class:`~lhe_tools._channels.FlatEvents`.

Two parsers with the same result:

* :func:`parse_events_fast`: vectorised with numpy over the whole chunk (tokenise on whitespace, classify
  lines by their first token, take the particle lines by NUP, decode integers with digit arithmetic and
  floats with :func:`lhe_tools._numparse.decode_fixed` (exact; one ``np.fromstring`` call for layouts it
  does not handle)).  It returns ``None`` on anything unusual instead of guessing.
* :func:`parse_events_slow`: line by line in Python; it accepts the same files plus odd layouts (comment
  lines between particle lines, blank lines, Fortran ``D`` exponents) and raises :class:`LHEFormatError`
  with file, line and event for every malformation.  The reader (:class:`lhe_tools.lhe.LHEReader`) falls back
  to it where the fast parser returns ``None``.

LHEF 3 ``<rwgt>``/``<weights>``, ``<scales>`` and ``<event>`` attributes are read by
:func:`lhe_tools._lhe_fields.read_tags` (regular expressions over the chunk), shared by both.  As in
pylhe, ``<rwgt>`` values win over ``<weights>`` values for the same id, and ``<weights>`` values are matched
to the ``<initrwgt>`` ids by position.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ._channels import FlatEvents
from ._lhe_fields import check_momenta, read_tags, to_float, to_int
from ._numparse import decode_fixed
from ._source import LHEFormatError

__all__ = ["parse_events_fast", "parse_events_slow"]

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]
U1 = npt.NDArray[np.uint8]

_N_INFO, _N_PART = 6, 13


# --------------------------------------------------------------------------------------------------
# slow, exact-diagnosis parser


def parse_events_slow(
    path: str | os.PathLike[str],
    chunk: bytes,
    *,
    first_line: int,
    first_event: int,
    weight_ids: Sequence[str],
) -> FlatEvents:
    """Parse ``chunk`` line by line; see the module docstring.

    Parameters
    ----------
    path : path
        For error messages.
    chunk : bytes
        Text holding complete ``<event>`` blocks (it may also hold blank lines and comments between them).
    first_line, first_event : int
        1-based line number of the chunk's first line in the file; index of its first event.
    weight_ids : sequence of str
        ``<initrwgt>`` ids in declaration order (for ``<weights>`` blocks).
    """
    lines = chunk.split(b"\n")
    info: list[tuple[int, int, float, float, float, float]] = []
    pdg: list[int] = []
    status: list[int] = []
    mom: list[tuple[float, float, float, float]] = []
    opens: list[int] = []
    closes: list[int] = []
    line_off = np.concatenate(([0], np.cumsum([len(raw) + 1 for raw in lines])))
    i = 0
    n_lines = len(lines)
    while i < n_lines:
        raw = lines[i]
        s = raw.strip()
        lineno = first_line + i
        i += 1
        if s.startswith(b"</event") and s[7:8] in (b">", b" "):
            raise LHEFormatError(path, "</event> without a matching <event>", line=lineno)
        if not (s.startswith(b"<event") and s[6:7] in (b">", b" ", b"\t", b"")):
            continue
        ev = first_event + len(info)
        open_line = lineno
        if not s.endswith(b">"):
            raise LHEFormatError(
                path, "<event> start tag is not closed with '>' on its line", line=lineno, event=ev
            )
        opens.append(int(line_off[i - 1]))
        # event info line
        if i >= n_lines:
            raise LHEFormatError(path, "unterminated <event>: file ends inside it", line=lineno, event=ev)
        fields = lines[i].split()
        lineno = first_line + i
        if not fields or fields[0].startswith((b"<", b"#")):
            raise LHEFormatError(
                path,
                "expected the event line 'NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP' after <event>",
                line=lineno,
                event=ev,
            )
        if len(fields) != _N_INFO:
            raise LHEFormatError(
                path,
                f"event line must have {_N_INFO} columns (NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP), "
                f"found {len(fields)}",
                line=lineno,
                event=ev,
            )
        nup = to_int(path, fields[0], lineno, ev, "NUP")
        if nup < 0:
            raise LHEFormatError(path, f"NUP must be >= 0, found {nup}", line=lineno, event=ev)
        values = [
            to_float(path, f, lineno, ev, name)
            for f, name in zip(fields[2:], ("XWGTUP", "SCALUP", "AQEDUP", "AQCDUP"), strict=True)
        ]
        if not np.isfinite(values[0]):
            raise LHEFormatError(path, f"event weight XWGTUP is {values[0]}", line=lineno, event=ev)
        info.append((nup, to_int(path, fields[1], lineno, ev, "IDPRUP"), *values))  # type: ignore[arg-type]
        i += 1
        # particle lines: every non-comment, non-blank line before the first tag
        found = 0
        while i < n_lines:
            raw = lines[i]
            lineno = first_line + i
            s = raw.strip()
            if s.startswith(b"<"):
                break
            i += 1
            if not s or s.startswith(b"#"):
                continue
            found += 1
            if found > nup:
                raise LHEFormatError(
                    path,
                    f"more particle lines than NUP={nup} (event line at {open_line + 1})",
                    line=lineno,
                    event=ev,
                )
            cols = s.split()
            if len(cols) != _N_PART:
                raise LHEFormatError(
                    path,
                    f"particle line must have {_N_PART} columns (IDUP ISTUP MOTHUP1 MOTHUP2 ICOLUP1 ICOLUP2 "
                    f"PX PY PZ E M VTIMUP SPINUP), found {len(cols)}",
                    line=lineno,
                    event=ev,
                )
            pdg.append(to_int(path, cols[0], lineno, ev, "IDUP"))
            status.append(to_int(path, cols[1], lineno, ev, "ISTUP"))
            for k in range(2, 6):
                to_int(path, cols[k], lineno, ev, "MOTHUP/ICOLUP")
            px, py, pz, e = (to_float(path, cols[k], lineno, ev, "momentum") for k in (6, 7, 8, 9))
            for k in (10, 11, 12):
                to_float(path, cols[k], lineno, ev, "M/VTIMUP/SPINUP")
            mom.append((e, px, py, pz))
        if found != nup:
            raise LHEFormatError(
                path, f"NUP={nup} but the event has {found} particle lines", line=open_line + 1, event=ev
            )
        # the rest of the event: tags and comments up to </event>
        while True:
            if i >= n_lines:
                raise LHEFormatError(
                    path,
                    "unterminated <event>: no </event> before the end of the data",
                    line=open_line,
                    event=ev,
                )
            raw = lines[i]
            s = raw.strip()
            lineno = first_line + i
            if s.startswith(b"<event") and s[6:7] in (b">", b" ", b"\t"):
                raise LHEFormatError(
                    path,
                    f"unterminated <event> (opened at line {open_line}): a new <event> "
                    "starts before </event>",
                    line=lineno,
                    event=ev,
                )
            i += 1
            if s.startswith(b"</event"):
                closes.append(int(line_off[i - 1]) + len(raw))
                break
    n_ev = len(info)
    arr = np.array(info, dtype=np.float64).reshape(n_ev, 6)
    flat = FlatEvents(
        nup=arr[:, 0].astype(np.int64),
        idprup=arr[:, 1].astype(np.int64),
        weight=arr[:, 2].copy(),
        pdg=np.array(pdg, dtype=np.int64),
        status=np.array(status, dtype=np.int64),
        momenta=np.array(mom, dtype=np.float64).reshape(-1, 4),
    )
    check_momenta(path, flat, first_event)
    read_tags(
        path,
        chunk,
        flat,
        arr[:, 5],
        np.array(opens, dtype=np.int64),
        np.array(closes, dtype=np.int64),
        first_line,
        first_event,
        weight_ids,
    )
    return flat


# --------------------------------------------------------------------------------------------------
# fast vectorised parser


def _tokens(a: U1) -> tuple[I8, I8]:
    """Start and end (exclusive) offsets of the blank-separated tokens of ``a`` (bytes <= 32 are blank)."""
    ns = np.zeros(a.size + 2, dtype=np.bool_)
    np.greater(a, 32, out=ns[1:-1])
    edges = np.flatnonzero(ns[1:] ^ ns[:-1])  # alternating token starts and ends
    return np.ascontiguousarray(edges[0::2]), np.ascontiguousarray(edges[1::2])


def _decode_ints(a: U1, ts: I8, te: I8) -> I8 | None:
    """Integers from tokens by digit arithmetic; None if any token is not ``[+-]?digits``."""
    n = ts.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ln = te - ts
    width = int(ln.max())
    if width > 18:
        return None
    val = np.zeros(n, dtype=np.int64)
    neg = np.zeros(n, dtype=bool)
    ok = np.ones(n, dtype=bool)
    p = 1
    for k in range(1, width + 1):
        inside = k <= ln
        c = a[np.where(inside, te - k, 0)].astype(np.int64)
        d = c - 48
        isdig = inside & (d >= 0) & (d <= 9)
        sign = inside & (k == ln) & (ln > 1) & ((c == 45) | (c == 43))
        ok &= ~inside | isdig | sign
        val += np.where(isdig, d * p, 0)
        neg |= sign & (c == 45)
        p *= 10
    if not ok.all():
        return None
    return np.where(neg, -val, val)


def _decode_ranges(a: U1, starts: I8, stops: I8, count: int) -> F8 | None:
    """Floats from the byte ranges ``[starts, stops)`` (whitespace-separated numbers, ranges separated by at
    least one whitespace byte) via one ``np.fromstring``; None unless exactly ``count`` finite numbers
    parse."""
    if count == 0:
        return np.zeros(0)
    delta = np.zeros(a.size + 1, dtype=np.int8)
    delta[starts] = 1
    delta[stops] = -1
    mask = np.cumsum(delta[:-1], dtype=np.int8).view(np.bool_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(a[mask].tobytes(), dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None
    if values.size != count or not np.all(np.isfinite(values)):
        return None
    return values


_NUMERIC_START = np.zeros(256, dtype=np.bool_)
_NUMERIC_START[[*range(48, 58), 43, 45, 46]] = True  # digits, '+', '-', '.'


def _numeric_first(c: U1) -> npt.NDArray[np.bool_]:
    """Whether each byte can start (or end) a number: a digit, sign or point."""
    out: npt.NDArray[np.bool_] = _NUMERIC_START[c]
    return out


def _decode_columns(a: U1, ts: I8, te: I8, itok: I8, ptok: I8) -> tuple[F8 | None, F8 | None]:
    """XWGTUP SCALUP AQEDUP AQCDUP per event (n_ev, 4) and (E, PX, PY, PZ) per particle (n_part, 4)."""
    n_ev, n_part = itok.size, ptok.size
    i_idx = (itok[:, None] + np.arange(2, 6)[None, :]).reshape(-1)
    p_idx = (ptok[:, None] + np.array([9, 6, 7, 8])[None, :]).reshape(-1)
    info = decode_fixed(a, ts[i_idx], te[i_idx])
    mom = decode_fixed(a, ts[p_idx], te[p_idx]) if info is not None else None
    if info is not None and mom is not None:
        return info.reshape(n_ev, 4), mom.reshape(n_part, 4)
    # general path: XWGTUP..AQCDUP of an event line and PX PY PZ E of a particle line are contiguous byte
    # ranges; each is taken with the whitespace byte after it, so neighbouring ranges never touch
    starts = np.concatenate((ts[itok + 2], ts[ptok + 6]))
    stops = np.concatenate((te[itok + 5], te[ptok + 9])) + 1
    order = np.argsort(starts, kind="stable")
    if np.any(starts[order][1:] <= stops[order][:-1]):
        return None, None
    values = _decode_ranges(a, starts[order], stops[order], 4 * (n_ev + n_part))
    if values is None:
        return None, None
    values = values.reshape(-1, 4)[np.argsort(order, kind="stable")]
    return values[:n_ev], np.ascontiguousarray(values[n_ev:][:, [3, 0, 1, 2]])


def parse_events_fast(
    path: str | os.PathLike[str],
    chunk: bytes,
    *,
    first_line: int,
    first_event: int,
    weight_ids: Sequence[str],
) -> FlatEvents | None:
    """Vectorised parse of ``chunk`` (arguments as :func:`parse_events_slow`); None if it must fall back."""
    a = np.frombuffer(chunk, dtype=np.uint8)
    ts, te = _tokens(a)
    if ts.size == 0:
        return None
    nl = np.flatnonzero(a == 10)
    line_start = np.concatenate(([0], nl + 1))
    ft = np.searchsorted(ts, line_start)
    ntok = np.diff(np.concatenate((ft, [ts.size])))
    has = ntok > 0
    ftc = np.minimum(ft, ts.size - 1)
    first_tok_s, first_tok_e = ts[ftc], te[ftc]
    c0 = np.where(has, a[first_tok_s], 0)
    tl = first_tok_e - first_tok_s
    is_tag = c0 == 60

    tags = np.flatnonzero(is_tag)
    tag_s, tag_l = first_tok_s[tags], tl[tags]

    def word_at(off: int, word: bytes) -> npt.NDArray[np.bool_]:
        m = np.ones(tags.size, dtype=bool)
        for j, ch in enumerate(word):
            m &= a[np.minimum(tag_s + off + j, a.size - 1)] == ch
        return m

    is_open = np.zeros(c0.size, dtype=bool)
    is_close = np.zeros(c0.size, dtype=bool)
    is_open[tags] = word_at(1, b"event") & (
        (tag_l == 6) | ((tag_l == 7) & (a[np.minimum(tag_s + 6, a.size - 1)] == 62))
    )
    is_close[tags] = word_at(1, b"/event>") & (tag_l == 8)
    opens = np.flatnonzero(is_open)
    closes = np.flatnonzero(is_close)
    n_ev = opens.size
    if n_ev == 0 or closes.size != n_ev:
        return None
    if not (np.all(opens < closes) and np.all(closes[:-1] < opens[1:])):
        return None
    info = opens + 1
    if np.any(info >= closes) or np.any(ntok[info] != _N_INFO) or not np.all(_numeric_first(c0[info])):
        return None
    nup = _decode_ints(a, ts[ft[info]], te[ft[info]])
    idprup = _decode_ints(a, ts[ft[info] + 1], te[ft[info] + 1])
    if nup is None or idprup is None or np.any(nup < 0):
        return None
    last = info + nup
    if np.any(last >= closes):
        return None
    n_part = int(nup.sum())
    pl = np.repeat(info + 1 - np.concatenate(([0], np.cumsum(nup)[:-1])), nup) + np.arange(n_part)
    if np.any(ntok[pl] != _N_PART) or not np.all(_numeric_first(c0[pl])):
        return None
    # nothing that could be a particle line between the particles and the first tag of the event
    free = (has & ~is_tag & (c0 != 35)).astype(np.int64)
    cfree = np.concatenate(([0], np.cumsum(free)))
    next_tag = tags[np.searchsorted(tags, last + 1)]
    if np.any(cfree[next_tag] - cfree[last + 1] != 0):
        return None
    ptok = ft[pl]
    ids = _decode_ints(a, ts[ptok], te[ptok])
    st = _decode_ints(a, ts[ptok + 1], te[ptok + 1])
    if ids is None or st is None:
        return None
    # columns we do not keep (mothers, colours, mass, lifetime, spin) must still look numeric
    other = (ptok[:, None] + np.array([2, 3, 4, 5, 10, 11, 12])[None, :]).reshape(-1)
    if not (np.all(_numeric_first(a[ts[other]])) and np.all(_numeric_first(a[te[other] - 1]))):
        return None
    itok = ft[info]
    info_vals, momenta = _decode_columns(a, ts, te, itok, ptok)
    if info_vals is None or momenta is None:
        return None
    flat = FlatEvents(
        nup=nup,
        idprup=idprup,
        weight=info_vals[:, 0].copy(),
        pdg=ids,
        status=st,
        momenta=momenta,
    )
    open_off = first_tok_s[opens]
    close_off = first_tok_e[closes]
    # LHEF 3 tags sit on lines starting with <rwgt>, <wgt>, <weights> or <scales>: skip the scans otherwise
    second = a[np.minimum(tag_s + 1, a.size - 1)]
    maybe_tags = bool(np.any((second == 114) | (second == 119) | (second == 115)))
    read_tags(
        path,
        chunk,
        flat,
        info_vals[:, 3],
        open_off,
        close_off,
        first_line,
        first_event,
        weight_ids,
        opens_have_attrs=tl[opens] == 6,
        scan_tags=maybe_tags,
    )
    return flat
