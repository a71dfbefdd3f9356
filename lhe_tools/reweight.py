"""Byte-preserving, streaming insertion of new weights into LHE files (as MadGraph's reweight module does).

Every byte of the input survives: header, banner comments, ``<init>``, particle lines, ``<mgrwt>``,
``<clustering>``, existing weights.  Only whole lines are added:

- in ``<header>``: a ``<weightgroup name='...' weight_name_strategy='includeIdInWeightName'>`` with one
  ``<weight id='...'>description</weight>`` per new weight, appended to the existing ``<initrwgt>`` (or a new
  ``<initrwgt>`` before ``</header>``, or a new ``<header>`` before ``<init>`` when the file has none);
- in each event: one ``<wgt id='...'> value </wgt>`` line per new weight before ``</rwgt>`` (or a new
  ``<rwgt>`` block before ``</event>``), values with 17 significant digits (exact float64 round trip).

The input is read by the LHE reader itself (:class:`lhe_tools.lhe.LHEReader`: the same byte source, so plain,
gzip, bzip2 or xz detected from the bytes, and the same event parser), which hands over each block's bytes
with its parse; so the writer accepts exactly what the reader accepts and a malformed file raises the
reader's :class:`~lhe_tools.LHEFormatError` naming file, line and event.  The output is gzip when its name
ends in ``.gz``, written atomically; memory is bounded by ``chunk_size`` events and the block size.  The new
values come from a callback that receives the events of one chunk as columns (:class:`LHEChunk`), so
callers can evaluate them vectorised.
"""

from __future__ import annotations

import bisect
import gzip
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import IO, cast

import numpy as np
import numpy.typing as npt

from ._atomic import atomic_path
from ._channels import FlatEvents, concat_flat, split_channels
from ._source import LHEFormatError
from .batch import EventBatch
from .lhe import LHEReader, RawChunk

__all__ = ["LHEChunk", "NewWeight", "ReweightSummary", "WeightCallback", "format_wgt", "reweight_lhe"]

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]
B1 = npt.NDArray[np.bool_]

#: the tag that opens ``<init>`` (as :func:`lhe_tools.lhe_header.parse_prologue` finds it)
_INIT = re.compile(rb"<init\b[^>]*>")
_ROOT = re.compile(rb"<LesHouchesEvents\b[^>]*>")
#: event open and close tags as the reader's parsers see them: first token of a line
_EVENT = re.compile(rb"^[ \t\r\f\v]*<event(?=[\s>])", re.M)
_EVENT_END = re.compile(rb"^[ \t\r\f\v]*</event", re.M)
_HEADER_END = re.compile(rb"</header>")
_INITRWGT_END = re.compile(rb"</initrwgt>")
_RWGT_END = b"</rwgt>"
_ID_OK = re.compile(r"^[A-Za-z0-9_.:+-]+$")
#: extra-weight key that carries each event's index through the channel split
_INDEX = "fame_chunk_event_index"
#: decompressed bytes read at a time (small: the memory is bounded by a few blocks)
_BLOCK = 1 << 16

#: one event's text with the offsets in it of its ``<event`` line and its ``</event`` tag
_EventText = tuple[bytes, int, int]


@dataclass(frozen=True)
class NewWeight:
    """A weight to add: its id (unique in the file) and the description written in ``<initrwgt>``."""

    id: str
    description: str = ""

    def __post_init__(self) -> None:
        if not _ID_OK.match(self.id):
            raise ValueError(f"weight id {self.id!r} must match {_ID_OK.pattern}")


