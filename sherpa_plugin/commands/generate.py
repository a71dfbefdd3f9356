"""``fame generate ee --jets N --points K --ycut Y --out F``: a dataset from the built-in exact ME."""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

from fame_surrogate.me.generate import GenerateConfig

from ._options import Option, add_command, add_options, config_from_args

log = logging.getLogger("fame.generate")

#: the GenerateConfig fields set from the command line (their defaults are the dataclass's)
OPTIONS = (
    Option("y_cut", flag="--ycut", metavar="Y", help="cut on s_ij/s"),
    Option("sqrt_s", help="centre-of-mass energy in GeV"),
    Option("seed", help="random seed"),
)


def register(subparsers: Any) -> None:
    """Add the ``generate`` subcommand."""
    p = add_command(
        subparsers,
        "generate",
        run=run,
        help="generate a fame dump from the built-in exact matrix element",
        description=(
            "Draw flat RAMBO points at fixed sqrt(s) with s_ij > ycut*s for every final-state pair, evaluate "
            "the built-in exact |M|^2 (gamma*/Z, full colour, couplings of the Sherpa reference data) and "
            "write a fame dump (.npz).  Default process: e+e- -> d dbar + (N-2) gluons; --pdg picks any "
            "supported one, e.g. --pdg '11 -11 1 2 -1 -2'."
        ),
    )
    p.add_argument("collider", choices=("ee",), help="only e+e- is built in")
    p.add_argument("--jets", type=int, default=3, metavar="N",
                   help="final-state partons, 2..5 (default: %(default)s)")
    p.add_argument("--pdg", default=None, help="explicit PDG list (incoming e- e+ first), overrides --jets")
    p.add_argument("--points", type=float, required=True, metavar="K", help="points inside the cut (1e5 ok)")
    add_options(p, GenerateConfig, OPTIONS)
    p.add_argument("--photon-only", action="store_true", help="switch the Z off (gamma* exchange only)")
    p.add_argument("--out", required=True, metavar="F", help="output .npz")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate and write the dump; returns ``points``, ``ms_per_point`` (ME + phase space) and details."""
    from fame_surrogate.me import EWParams, ee_jets_pdg, generate_ee
    from lhe_tools.dump import write_dump

    n_points = int(args.points)
    if n_points != args.points or n_points < 1:
        raise ValueError(f"--points must be a positive whole number, got {args.points}")
    if args.pdg is not None:
        try:
            pdg = [int(x) for x in args.pdg.replace(",", " ").split()]
        except ValueError as err:
            raise ValueError(f"--pdg must be whitespace-separated integers, got {args.pdg!r}") from err
    else:
        pdg = ee_jets_pdg(args.jets)
    config = config_from_args(GenerateConfig, args, OPTIONS)
    t0 = time.perf_counter()
    batch = generate_ee(
        pdg,
        n_points,
        y_cut=config.y_cut,
        sqrt_s=config.sqrt_s,
        seed=config.seed,
        params=EWParams(z_exchange=not args.photon_only),
    )
    seconds = time.perf_counter() - t0
    path = write_dump(args.out, batch)
    meta = batch.meta
    log.info("wrote %d points of %s to %s", n_points, batch.process, path)
    return {
        "points": n_points,
        "ms_per_point": meta["me_ms_per_point"] + meta["ps_ms_per_point"],
        "me_ms_per_point": meta["me_ms_per_point"],
        "ps_ms_per_point": meta["ps_ms_per_point"],
        "cut_efficiency": meta["cut_efficiency"],
        "process": batch.process,
        "out": str(path),
        "seconds": seconds,
    }
