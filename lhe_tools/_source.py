"""Byte sources for event files: format sniffing from magic bytes and streaming block reads.

Compression is detected from the first bytes, never from the file name: gzip (``1f 8b``), bzip2 (``BZh``)
and xz (``fd 37 7a 58 5a 00``) are decompressed on the fly; HDF5, zip (``.npz``) and ROOT files are
recognised so that :mod:`lhe_tools.reader` can dispatch them.  Reads are done in fixed-size blocks, so
memory does not grow with the file.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Full, Queue
from typing import BinaryIO, cast

__all__ = ["BLOCK_SIZE", "EventFileError", "LHEFormatError", "iter_blocks", "open_bytes", "sniff_format"]

#: bytes read from disk per block (decompressed size for compressed files)
BLOCK_SIZE = 1 << 20

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x89HDF\r\n\x1a\n", "hdf5"),
    (b"PK\x03\x04", "zip"),
    (b"root", "root"),
)


class EventFileError(ValueError):
    """An event file cannot be read; the message names the file, where the problem is and what was expected.
    """


class LHEFormatError(EventFileError):
    """A Les Houches event file (plain or compressed, or LHEH5) is malformed.

    Attributes
    ----------
    path : str
        The file.
    line : int or None
        1-based line number (of the decompressed text) where the problem was found, if known.
    event : int or None
        0-based index of the event in the file, if known.
    """

    def __init__(
        self, path: str | os.PathLike[str], message: str, *, line: int | None = None, event: int | None = None
    ) -> None:
        where = [str(path)]
        if line is not None:
            where.append(f"line {line}")
        if event is not None:
            where.append(f"event {event}")
        super().__init__(f"{', '.join(where)}: {message}")
        self.path = str(path)
        self.line = line
        self.event = event


def sniff_format(path: str | os.PathLike[str]) -> str:
    """The container format of a file from its first bytes.

    Returns
    -------
    str
        ``"gzip"``, ``"bzip2"``, ``"xz"``, ``"hdf5"``, ``"zip"`` (e.g. a ``.npz``), ``"root"`` or ``"text"``.

    Raises
    ------
    EventFileError
        If the file does not exist or cannot be opened.
    """
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(8)
    except OSError as err:
        raise EventFileError(f"{path}: cannot open ({err.strerror or err})") from err
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return "text"


def open_bytes(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for binary reading, decompressing gzip, bzip2 and xz (detected from the bytes)."""
    kind = sniff_format(path)
    if kind == "gzip":
        return cast(BinaryIO, gzip.open(path, "rb"))
    if kind == "bzip2":
        return cast(BinaryIO, bz2.open(path, "rb"))
    if kind == "xz":
        return cast(BinaryIO, lzma.open(path, "rb"))
    return Path(path).open("rb")


def _read_blocks(path: str | os.PathLike[str], block_size: int) -> Iterator[bytes]:
    offset = 0
    with open_bytes(path) as fh:
        while True:
            try:
                block = fh.read(block_size)
            except (EOFError, gzip.BadGzipFile, zlib.error, OSError, lzma.LZMAError) as err:
                raise LHEFormatError(
                    path,
                    f"compressed stream is truncated or corrupt after {offset} decompressed bytes ({err}); "
                    "expected a complete gzip/bzip2/xz stream",
                ) from err
            if not block:
                return
            offset += len(block)
            yield block


def _prefetch(blocks: Iterator[bytes], depth: int) -> Iterator[bytes]:
    """Run ``blocks`` in a helper thread, ``depth`` blocks ahead (decompression releases the GIL)."""
    queue: Queue[bytes | BaseException | None] = Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for block in blocks:
                while not stop.is_set():
                    try:
                        queue.put(block, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(None)
        except BaseException as err:  # handed to the consumer, which re-raises it
            queue.put(err)

    thread = threading.Thread(target=work, name="lhe_tools-read", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)
        thread.join()


def iter_blocks(
    path: str | os.PathLike[str], block_size: int = BLOCK_SIZE, *, prefetch: int = 2
) -> Iterator[bytes]:
    """Yield the (decompressed) content of ``path`` in blocks of about ``block_size`` bytes.

    Parameters
    ----------
    path : path
    block_size : int
        Bytes per block.
    prefetch : int
        Blocks read ahead by a helper thread (0: read in the calling thread).  Memory stays bounded by
        ``(prefetch + 1) * block_size``.

    Raises
    ------
    LHEFormatError
        On a truncated or corrupt compressed stream, naming the decompressed offset reached.
    """
    blocks = _read_blocks(path, block_size)
    if prefetch > 0:
        yield from _prefetch(blocks, prefetch)
    else:
        yield from blocks
