"""Training inputs of ``fame train``: which files feed which reduced group, read lazily on the workers.

fame dumps (``.npz``, one channel each) are *scanned* on the client (particle content, event count, sha256;
the arrays are not read), grouped with :func:`lhe_tools.groups.reduce_channels`, and each worker loads only
its group's files (:func:`load_group`), so no process ever holds all the data.  Other formats (LHE, LHEH5,
ntuples) are read on the client with :func:`lhe_tools.reader.read_all` and shipped in memory.  Lazy loading
needs the workers to see the input paths (always true for a ``LocalCluster``; on a cluster, a shared file
system).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lhe_tools import EventBatch, read_all, read_dump
from lhe_tools.groups import GroupMember, ReducedGroup, reduce_channels
from lhe_tools.process import canonical_channel

from .bundle_manifest import sha256_file
from .join_runs import join_runs
from .snippet import SnippetSettings, settings_from_meta
from .train_tasks import TrainingInputError

#: file suffixes picked up when a DATA argument is a folder
DATA_SUFFIXES = (".npz", ".lhe", ".lhe.gz", ".lheh5", ".hdf5", ".h5", ".root")


def expand_inputs(data: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named by ``data``: files as given, folders expanded to their event files (sorted)."""
    files: list[Path] = []
    for item in data:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.name.lower().endswith(DATA_SUFFIXES))
            if not found:
                raise TrainingInputError(f"{p}: folder holds no event files ({', '.join(DATA_SUFFIXES)})")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise TrainingInputError(f"{p}: no such file or folder")
    if not files:
        raise TrainingInputError("no input files given")
    return files


def _is_dump(path: Path) -> bool:
    return path.name.lower().endswith(".npz")


def _read_others(files: Sequence[Path]) -> list[EventBatch]:
    if not files:
        return []
    return list(read_all(list(files)))


def read_inputs(files: Sequence[Path]) -> list[EventBatch]:
    """One batch per channel, in canonical (Sherpa) particle order, joined across files (all in memory;
    :func:`~sherpa_plugin.join_runs.join_runs`: recorded times the files' event-weighted means)."""
    batches = [read_dump(f) for f in files if _is_dump(f)]
    batches += _read_others([f for f in files if not _is_dump(f)])
    by_name: dict[str, list[EventBatch]] = {}
    for b in batches:
        cb = canonical_batch(b)
        by_name.setdefault(cb.process, []).append(cb)
    return [join_runs(bs) for bs in by_name.values()]


def canonical_batch(batch: EventBatch) -> EventBatch:
    """``batch`` reordered into its channel's canonical particle order, named by its canonical process."""
    name, order = canonical_channel([int(x) for x in batch.pdg], batch.n_in)
    order_arr = np.asarray(order, dtype=np.int64)
    if np.array_equal(order_arr, np.arange(batch.n_particles)):
        return batch if batch.process == name else batch.with_columns(process=name)
    return batch.permuted(order_arr, process=name)


@dataclass(frozen=True)
class DumpSource:
    """A fame dump seen without reading its arrays: channel, size, content hash."""

    path: Path
    process: str
    pdg: tuple[int, ...]
    n_in: int
    n_events: int
    has_me2: bool
    sha256: str
    #: run-card settings the |M|^2 assumed (``COLOR_SCHEME``, scales, αs), for the Sherpa snippet
    settings: SnippetSettings = field(default_factory=SnippetSettings)


