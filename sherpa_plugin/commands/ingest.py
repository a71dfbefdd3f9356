"""``fame ingest FILE... --out DIR``: read event files into one fame dump per channel.

Any file :func:`lhe_tools.read_events` reads (LHE plain/gzip, LHEF 3 weights, LHEH5, Sherpa ROOT ntuples, fame
dumps) is split into partonic channels (Sherpa process names, canonical particle order); the events of each
channel from all files are written to ``DIR/<process>.npz`` (format ``fame-dump/1``, atomically).
"""

from __future__ import annotations

import argparse
from typing import Any

from lhe_tools.ingest import DEFAULT_CHUNK_SIZE

from ._options import add_command, add_output_folder


def register(subparsers: Any) -> None:
    """Add the ``ingest`` subcommand."""
    p = add_command(
        subparsers,
        "ingest",
        run=run,
        help="read LHE / LHEH5 / ROOT ntuple / dump files into one fame dump per channel",
        description=(
            "Read event files (LHE plain or gzip, LHEF 3 weights, LHEH5, Sherpa ROOT ntuple, fame dump; the "
            "format is detected from the bytes) and write one fame dump per partonic channel to DIR, named "
            "after Sherpa's process name.  Intermediate resonances are dropped; the particle order is "
            "Sherpa's canonical order."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="event files (folders: their event files)")
    add_output_folder(p, "DIR", "output folder for the dumps",
                      force="replace dumps of the same channel already in DIR (default: refuse)")
    p.add_argument(
        "--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
        help="events parsed at a time (bounds the parsing memory; default %(default)s)",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Ingest; see :func:`lhe_tools.ingest.ingest_files`."""
    from lhe_tools.ingest import ingest_files

    return ingest_files(args.files, args.out, chunk_size=args.chunk_size, force=args.force).to_json()
