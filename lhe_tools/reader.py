"""One entry point for every supported event file: :func:`read_events` and :func:`read_all`.

The format is recognised from the file's first bytes (never its name): a fame dump (``.npz``, a zip
archive), LHEH5 (HDF5), a Sherpa ROOT ntuple (ROOT), otherwise a Les Houches event file (plain, gzip, bzip2
or xz).  Every reader yields per-channel :class:`EventBatch`es in Sherpa's canonical particle order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ._physics import check_batch
from ._source import EventFileError, sniff_format
from .batch import EventBatch, concatenate
from .dump import read_dump
from .lhe import read_lhe
from .lheh5 import read_lheh5

__all__ = ["EVENT_FILE_SUFFIXES", "expand_paths", "read_all", "read_events"]

#: names picked up when a folder is given to :func:`read_all` / :func:`expand_paths`
EVENT_FILE_SUFFIXES = (".lhe", ".lhe.gz", ".lhef", ".gz", ".hdf5", ".h5", ".lheh5", ".npz", ".root")


def _chunks(batch: EventBatch, chunk_size: int | None) -> Iterator[EventBatch]:
    if chunk_size is None or len(batch) <= chunk_size:
        yield batch
        return
    for start in range(0, len(batch), chunk_size):
        yield batch.take(slice(start, start + chunk_size))


def _read_ntuple(path: Path, chunk_size: int | None) -> Iterator[EventBatch]:
    from .ntuple import read_ntuple  # imports uproot: only when a ROOT file is read

    yield from read_ntuple(path, chunk_size=chunk_size)


def read_events(path: str | os.PathLike[str], *, chunk_size: int | None = None) -> Iterator[EventBatch]:
    """Stream any supported event file as per-channel :class:`EventBatch`es.

    Parameters
    ----------
    path : path
        A fame dump (``.npz``), an LHE file (plain/gzip/bzip2/xz), an LHEH5 file or a Sherpa ROOT ntuple.
    chunk_size : int, optional
        Read this many events at a time and yield their per-channel batches; ``None`` reads the whole file
        (one batch per channel).

    Raises
    ------
    EventFileError
        (a ``ValueError``; :class:`LHEFormatError` for LHE/LHEH5) for a missing, unreadable or malformed file.
    """
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive number of events, got {chunk_size}")
    p = Path(path)
    if p.is_dir():
        raise EventFileError(f"{p}: is a folder; read_events takes one file (read_all expands folders)")
    kind = sniff_format(p)
    if kind == "zip":
        yield from _chunks(read_dump(p), chunk_size)  # read_dump checks the physics itself
        return
    if kind == "hdf5":
        batches: Iterator[EventBatch] = read_lheh5(p, chunk_size=chunk_size)
    elif kind == "root":
        batches = _read_ntuple(p, chunk_size)
    else:
        batches = read_lhe(p, chunk_size=chunk_size)
    seen: dict[str, int] = {}  # events per channel so far: messages count within the channel
    for batch in batches:
        first = seen.get(batch.process, 0)
        check_batch(batch, str(p), first, event_word=f"{batch.process or 'channel'} event")
        seen[batch.process] = first + len(batch)
        yield batch


def expand_paths(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named by ``paths``; a folder stands for its event files (:data:`EVENT_FILE_SUFFIXES`), sorted."""
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(
                q for q in p.iterdir() if q.is_file() and q.name.lower().endswith(EVENT_FILE_SUFFIXES)
            )
            if not found:
                raise EventFileError(
                    f"{p}: folder holds no event files (looked for {', '.join(EVENT_FILE_SUFFIXES)})"
                )
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise EventFileError(f"{p}: no such file or folder")
    return out


def read_all(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[EventBatch]:
    """Read every file (folders expanded) and join the events of each channel across all of them.

    Returns
    -------
    list of EventBatch
        One batch per channel, in order of first appearance; ``meta`` is the first file's, with
        ``sources`` listing every file that contributed.  Extra weights present in only some inputs are
        dropped from the joined batch (see :func:`lhe_tools.batch.concatenate`).
    """
    per_channel: dict[str, list[EventBatch]] = {}
    for path in expand_paths(paths):
        for batch in read_events(path):
            per_channel.setdefault(batch.process, []).append(batch)
    out: list[EventBatch] = []
    for batches in per_channel.values():
        joined = batches[0] if len(batches) == 1 else concatenate(batches)
        sources = list(dict.fromkeys(str(b.meta.get("source", "")) for b in batches))
        out.append(joined.with_columns(meta={**joined.meta, "sources": sources}))
    return out