def _npy_header(z: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
    with z.open(name) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    return tuple(shape), dtype


def scan_dump(path: Path) -> DumpSource:
    """Channel (canonical), event count and sha256 of a fame dump, from its headers and small arrays."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            for need in ("momenta.npy", "pdg.npy", "meta.npy"):
                if need not in names:
                    raise TrainingInputError(
                        f"{path}: not a fame dump, {need[:-4]!r} missing (has {sorted(names)})"
                    )
            with z.open("pdg.npy") as fh:
                pdg = np.lib.format.read_array(fh, allow_pickle=False)
            with z.open("meta.npy") as fh:
                meta = json.loads(str(np.lib.format.read_array(fh, allow_pickle=False)[()]))
            shape, _ = _npy_header(z, "momenta.npy")
    except (OSError, zipfile.BadZipFile, ValueError) as err:
        raise TrainingInputError(f"{path}: not a readable fame dump ({err})") from err
    if len(shape) != 3 or shape[1:] != (len(pdg), 4):
        raise TrainingInputError(f"{path}: momenta of shape {shape} do not fit pdg {pdg.tolist()}")
    if not isinstance(meta, dict):
        raise TrainingInputError(f"{path}: 'meta' must be a JSON object, found {type(meta).__name__}")
    try:
        n_in = int(meta.get("n_in", 2))
        name, order = canonical_channel([int(x) for x in pdg], n_in)
    except (TypeError, ValueError, KeyError) as err:
        raise TrainingInputError(f"{path}: pdg {pdg.tolist()} with n_in {meta.get('n_in')!r}: {err}") from err
    return DumpSource(
        path=path,
        process=name,
        pdg=tuple(int(pdg[i]) for i in order),
        n_in=n_in,
        n_events=int(shape[0]),
        has_me2="me2.npy" in names,
        sha256=sha256_file(path),
        settings=settings_from_meta(meta),
    )


@dataclass(frozen=True)
class GroupInput:
    """What one group trains on: per member, dump files (loaded by the worker) or in-memory batches."""

    group: ReducedGroup
    parts: tuple[tuple[GroupMember, DumpSource | EventBatch], ...]

    @property
    def n_events(self) -> int:
        """Events over all members and files."""
        return sum(p.n_events if isinstance(p, DumpSource) else len(p) for _, p in self.parts)

    @property
    def has_me2(self) -> bool:
        """Whether every part carries |M|²."""
        return all(p.has_me2 if isinstance(p, DumpSource) else p.me2 is not None for _, p in self.parts)

    def fingerprint(self, config: Mapping[str, Any]) -> str:
        """sha256 over the training configuration, the group and its data (file hashes or arrays)."""
        h = hashlib.sha256()
        h.update(json.dumps(config, sort_keys=True, default=str).encode())
        h.update(json.dumps(dataclasses.asdict(self.group), sort_keys=True, default=str).encode())
        for member, part in self.parts:
            h.update(member.process.encode())
            if isinstance(part, DumpSource):
                h.update(part.sha256.encode())
            else:
                h.update(np.ascontiguousarray(part.momenta).tobytes())
                if part.me2 is not None:
                    h.update(np.ascontiguousarray(part.me2).tobytes())
        return h.hexdigest()


def plan_groups(files: Sequence[Path]) -> list[GroupInput]:
    """Scan the inputs and assign every channel's data to its reduced group."""
    sources: list[DumpSource | EventBatch] = [scan_dump(f) for f in files if _is_dump(f)]
    sources += [canonical_batch(b) for b in _read_others([f for f in files if not _is_dump(f)])]
    channels = {}
    for s in sources:
        key = s.process
        pdg = s.pdg if isinstance(s, DumpSource) else tuple(int(x) for x in s.pdg)
        channels[key] = (pdg, s.n_in)
    groups = reduce_channels(list(channels.values()))
    plan = []
    for g in groups:
        parts = tuple((m, s) for m in g.members for s in sources if s.process == m.process)
        plan.append(GroupInput(group=g, parts=parts))
    return plan


def load_group(gi: GroupInput) -> EventBatch:
    """The group's events in the representative's particle order (runs on a worker; reads the dumps).

    ``meta['members']`` counts the events per member; ``meta['sources']`` lists the files; recorded times
    are the parts' event-weighted means (:func:`~sherpa_plugin.join_runs.join_runs`).
    """
    parts: list[EventBatch] = []
    counts: dict[str, int] = {}
    sources: list[str] = []
    g = gi.group
    for member, part in gi.parts:
        b = canonical_batch(read_dump(part.path) if isinstance(part, DumpSource) else part)
        if b.process != member.process:
            where = b.meta.get("source", "?")
            raise TrainingInputError(f"{where}: holds {b.process}, expected {member.process}")
        mapped = b.permuted(np.asarray(member.permutation, dtype=np.int64), process=g.name)
        parts.append(mapped.with_columns(pdg=np.asarray(g.pdg, dtype=np.int32), meta={**b.meta}))
        counts[member.process] = counts.get(member.process, 0) + len(b)
        sources.append(str(b.meta.get("source", "memory")))
    joined = join_runs(parts)
    return joined.with_columns(meta={**joined.meta, "members": counts, "sources": sources})
