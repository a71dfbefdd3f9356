"""Byte-preserving, streaming insertion of new weights into LHE files (as MadGraph's reweight module does).

Every byte of the input survives: header, banner comments, ``<init>``, particle lines, ``<mgrwt>``,
``<clustering>``, existing weights.  Only whole lines are added:

- in ``<header>``: a ``<weightgroup name='...' weight_name_strategy='includeIdInWeightName'>`` with one
  ``<weight id='...'>description</weight>`` per new weight, appended to the existing ``<initrwgt>`` (or a new
  ``<initrwgt>`` before ``</header>``, or a new ``<header>`` before ``<init>`` when the file has none);
- in each event: one ``<wgt id='...'> value </wgt>`` line per new weight before ``</rwgt>`` (or a new
  ``<rwgt>`` block before ``</event>``), values with 17 significant digits (exact float64 round trip).

Input plain or gzip (detected from the magic bytes); output gzip when its name ends in ``.gz``; written
atomically; memory bounded by ``chunk_size`` events.  The new values come from a callback that receives the
events of one chunk as columns (:class:`LHEChunk`), so callers can evaluate them vectorised.
"""

from __future__ import annotations

import gzip
import lzma
import os
import re
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import numpy.typing as npt

from ._atomic import atomic_path
from ._source import LHEFormatError
from .batch import EventBatch

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]
B1 = npt.NDArray[np.bool_]

_INIT = re.compile(rb"^\s*<init[\s>]")
_EVENT = re.compile(rb"^\s*<event[\s>]")
_EVENT_END = re.compile(rb"</event>")
_HEADER_END = re.compile(rb"</header>")
_INITRWGT_END = re.compile(rb"</initrwgt>")
_RWGT_END = re.compile(rb"</rwgt>")
_WEIGHT_ID = re.compile(rb"<weight\s[^>]*\bid\s*=\s*['\"]([^'\"]*)['\"]")
_WGT = re.compile(rb"<wgt\s[^>]*\bid\s*=\s*['\"]([^'\"]*)['\"][^>]*>([^<]*)</wgt>")
_ID_OK = re.compile(r"^[A-Za-z0-9_.:+-]+$")
#: columns of an LHE particle line
PARTICLE_COLUMNS = 13
#: extra-weight key that carries each event's index through the channel split
_INDEX = "fame_chunk_event_index"


class LHEReweightError(ValueError):
    """The input is not an LHE file this writer can splice, or the new weights are inconsistent."""


@dataclass(frozen=True)
class NewWeight:
    """A weight to add: its id (unique in the file) and the description written in ``<initrwgt>``."""

    id: str
    description: str = ""

    def __post_init__(self) -> None:
        if not _ID_OK.match(self.id):
            raise LHEReweightError(f"weight id {self.id!r} must match {_ID_OK.pattern}")


