"""``fame reweight IN --bundle BUNDLE --out OUT``: add surrogate weights to an LHE file."""

from __future__ import annotations

import argparse
from typing import Any

from ._options import add_command, add_out_of_domain_flag


def register(subparsers: Any) -> None:
    """Add the ``reweight`` subcommand."""
    p = add_command(
        subparsers,
        "reweight",
        run=run,
        help="add surrogate weights to an LHE file",
        description=(
            "Copy the LHE file IN (plain or gzip) to OUT byte for byte, adding per event "
            "<wgt id='PREFIX'> = XWGTUP * surrogate |M|^2 / reference |M|^2 and <wgt id='PREFIX_std_up'> "
            "(shifted by the surrogate's relative spread), declared in <initrwgt> like MadGraph's reweight "
            "module does.  Events whose channel the bundle does not cover get weights equal to XWGTUP and "
            "are counted as skipped.  OUT is gzip-compressed when it ends in .gz."
        ),
    )
    p.add_argument("input", metavar="IN", help="LHE file (.lhe or .lhe.gz)")
    p.add_argument("--bundle", required=True, help="bundle folder written by fame train")
    p.add_argument("--out", required=True, metavar="OUT", help="output LHE file")
    p.add_argument(
        "--ratio-to",
        default="me",
        metavar="REF",
        help="reference |M|^2: 'me' (exact built-in, default), a bundle folder, or 'weight:ID' (stored)",
    )
    p.add_argument("--id", dest="prefix", default="fame", help="id of the new weight (default: fame)")
    p.add_argument("--chunk-size", type=int, default=4096, help="events per batch")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_out_of_domain_flag(p, "reweight")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Reweight; the result has ``events``, ``reweighted``, ``skipped`` (and per-channel details)."""
    from ..reweight import ReweightConfig, reweight_file

    config = ReweightConfig(ratio_to=args.ratio_to, prefix=args.prefix, chunk_size=args.chunk_size,
                            allow_out_of_domain=args.allow_out_of_domain)
    return reweight_file(args.input, args.out, args.bundle, config, progress=not args.no_progress)
