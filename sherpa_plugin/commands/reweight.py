"""``fame reweight IN --bundle BUNDLE --out OUT``: add surrogate weights to an LHE file."""

from __future__ import annotations

import argparse
from typing import Any

from ..reweight_config import ReweightConfig
from ._options import (
    Option,
    add_command,
    add_options,
    add_out_of_domain_flag,
    add_progress_flag,
    config_from_args,
)

#: the ReweightConfig fields set from the command line (their defaults are the dataclass's)
OPTIONS = (
    Option("ratio_to", metavar="REF",
           help="reference |M|^2: 'me' (exact built-in), a bundle folder, or 'weight:ID' (stored)"),
    Option("prefix", flag="--id", help="id of the new weight"),
    Option("chunk_size", help="events per batch"),
)


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
    add_options(p, ReweightConfig, OPTIONS)
    add_progress_flag(p)
    add_out_of_domain_flag(p, "reweight")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Reweight; the result has ``events``, ``reweighted``, ``skipped`` (and per-channel details)."""
    from ..reweight import reweight_file

    config = config_from_args(ReweightConfig, args, OPTIONS, allow_out_of_domain=args.allow_out_of_domain)
    return reweight_file(args.input, args.out, args.bundle, config, progress=not args.no_progress).to_json()
