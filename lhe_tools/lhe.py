"""Streaming reader for Les Houches event files (plain, gzip, bzip2, xz) into per-channel EventBatches.

Memory is bounded by the block size and ``chunk_size``, not by the file: the text is read in blocks, cut after
the last complete ``</event>``, parsed with numpy (:mod:`lhe_tools._lhe_events`) and split into channels
(:mod:`lhe_tools._channels`).  Every malformation raises :class:`LHEFormatError` (a ``ValueError``) naming the
file, line and event; a file that ends early (no ``</LesHouchesEvents>``, an unterminated ``<event>``, a
truncated gzip stream) raises too, after the complete chunks before it were yielded.

Example
-------
>>> reader = LHEReader("events.lhe.gz", chunk_size=100_000)   # doctest: +SKIP
>>> reader.header.init.beams, reader.header.weight_ids           # doctest: +SKIP
>>> for batch in reader: ...                                     # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._channels import FlatEvents, concat_flat, split_channels
from ._lhe_events import parse_events_fast, parse_events_slow
from ._source import BLOCK_SIZE, LHEFormatError, iter_blocks
from .batch import EventBatch
from .lhe_header import LHEHeader, parse_prologue

__all__ = ["LHEReader", "RawChunk", "read_lhe", "read_lhe_header"]

#: refuse to buffer more than this many bytes looking for a closing tag
_MAX_PENDING = 1 << 28
_END = b"</LesHouchesEvents>"
_ROOT = b"<LesHouchesEvents"


@dataclass(frozen=True)
class RawChunk:
    """A run of complete events exactly as read, with their parse.

    The chunks of :meth:`LHEReader.iter_chunks`, in order, between :attr:`LHEReader.prologue` and
    :attr:`LHEReader.tail`, are the whole (decompressed) file, byte for byte.

    Attributes
    ----------
    data : bytes
        The text: complete ``<event>`` blocks (and any comments or blank lines before them), ending after
        the line of the last ``</event>``.
    first_line : int
        1-based line number of the first line of ``data`` in the file.
    first_event : int
        0-based index in the file of the first event of ``data``.
    events : FlatEvents
        The events of ``data``, parsed.
    """

    data: bytes
    first_line: int
    first_event: int
    events: FlatEvents


class LHEReader:
    """An open Les Houches event file.

    Parameters
    ----------
    path : path
        ``.lhe``, ``.lhe.gz`` (any name: compression is detected from the bytes).
    chunk_size : int, optional
        Yield the batches of every ``chunk_size`` events (in file order) as soon as they are read; ``None``
        reads the whole file into one batch per channel.
    block_size : int
        Bytes read (and parsed) at a time.
    fast : bool
        Use the vectorised parser (falling back to the line parser where needed); ``False`` forces the
        line parser (for cross-checks).

    Attributes
    ----------
    header : LHEHeader
        Root tag version, ``<init>``, ``<initrwgt>`` ids, generator, run card; read on construction.
    prologue : bytes
        The text :attr:`header` was parsed from: the file's start through the line holding ``</init>``.
    tail : bytes or None
        The text after the last event (``</LesHouchesEvents>`` and what follows), once iteration has ended.
    meta : dict
        What every batch's ``meta`` starts from (header metadata, ``source``, ``source_format``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        chunk_size: int | None = None,
        block_size: int = BLOCK_SIZE,
        fast: bool = True,
    ) -> None:
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive number of events, got {chunk_size}")
        self.path = Path(path)
        self.chunk_size = chunk_size
        self._fast = fast
        self._blocks = iter_blocks(self.path, block_size)
        self._rest = b""
        self.prologue = b""
        self.tail: bytes | None = None
        self.header: LHEHeader = self._read_prologue()
        self.meta: dict[str, Any] = {
            **self.header.to_meta(),
            "source": str(self.path),
            "source_format": "lhe",
        }
        self._consumed = False
        self._channels: dict[tuple[tuple[int, ...], int], Any] = {}

    def _read_prologue(self) -> LHEHeader:
        buf = b""
        for block in self._blocks:
            buf += block
            end = buf.find(b"</init>")
            if end >= 0:
                nl = buf.find(b"\n", end)
                if nl >= 0:
                    self._rest = buf[nl + 1 :]
                    self.prologue = buf[: nl + 1]
                    return parse_prologue(self.path, self.prologue)
                continue
            ev = buf.find(b"<event")
            if ev >= 0:
                line = buf.count(b"\n", 0, ev) + 1
                if _ROOT not in buf[:ev]:
                    return parse_prologue(self.path, buf[:ev])  # raises: no root element
                if b"<init" in buf[:ev]:
                    raise LHEFormatError(
                        self.path, "unterminated <init>: an <event> starts before </init>", line=line
                    )
                raise LHEFormatError(
                    self.path, "no <init> block before the first <event> (HEPRUP is required)", line=line
                )
            if len(buf) > _MAX_PENDING:
                raise LHEFormatError(self.path, f"no </init> in the first {len(buf)} bytes")
        if not buf.strip():
            raise LHEFormatError(self.path, "empty file; expected a Les Houches event file")
        self.prologue = buf
        if _ROOT not in buf:
            return parse_prologue(self.path, buf)  # raises: no root element
        if b"</init>" in buf:
            return parse_prologue(self.path, buf)
        if b"<init" in buf:
            raise LHEFormatError(
                self.path, "unterminated <init>: the file ends before </init>", line=buf.count(b"\n") + 1
            )
        return parse_prologue(self.path, buf)  # raises: no <init>

    def _parse(self, chunk: bytes, line: int, event: int) -> FlatEvents:
        """The fast parser where it can; else the line-by-line one (odd layouts, the exact diagnosis)."""
        ids = self.header.weight_ids
        flat = None
        if self._fast:
            flat = parse_events_fast(self.path, chunk, first_line=line, first_event=event, weight_ids=ids)
        if flat is None:
            flat = parse_events_slow(self.path, chunk, first_line=line, first_event=event, weight_ids=ids)
        return flat

    def iter_flat(self) -> Iterator[tuple[int, FlatEvents]]:
        """Yield ``(index of the first event, FlatEvents)`` for each parsed block, in file order.

        Raises as :meth:`iter_chunks` (malformed or truncated events, a reader already iterated).
        """
        for raw in self.iter_chunks():
            if len(raw.events):
                yield raw.first_event, raw.events

    def iter_chunks(self) -> Iterator[RawChunk]:
        """Yield each parsed block with its bytes (:class:`RawChunk`), in file order; then set :attr:`tail`.

        Raises
        ------
        LHEFormatError
            Malformed events, a truncated stream, or a missing ``</LesHouchesEvents>``.
        RuntimeError
            If the reader was already iterated.
        """
        if self._consumed:
            raise RuntimeError(f"{self.path}: this LHEReader was already iterated; open a new one")
        self._consumed = True
        pending = self._rest
        self._rest = b""
        line = self.header.n_lines + 1
        event = 0
        blocks = self._blocks
        done = False
        while not done:
            block = next(blocks, None)
            if block is None:
                done = True
            else:
                pending += block
            cut = pending.rfind(b"</event>")
            if cut >= 0:
                nl = pending.find(b"\n", cut)
                if nl < 0 and not done:
                    cut = pending.rfind(b"</event>", 0, cut)
                    nl = pending.find(b"\n", cut) if cut >= 0 else -1
                stop = len(pending) if nl < 0 else nl + 1
                if cut >= 0:
                    chunk, pending = pending[:stop], pending[stop:]
                    flat = self._parse(chunk, line, event)
                    yield RawChunk(data=chunk, first_line=line, first_event=event, events=flat)
                    line += chunk.count(b"\n")
                    event += len(flat)
            if not done and len(pending) > _MAX_PENDING:
                raise LHEFormatError(
                    self.path,
                    f"unterminated <event>: no </event> in {len(pending)} bytes",
                    line=line,
                    event=event,
                )
        self._check_tail(pending, line, event)
        self.tail = pending

    def _check_tail(self, tail: bytes, line: int, event: int) -> None:
        opened = tail.find(b"<event")
        if opened >= 0 and tail[opened + 6 : opened + 7] in (b">", b" ", b"\t", b"\n", b"\r"):
            raise LHEFormatError(
                self.path,
                "unterminated <event>: the file ends before </event> (truncated file?)",
                line=line + tail.count(b"\n", 0, opened),
                event=event,
            )
        if _END not in tail:
            raise LHEFormatError(
                self.path,
                f"the file ends without </LesHouchesEvents> after {event} events (truncated file?)",
                line=line + tail.count(b"\n"),
            )

    def __iter__(self) -> Iterator[EventBatch]:
        parts: list[FlatEvents] = []
        have = 0
        first = 0
        size = self.chunk_size
        for _, flat in self.iter_flat():
            parts.append(flat)
            have += len(flat)
            while size is not None and have >= size:
                joined = concat_flat(parts)
                yield from split_channels(
                    joined.take(0, size), self.meta, first_event=first, cache=self._channels
                )
                first += size
                have -= size
                parts = [joined.take(size, len(joined))] if have else []
        if have:
            yield from split_channels(concat_flat(parts), self.meta, first_event=first, cache=self._channels)


def read_lhe(
    path: str | os.PathLike[str], *, chunk_size: int | None = None, block_size: int = BLOCK_SIZE
) -> Iterator[EventBatch]:
    """Stream an LHE file as per-channel :class:`EventBatch`es (see :class:`LHEReader`)."""
    yield from LHEReader(path, chunk_size=chunk_size, block_size=block_size)


def read_lhe_header(path: str | os.PathLike[str]) -> LHEHeader:
    """Only the header and ``<init>`` of an LHE file (reads no events)."""
    return LHEReader(path).header
