"""Event files into one fame dump per partonic channel (``fame ingest``): the channel merge and the √s policy.

Any file :func:`lhe_tools.read_events` reads (LHE plain/gzip, LHEF 3 weights, LHEH5, Sherpa ROOT ntuples, fame
dumps) is split into partonic channels (Sherpa process names, canonical particle order); the events of each
channel from all files are joined and written to ``DIR/<process>.npz`` (format ``fame-dump/1``, atomically).
A channel joined from runs at different √s claims no ``sqrt_s`` (its dump records ``sqrt_s_of_sources``).
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .batch import EventBatch, concatenate
from .dump import write_dump
from .reader import expand_paths, read_events

__all__ = [
    "DEFAULT_CHUNK_SIZE", "FileSummary", "IngestResult", "WrittenDump", "dump_file_name", "ingest_files",
]

log = logging.getLogger("fame.ingest")

#: events parsed at a time by :func:`ingest_files` (bounds the parsing memory)
DEFAULT_CHUNK_SIZE = 100_000


@dataclass(frozen=True)
class FileSummary:
    """What one input file held.

    Parameters
    ----------
    events : int
        Events read.
    sum_weights : float
        Sum of their weights (``math.fsum`` over chunks).
    channels : mapping of str to int
        Events per channel (Sherpa process name).
    """

    events: int
    sum_weights: float
    channels: Mapping[str, int]

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``events``, ``sum_weights``, ``channels``."""
        return {"events": self.events, "sum_weights": self.sum_weights, "channels": dict(self.channels)}


@dataclass(frozen=True)
class WrittenDump:
    """One dump written by :func:`ingest_files`.

    Parameters
    ----------
    process : str
        Its channel.
    events : int
        Events in it (from all input files).
    sum_weights : float
        Sum of their weights.
    path : str
        The dump file.
    """

    process: str
    events: int
    sum_weights: float
    path: str

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``process``, ``events``, ``sum_weights``, ``path``."""
        return {"process": self.process, "events": self.events, "sum_weights": self.sum_weights,
                "path": self.path}


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest_files` read and wrote.

    Parameters
    ----------
    out : str
        The output folder.
    files : mapping of str to FileSummary
        Per input file (path as given, folders expanded).
    channels : tuple of WrittenDump
        Per written dump.
    extra_weights : tuple of str
        The LHEF 3 weight ids stored with the events, sorted.
    """

    out: str
    files: Mapping[str, FileSummary]
    channels: tuple[WrittenDump, ...]
    extra_weights: tuple[str, ...]

    @property
    def events(self) -> int:
        """Events read from all files."""
        return sum(f.events for f in self.files.values())

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``out``, ``files``, ``channels``, ``events``, ``extra_weights``."""
        return {
            "out": self.out,
            "files": {k: v.to_json() for k, v in self.files.items()},
            "channels": [c.to_json() for c in self.channels],
            "events": self.events,
            "extra_weights": list(self.extra_weights),
        }


_SAFE_NAME = re.compile(r"^[0-9]+_[0-9]+(__[A-Za-z0-9+~-]+)+$")


def dump_file_name(process: str, out_dir: Path) -> Path:
    """``out_dir/<process>.npz`` for a validated process name; refuses anything that would leave ``out_dir``.

    Raises
    ------
    ValueError
        ``process`` is not a Sherpa (or generic-id) channel name, or the path would not lie in ``out_dir``.
    """
    if not _SAFE_NAME.match(process):
        raise ValueError(
            f"channel name {process!r} cannot be used as a file name in {out_dir}: expected a Sherpa process "
            "name such as '2_3__e-__e+__G__d__db' (letters, digits, + - ~ and _ only)"
        )
    root = out_dir.resolve()
    target = (root / f"{process}.npz").resolve()
    if target.parent != root:
        raise ValueError(f"channel name {process!r} would write {target}, outside the output folder {root}")
    return target


def ingest_files(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    force: bool = False,
) -> IngestResult:
    """Read ``paths`` and write one dump per channel into ``out``.

    The file names come from the channels' process names, which the readers check against the particles;
    a name that is not a plain channel name is refused.  An existing dump of the same name is refused unless
    ``force`` (then it is replaced).

    Parameters
    ----------
    paths : sequence of path
        Event files or folders of them.
    out : path
        Output folder (created).
    chunk_size : int or None
        Events parsed at a time (bounds the parsing memory); None: whole files.
    force : bool
        Replace dumps of the same channel already in ``out``.

    Returns
    -------
    IngestResult
        Per input file its events, weight sum and channels; per written dump its channel, events and path.

    Raises
    ------
    ValueError
        A file given twice (directly or through its folder), a channel name that is no file name, ``out``
        not a folder, or existing dumps without ``force``; nothing is written then.
    """
    files: dict[str, FileSummary] = {}
    per_channel: dict[str, list[EventBatch]] = {}
    weight_ids: set[str] = set()
    inputs = expand_paths(paths)
    first_of: dict[Path, Path] = {}
    for path in inputs:  # the same file twice would count its events twice
        earlier = first_of.setdefault(path.resolve(), path)
        if earlier is not path:
            raise ValueError(f"{path}: given more than once (also as {earlier}); each file is read once")
    for path in inputs:
        counts: dict[str, int] = {}
        sums: list[float] = []
        for batch in read_events(path, chunk_size=chunk_size):
            per_channel.setdefault(batch.process, []).append(batch)
            counts[batch.process] = counts.get(batch.process, 0) + len(batch)
            sums.append(float(batch.weight.sum()))
            weight_ids.update(batch.extra_weights)
        files[str(path)] = FileSummary(sum(counts.values()), math.fsum(sums), counts)
        log.info("%s: %d events in %d channels", path, files[str(path)].events, len(counts))
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: exists and is not a folder; --out takes a folder for the dumps")
    targets: dict[str, Path] = {}
    for name, batches in per_channel.items():  # all checked before anything is written
        try:
            targets[name] = dump_file_name(name, out_dir)
        except ValueError as err:
            sources = sorted({str(b.meta.get("source", "?")) for b in batches})
            raise ValueError(f"{', '.join(sources)}: {err}") from err
    existing = sorted(str(t) for t in targets.values() if t.exists())
    if existing and not force:
        raise ValueError(
            f"{out_dir}: would replace existing dump(s) {existing}; nothing was written.  Choose another "
            "folder or pass --force to replace them"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    channels: list[WrittenDump] = []
    for name, batches in per_channel.items():
        joined = batches[0] if len(batches) == 1 else concatenate(batches)
        sources = sorted({str(b.meta.get("source", "")) for b in batches})
        extra_meta: dict[str, Any] = {"sources": sources, "ingested_by": "fame ingest"}
        energies = {b.meta.get("sqrt_s") for b in batches}
        if len(energies) > 1:  # runs at different energies joined on request: do not claim one sqrt_s
            log.warning("%s: joining events at different sqrt_s %s", name, sorted(map(str, energies)))
            extra_meta["sqrt_s"] = None
            extra_meta["sqrt_s_of_sources"] = sorted(e for e in energies if e is not None)
        target = write_dump(targets[name], joined, extra_meta)
        channels.append(WrittenDump(name, len(joined), float(joined.weight.sum()), str(target)))
    return IngestResult(out=str(out_dir), files=files, channels=tuple(channels),
                        extra_weights=tuple(sorted(weight_ids)))