@dataclass(frozen=True)
class LHEChunk:
    """The events of one chunk as columns (what the weight callback receives), as the LHE reader parsed them.

    Attributes
    ----------
    first : int
        Index (0-based, in the file) of the chunk's first event.
    events : FlatEvents
        The events: NUP, IDPRUP, XWGTUP, every particle line's PDG id, status and (E, px, py, pz), the
        optional columns and the stored weights (``<rwgt>``/``<weights>``), see
        :class:`lhe_tools._channels.FlatEvents`.
    """

    first: int
    events: FlatEvents

    def __len__(self) -> int:
        return len(self.events)

    @property
    def xwgtup(self) -> F8:
        """Event weights XWGTUP, float64, shape (N,)."""
        return self.events.weight

    @property
    def offsets(self) -> I8:
        """int64, shape (N + 1,): event ``i`` owns particle rows ``offsets[i]:offsets[i+1]``."""
        out = np.zeros(len(self) + 1, dtype=np.int64)
        np.cumsum(self.events.nup, out=out[1:])
        return out

    @property
    def pdg(self) -> I8:
        """PDG ids of all particle rows (every status, file order), int64, shape (P,)."""
        return self.events.pdg

    @property
    def status(self) -> I8:
        """ISTUP of all particle rows, int64, shape (P,)."""
        return self.events.status

    @property
    def momenta(self) -> F8:
        """(E, px, py, pz) of all particle rows in GeV, float64, shape (P, 4)."""
        return self.events.momenta

    def channel_batches(
        self, cache: dict[tuple[tuple[int, ...], int], tuple[str, I8, bool]] | None = None
    ) -> list[tuple[EventBatch, I8]]:
        """The chunk's events split per channel, exactly as the LHE reader splits them.

        Parameters
        ----------
        cache : dict, optional
            Memo of channel names shared between chunks (pass the same dict every time).

        Returns
        -------
        list of (EventBatch, ndarray int64)
            One batch per channel (canonical particle order and Sherpa name, see
            :func:`lhe_tools.process.canonical_channel`; incoming = ISTUP -1, outgoing = ISTUP +1 or 0) and
            the indices in this chunk of its events.
        """
        flat = replace(
            self.events,
            weight=self.events.weight.copy(),
            columns={},
            extra_weights={_INDEX: np.arange(len(self), dtype=np.float64)},
        )
        return [
            (b.with_columns(extra_weights={}), b.extra_weights[_INDEX].astype(np.int64))
            for b in split_channels(flat, {}, first_event=self.first, cache=cache)
        ]

    def stored_weight(self, wid: str) -> F8:
        """The stored weight ``wid`` of each event, float64, shape (N,); NaN where an event lacks it."""
        return self.events.extra_weights.get(wid, np.full(len(self), np.nan))


#: callback: chunk -> (values (N, K) float64 for the K new weights, covered (N,) bool)
WeightCallback = Callable[[LHEChunk], tuple[F8, B1]]


@dataclass(frozen=True)
class ReweightSummary:
    """What :func:`reweight_lhe` did: events seen, events the callback covered, the rest, time."""

    output: Path
    events: int
    reweighted: int
    skipped: int
    ids: tuple[str, ...]
    seconds: float


def _eol_at(text: bytes, pos: int) -> bytes:
    """The line end of the line holding ``text[pos]`` (``\\n`` when it has none)."""
    nl = text.find(b"\n", pos)
    return b"\r\n" if nl > 0 and text[nl - 1 : nl] == b"\r" else b"\n"


def _insert_before(text: bytes, pos: int, block: bytes) -> bytes:
    """``text`` with ``block`` (whole lines) standing before the tag at ``pos``."""
    start = text.rfind(b"\n", 0, pos) + 1
    if not text[start:pos].strip():
        return text[:start] + block + text[start:]
    # the tag shares its line with other content: split it there (the only case that adds a line break)
    return text[:pos] + _eol_at(text, pos) + block + text[pos:]


def _header_block(weights: Sequence[NewWeight], group: str, eol: bytes) -> bytes:
    lines = [f"<weightgroup name='{group}' weight_name_strategy='includeIdInWeightName'>".encode() + eol]
    for w in weights:
        desc = w.description.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        lines.append(f"<weight id='{w.id}'>{desc}</weight>".encode() + eol)
    lines.append(b"</weightgroup>" + eol)
    return b"".join(lines)


