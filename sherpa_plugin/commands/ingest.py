"""``fame ingest FILE... --out DIR``: read event files into one fame dump per channel.

Any file :func:`lhe_tools.read_events` reads (LHE plain/gzip, LHEF 3 weights, LHEH5, Sherpa ROOT ntuples, fame
dumps) is split into partonic channels (Sherpa process names, canonical particle order); the events of each
channel from all files are written to ``DIR/<process>.npz`` (format ``fame-dump/1``, atomically).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import add_json_flag

log = logging.getLogger("fame.ingest")


def register(subparsers: Any) -> None:
    """Add the ``ingest`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "ingest",
        help="read LHE / LHEH5 / ROOT ntuple / dump files into one fame dump per channel",
        description=(
            "Read event files (LHE plain or gzip, LHEF 3 weights, LHEH5, Sherpa ROOT ntuple, fame dump; the "
            "format is detected from the bytes) and write one fame dump per partonic channel to DIR, named "
            "after Sherpa's process name.  Intermediate resonances are dropped; the particle order is "
            "Sherpa's canonical order."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="event files (folders: their event files)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder for the dumps")
    p.add_argument(
        "--force", action="store_true",
        help="replace dumps of the same channel already in DIR (default: refuse)",
    )
    p.add_argument(
        "--chunk-size", type=int, default=100_000, help="events parsed at a time (bounds the parsing memory)"
    )
    add_json_flag(p)
    p.set_defaults(func=run)


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
    chunk_size: int | None = 100_000,
    force: bool = False,
) -> dict[str, Any]:
    """Read ``paths`` and write one dump per channel into ``out``.

    The file names come from the channels' process names, which the readers check against the particles;
    a name that is not a plain channel name is refused.  An existing dump of the same name is refused unless
    ``force`` (then it is replaced).

    Returns
    -------
    dict
        ``files``: per input file ``events``, ``sum_weights`` and ``channels`` (process name → events);
        ``channels``: per written dump ``process``, ``events``, ``sum_weights``, ``path``; ``events`` (total);
        ``out``; ``extra_weights`` (the LHEF 3 weight ids stored with the events).
    """
    from lhe_tools import concatenate, read_events, write_dump
    from lhe_tools.batch import EventBatch
    from lhe_tools.reader import expand_paths

    files: dict[str, dict[str, Any]] = {}
    per_channel: dict[str, list[EventBatch]] = {}
    weight_ids: set[str] = set()
    for path in expand_paths(paths):
        counts: dict[str, int] = {}
        sums: list[float] = []
        for batch in read_events(path, chunk_size=chunk_size):
            per_channel.setdefault(batch.process, []).append(batch)
            counts[batch.process] = counts.get(batch.process, 0) + len(batch)
            sums.append(float(batch.weight.sum()))
            weight_ids.update(batch.extra_weights)
        files[str(path)] = {
            "events": sum(counts.values()),
            "sum_weights": math.fsum(sums),
            "channels": counts,
        }
        log.info("%s: %d events in %d channels", path, files[str(path)]["events"], len(counts))
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
    channels: list[dict[str, Any]] = []
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
        channels.append(
            {
                "process": name,
                "events": len(joined),
                "sum_weights": float(joined.weight.sum()),
                "path": str(target),
            }
        )
    return {
        "out": str(out_dir),
        "files": files,
        "channels": channels,
        "events": sum(f["events"] for f in files.values()),
        "extra_weights": sorted(weight_ids),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Ingest; see :func:`ingest_files`."""
    return ingest_files(args.files, args.out, chunk_size=args.chunk_size, force=args.force)