@dataclass(frozen=True)
class LHEChunk:
    """The events of one chunk as columns (what the weight callback receives).

    Attributes
    ----------
    first : int
        Index (0-based, in the file) of the chunk's first event.
    info : ndarray, float64, shape (N, 6)
        NUP, IDPRUP, XWGTUP, SCALUP, AQEDUP, AQCDUP of each event.
    offsets : ndarray, int64, shape (N + 1,)
        Event ``i`` owns particle rows ``offsets[i]:offsets[i+1]``.
    particles : ndarray, float64, shape (P, 13)
        IDUP ISTUP MOTHUP1 MOTHUP2 ICOLUP1 ICOLUP2 PX PY PZ E M VTIMUP SPINUP, in file order.
    weights : tuple of dict
        Per event the stored ``<wgt id=...>`` values (id to float).
    """

    first: int
    info: F8
    offsets: I8
    particles: F8
    weights: tuple[dict[str, float], ...]

    def __len__(self) -> int:
        return int(self.info.shape[0])

    @property
    def xwgtup(self) -> F8:
        """Event weights XWGTUP, shape (N,)."""
        return self.info[:, 2]

    @property
    def pdg(self) -> I8:
        """PDG ids of all particle rows, shape (P,)."""
        return self.particles[:, 0].astype(np.int64)

    @property
    def status(self) -> I8:
        """ISTUP of all particle rows, shape (P,)."""
        return self.particles[:, 1].astype(np.int64)

    @property
    def momenta(self) -> F8:
        """(E, px, py, pz) of all particle rows in GeV, shape (P, 4)."""
        return self.particles[:, [9, 6, 7, 8]]

    def channel_batches(
        self, cache: dict[tuple[tuple[int, ...], int], Any] | None = None
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
        from ._channels import FlatEvents, split_channels

        flat = FlatEvents(
            nup=np.diff(self.offsets),
            idprup=self.info[:, 1].astype(np.int64),
            weight=self.xwgtup.copy(),
            pdg=self.pdg,
            status=self.status,
            momenta=self.momenta,
            extra_weights={_INDEX: np.arange(len(self), dtype=np.float64)},
        )
        out = []
        for b in split_channels(flat, {}, first_event=self.first, cache=cache):
            out.append((b.with_columns(extra_weights={}), b.extra_weights[_INDEX].astype(np.int64)))
        return out

    def stored_weight(self, wid: str) -> F8:
        """The stored weight ``wid`` of each event, shape (N,); NaN where an event does not have it."""
        return np.array([w.get(wid, np.nan) for w in self.weights], dtype=np.float64)


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


def count_events(src: str | os.PathLike[str], chunk_size: int = 2048) -> int:
    """Events in an LHE file as :func:`lhe_tools.read_lhe` reads them (raising its errors for a bad file)."""
    from .lhe import read_lhe

    return sum(len(b) for b in read_lhe(src, chunk_size=chunk_size, block_size=1 << 18))


def open_lhe_bytes(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open an LHE file for binary reading, gunzipping when it starts with the gzip magic bytes."""
    path = Path(path)
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _eol(line: bytes) -> bytes:
    return b"\r\n" if line.endswith(b"\r\n") else b"\n"


def _insert_before(line: bytes, match: re.Match[bytes], block: list[bytes]) -> list[bytes]:
    """Lines replacing ``line`` so that ``block`` (whole lines) stands before the matched tag."""
    head = line[: match.start()]
    if not head.strip():
        return [*block, line]
    # the tag shares its line with other content: split it there (the only case that adds a line break)
    return [head + _eol(line), *block, line[match.start():]]


def _header_block(weights: Sequence[NewWeight], group: str, eol: bytes) -> list[bytes]:
    lines = [f"<weightgroup name='{group}' weight_name_strategy='includeIdInWeightName'>".encode() + eol]
    for w in weights:
        desc = w.description.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        lines.append(f"<weight id='{w.id}'>{desc}</weight>".encode() + eol)
    lines.append(b"</weightgroup>" + eol)
    return lines


def _splice_header(head: list[bytes], weights: Sequence[NewWeight], group: str) -> list[bytes]:
    """The lines before ``<init>`` with the new weight declarations added."""
    text = b"".join(head)
    existing = {m.group(1).decode(errors="replace") for m in _WEIGHT_ID.finditer(text)}
    clash = sorted(existing & {w.id for w in weights})
    if clash:
        raise LHEReweightError(f"weight id(s) {clash} already declared in the file's <initrwgt>; pick others")
    eol = _eol(head[-1]) if head else b"\n"
    block = _header_block(weights, group, eol)
    header_end: int | None = None
    for i, line in enumerate(head):
        if _HEADER_END.search(line):
            header_end = i
            break
    if header_end is not None:
        for i in range(header_end + 1):
            m = _INITRWGT_END.search(head[i])
            if m:
                return [*head[:i], *_insert_before(head[i], m, block), *head[i + 1:]]
        m = _HEADER_END.search(head[header_end])
        assert m is not None
        wrapped = [b"<initrwgt>" + eol, *block, b"</initrwgt>" + eol]
        return [*head[:header_end], *_insert_before(head[header_end], m, wrapped), *head[header_end + 1:]]
    return [*head, b"<header>" + eol, b"<initrwgt>" + eol, *block, b"</initrwgt>" + eol, b"</header>" + eol]


def _floats(lines: Sequence[bytes], width: int, where: str) -> F8:
    """Parse ``lines`` of ``width`` numbers each into a (len(lines), width) float64 array."""
    blob = b"".join(lines)
    try:
        flat = np.fromstring(blob, dtype=np.float64, sep=" ")  # text mode: C parser, not deprecated
    except ValueError:
        flat = np.zeros(0)
    if flat.size != width * len(lines):  # Fortran exponents (1.0D+01) or a malformed line: slow path
        rows = []
        for i, line in enumerate(lines):
            tokens = line.replace(b"D", b"E").replace(b"d", b"e").split()
            try:
                values = [float(t) for t in tokens]
            except ValueError as err:
                raise LHEReweightError(f"{where}: line {line.strip()[:80]!r} (#{i}): {err}") from err
            if len(values) != width:
                raise LHEReweightError(f"{where}: line {line.strip()[:80]!r} (#{i}) has not {width} numbers")
            rows.append(values)
        return np.array(rows, dtype=np.float64).reshape(len(lines), width)
    return flat.reshape(len(lines), width)


def _read_block(fh: IO[bytes], block: int, offset: int) -> bytes:
    """``fh.read(block)``; a broken compressed stream is the reader's :class:`LHEFormatError`."""
    try:
        return fh.read(block)
    except (EOFError, gzip.BadGzipFile, zlib.error, lzma.LZMAError, OSError) as err:
        raise LHEFormatError(
            getattr(fh, "name", "") or "LHE input",
            f"compressed stream is truncated or corrupt after {offset} decompressed bytes ({err}); "
            "expected a complete gzip/bzip2/xz stream",
        ) from err


def _iter_lines(fh: IO[bytes], block: int = 1 << 18) -> Iterator[bytes]:
    """The lines of a binary stream (with their line ends), read in blocks of ``block`` bytes."""
    rest = b""
    offset = 0
    while data := _read_block(fh, block, offset):
        offset += len(data)
        lines = (rest + data).splitlines(keepends=True)
        rest = lines.pop() if lines and not lines[-1].endswith((b"\n", b"\r")) else b""
        if rest.endswith(b"\r"):  # a CRLF may be split across blocks
            lines.append(rest)
            rest = b""
        yield from lines
    if rest:
        yield rest


def parse_chunk(events: Sequence[list[bytes]], first: int, source: str = "") -> LHEChunk:
    """Parse events (each the list of its lines, ``<event>`` to ``</event>``) into an :class:`LHEChunk`."""
    info_lines: list[bytes] = []
    particle_lines: list[bytes] = []
    counts = np.zeros(len(events), dtype=np.int64)
    weights: list[dict[str, float]] = []
    for k, ev in enumerate(events):
        where = f"{source}: event {first + k}"
        if len(ev) < 2:
            raise LHEReweightError(f"{where}: no event information line")
        info = ev[1]
        try:
            nup = int(info.split(None, 1)[0])
        except (ValueError, IndexError) as err:
            raise LHEReweightError(f"{where}: event line {info.strip()[:80]!r} lacks NUP") from err
        if len(ev) < 2 + nup:
            raise LHEReweightError(f"{where}: NUP={nup} but only {len(ev) - 2} lines follow")
        info_lines.append(info)
        particle_lines.extend(ev[2 : 2 + nup])
        counts[k] = nup
        stored: dict[str, float] = {}
        for line in ev[2 + nup :]:
            if b"<wgt" in line:
                for m in _WGT.finditer(line):
                    try:
                        stored[m.group(1).decode()] = float(m.group(2))
                    except ValueError:
                        stored[m.group(1).decode()] = np.nan
        weights.append(stored)
    where = f"{source}: events {first}..{first + len(events) - 1}"
    info_arr = _floats(info_lines, 6, where)
    parts = (
        _floats(particle_lines, PARTICLE_COLUMNS, where)
        if particle_lines
        else np.zeros((0, PARTICLE_COLUMNS))
    )
    offsets = np.zeros(len(events) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return LHEChunk(first=first, info=info_arr, offsets=offsets, particles=parts, weights=tuple(weights))


def format_wgt(wid: str, value: float, eol: bytes = b"\n") -> bytes:
    """One ``<wgt id='ID'> +v.vvvvvvvvvvvvvvvve+XX </wgt>`` line (17 significant digits)."""
    return f"<wgt id='{wid}'> {value:+.16e} </wgt>".encode() + eol


def _splice_event(ev: list[bytes], first_extra: int, ids: Sequence[str], values: F8) -> list[bytes]:
    """The event's lines with the new ``<wgt>`` lines added; lines before ``first_extra`` are particles."""
    eol = _eol(ev[-1]) if ev[-1].endswith(b"\n") else b"\n"
    wgts = [format_wgt(i, float(v), eol) for i, v in zip(ids, values, strict=True)]
    for j in range(len(ev) - 1, first_extra - 1, -1):
        line = ev[j]
        if b"rwgt" not in line:
            continue
        m = _RWGT_END.search(line)
        if m:
            return [*ev[:j], *_insert_before(line, m, wgts), *ev[j + 1:]]
        if b"<rwgt" in line:
            break
    last = len(ev) - 1
    m = _EVENT_END.search(ev[last])
    if m is None:
        raise LHEReweightError("event does not end with </event>")
    return [*ev[:last], *_insert_before(ev[last], m, [b"<rwgt>" + eol, *wgts, b"</rwgt>" + eol])]


def _events(lines: Iterator[bytes], source: str) -> Iterator[tuple[list[bytes], list[bytes]]]:
    """Yield (lines before the event, event lines) pairs; the final pair has an empty event (the tail)."""
    pending: list[bytes] = []
    for line in lines:
        if b"<event" in line and _EVENT.match(line):
            ev = [line]
            for inner in lines:
                ev.append(inner)
                if b"</event>" in inner:
                    break
            else:
                raise LHEReweightError(f"{source}: the file ends inside an event (no </event>)")
            yield pending, ev
            pending = []
        else:
            pending.append(line)
    yield pending, []


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
        LHE file, plain or gzip.
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
    """
    if not weights:
        raise LHEReweightError("no weights to add")
    ids = [w.id for w in weights]
    if len(set(ids)) != len(ids):
        raise LHEReweightError(f"duplicate new weight ids {ids}")
    src, dst = Path(src), Path(dst)
    start = time.perf_counter()
    n_events = n_cov = 0
    with ExitStack() as stack:
        fin = stack.enter_context(open_lhe_bytes(src))
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
        lines = _iter_lines(fin)
        head: list[bytes] = []
        for line in lines:
            if _INIT.match(line):
                if not any(b"<LesHouchesEvents" in h for h in head):
                    raise LHEReweightError(f"{src}: no <LesHouchesEvents> before <init>; not an LHE file")
                fout.writelines(_splice_header(head, weights, group))
                fout.write(line)
                break
            head.append(line)
        else:
            raise LHEReweightError(f"{src}: no <init> block found; not an LHE file")
        # accept exactly what the reader accepts, with its errors: read the file through it first (in chunks
        # of the same size: the memory stays bounded), and below insist on the same number of events
        n_reader = count_events(src, chunk_size)

        chunk: list[tuple[list[bytes], list[bytes]]] = []

        def flush() -> None:
            nonlocal n_events, n_cov
            if not chunk:
                return
            parsed = parse_chunk([ev for _, ev in chunk], n_events, str(src))
            values, covered = callback(parsed)
            values = np.asarray(values, dtype=np.float64)
            covered = np.asarray(covered, dtype=bool)
            if values.shape != (len(chunk), len(ids)) or covered.shape != (len(chunk),):
                raise LHEReweightError(
                    f"{src}: weight callback returned values {values.shape} and covered {covered.shape} for "
                    f"events {n_events}..{n_events + len(chunk) - 1}; expected ({len(chunk)}, {len(ids)}) "
                    f"and ({len(chunk)},)"
                )
            bad = ~np.isfinite(values)
            if bad.any():
                k = int(np.flatnonzero(bad.any(axis=1))[0])
                raise LHEReweightError(
                    f"{src}: new weight(s) {values[k].tolist()} of event {n_events + k} are not finite"
                )
            out: list[bytes] = []
            nup = parsed.offsets[1:] - parsed.offsets[:-1]
            for (pre, ev), vals, n_p in zip(chunk, values, nup.tolist(), strict=True):
                out.extend(pre)
                out.extend(_splice_event(ev, 2 + n_p, ids, vals))
            fout.write(b"".join(out))
            n_events += len(chunk)
            n_cov += int(covered.sum())
            if bar is not None:
                bar.update(len(chunk))
            chunk.clear()

        for pre, ev in _events(lines, str(src)):
            if not ev:
                flush()
                fout.writelines(pre)
                break
            chunk.append((pre, ev))
            if len(chunk) >= chunk_size:
                flush()
        if n_events != n_reader:  # the output is discarded: still inside the atomic write
            raise LHEFormatError(
                src, f"the reweighter split the file into {n_events} events where the LHE reader finds "
                f"{n_reader}; the file is malformed in a way only one of them notices"
            )
    return ReweightSummary(
        output=dst,
        events=n_events,
        reweighted=n_cov,
        skipped=n_events - n_cov,
        ids=tuple(ids),
        seconds=time.perf_counter() - start,
    )