def _splice_prologue(prologue: bytes, weights: Sequence[NewWeight], group: str) -> bytes:
    """The file's text through ``</init>`` with the new weight declarations added before ``<init>``."""
    root = _ROOT.search(prologue)
    init = _INIT.search(prologue, root.end() if root else 0)
    assert init is not None  # the reader parsed this prologue
    pos = init.start()
    line_start = prologue.rfind(b"\n", 0, pos) + 1
    # ``head``: the lines before <init> (its line is split if <init> shares it: the only added line break)
    if prologue[line_start:pos].strip():
        head, rest = prologue[:pos] + _eol_at(prologue, pos), prologue[pos:]
    else:
        head, rest = prologue[:line_start], prologue[line_start:]
    eol = b"\r\n" if head.endswith(b"\r\n") else b"\n"
    header_end = _HEADER_END.search(head)
    block = _header_block(weights, group, eol)
    if header_end is not None:
        m = _INITRWGT_END.search(head, 0, header_end.end())
        if m is not None:
            return _insert_before(head, m.start(), block) + rest
        wrapped = b"<initrwgt>" + eol + block + b"</initrwgt>" + eol
        return _insert_before(head, header_end.start(), wrapped) + rest
    wrapped = b"<header>" + eol + b"<initrwgt>" + eol + block + b"</initrwgt>" + eol + b"</header>" + eol
    return head + wrapped + rest


def format_wgt(wid: str, value: float, eol: bytes = b"\n") -> bytes:
    """One ``<wgt id='ID'> +v.vvvvvvvvvvvvvvvve+XX </wgt>`` line (17 significant digits)."""
    return f"<wgt id='{wid}'> {value:+.16e} </wgt>".encode() + eol


def _splice_event(event: _EventText, ids: Sequence[str], values: F8) -> bytes:
    """One event's text (what precedes it, ``<event>`` … ``</event>`` line) with the new ``<wgt>`` lines."""
    text, opened, close = event
    eol = _eol_at(text, close)
    wgts = b"".join(format_wgt(i, float(v), eol) for i, v in zip(ids, values, strict=True))
    rwgt = text.rfind(_RWGT_END, opened, close)
    if rwgt >= 0:
        return _insert_before(text, rwgt, wgts)
    return _insert_before(text, close, b"<rwgt>" + eol + wgts + b"</rwgt>" + eol)


def _event_texts(reader: LHEReader, raw: RawChunk) -> list[_EventText]:
    """Cut a reader block after each event's ``</event>`` line (what precedes an event belongs to it).

    Each event comes with the offsets, in its text, of its ``<event`` line and of its ``</event`` tag,
    found in the same scan of the block that cuts it.
    """
    data, n = raw.data, len(raw.events)
    closes = [m.end() - len(b"</event") for m in _EVENT_END.finditer(data)]
    if len(closes) != n:  # the reader's parse and this split disagree: refuse rather than misplace weights
        raise LHEFormatError(
            reader.path,
            f"{len(closes)} lines start with </event> where the reader parsed {n} events; "
            "expected one </event> line per event",
            line=raw.first_line,
            event=raw.first_event,
        )
    opens = [m.start() for m in _EVENT.finditer(data)]
    cuts = [0]
    for close in closes:
        nl = data.find(b"\n", close)
        cuts.append(len(data) if nl < 0 else nl + 1)
    if cuts[-1] < len(data):  # text after the last event's line: keep it with the last event
        if not n:
            raise LHEFormatError(reader.path, "a block of text without events", line=raw.first_line)
        cuts[-1] = len(data)
    texts = []
    for (a, b), close in zip(pairwise(cuts), closes, strict=True):
        # the event's opening line: the last one before its closing tag (the reader parsed one per event)
        k = bisect.bisect_left(opens, close) - 1
        if k < 0 or opens[k] < a:
            raise LHEFormatError(
                reader.path,
                "an event whose <event> tag does not start a line; expected <event> at the start of a line",
                line=raw.first_line + data.count(b"\n", 0, a),
            )
        texts.append((data[a:b], opens[k] - a, close - a))
    return texts


def _chunks(reader: LHEReader, size: int) -> Iterator[tuple[LHEChunk, list[_EventText]]]:
    """The events regrouped into chunks of ``size`` (the last one shorter) with their texts."""
    parts: list[FlatEvents] = []
    texts: list[_EventText] = []
    first = 0
    for raw in reader.iter_chunks():
        parts.append(raw.events)
        texts.extend(_event_texts(reader, raw))
        while len(texts) >= size:
            joined = concat_flat(parts)
            yield LHEChunk(first, joined.take(0, size)), texts[:size]
            parts = [joined.take(size, len(joined))] if len(texts) > size else []
            texts = texts[size:]
            first += size
    if texts:
        yield LHEChunk(first, concat_flat(parts)), texts


def reweight_lhe(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    weights: Sequence[NewWeight],
    callback: WeightCallback,
    *,
    group: str = "fame_reweighting",
    chunk_size: int = 2048,
    compresslevel: int = 6,
    progress: bool = False,
) -> ReweightSummary:
    """Copy ``src`` to ``dst`` byte for byte, adding the new weights to ``<initrwgt>`` and every event.

    Parameters
    ----------
    src : path
        LHE file, plain or compressed (gzip, bzip2, xz), as :class:`lhe_tools.LHEReader` reads it.
    dst : path
        Output; gzip-compressed when the name ends in ``.gz``.  Written atomically.
    weights : sequence of NewWeight
        The K new weights (ids must not exist in the file).
    callback : callable
        ``callback(chunk) -> (values, covered)``: ``values`` float64 (N, K), the new weights of the chunk's
        N events (in XWGTUP units); ``covered`` bool (N,), False for events the caller could not compute
        (their values are written as given, e.g. equal to XWGTUP) — they are counted as skipped.
    group : str
        Name of the added ``<weightgroup>``.
    chunk_size : int
        Events per callback call (bounds the memory).
    compresslevel : int
        gzip level of a ``.gz`` output.
    progress : bool
        tqdm bar (events) on stderr.

    Returns
    -------
    ReweightSummary

    Raises
    ------
    LHEFormatError
        ``src`` is not an LHE file the reader accepts (file, line and event in the message); no output.
    ValueError
        No or duplicate new weights, an id the file already declares, or a callback result of the wrong
        shape or with non-finite values; no output.
    """
    if not weights:
        raise ValueError("no weights to add")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive number of events, got {chunk_size}")
    ids = [w.id for w in weights]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate new weight ids {ids}")
    src, dst = Path(src), Path(dst)
    start = time.perf_counter()
    n_events = n_cov = 0
    reader = LHEReader(src, block_size=_BLOCK)
    clash = sorted(set(reader.header.weight_ids) & set(ids))
    if clash:
        raise ValueError(
            f"{src}: weight id(s) {clash} already declared in the file's <initrwgt>; pick others"
        )
    with ExitStack() as stack:
        tmp = stack.enter_context(atomic_path(dst, suffix=".gz" if dst.name.endswith(".gz") else ""))
        raw = stack.enter_context(tmp.open("wb"))
        fout: IO[bytes] = (
            cast(IO[bytes], stack.enter_context(
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=compresslevel, mtime=0)
            ))
            if dst.name.endswith(".gz")
            else raw
        )
        bar = None
        if progress:
            from tqdm import tqdm

            bar = stack.enter_context(tqdm(desc="reweight", unit="ev", file=sys.stderr))
        fout.write(_splice_prologue(reader.prologue, weights, group))
        for chunk, texts in _chunks(reader, chunk_size):
            n = len(chunk)
            values, covered = callback(chunk)
            values = np.asarray(values, dtype=np.float64)
            covered = np.asarray(covered, dtype=bool)
            if values.shape != (n, len(ids)) or covered.shape != (n,):
                raise ValueError(
                    f"{src}: weight callback returned values {values.shape} and covered {covered.shape} for "
                    f"events {n_events}..{n_events + n - 1}; expected ({n}, {len(ids)}) and ({n},)"
                )
            bad = ~np.isfinite(values)
            if bad.any():
                k = int(np.flatnonzero(bad.any(axis=1))[0])
                raise ValueError(
                    f"{src}: new weight(s) {values[k].tolist()} of event {n_events + k} are not finite"
                )
            fout.write(b"".join(_splice_event(t, ids, v) for t, v in zip(texts, values, strict=True)))
            n_events += n
            n_cov += int(covered.sum())
            if bar is not None:
                bar.update(n)
        assert reader.tail is not None  # set when the reader's iteration ends without an error
        fout.write(reader.tail)
    return ReweightSummary(
        output=dst,
        events=n_events,
        reweighted=n_cov,
        skipped=n_events - n_cov,
        ids=tuple(ids),
        seconds=time.perf_counter() - start,
    )
