"""``fame demo``: the whole chain on the embedded default (e+e- → 3 and 4 jets, built-in exact ME)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from . import add_json_flag


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from ..demo import DemoConfig, quick_config, run_demo

    config = DemoConfig(seed=args.seed, workers=args.workers)
    if args.jets:
        config = replace(config, jets=tuple(args.jets))
    if args.quick:
        config = quick_config(config, 0.1)
    return run_demo(args.out, config, force=args.force)


def register(sub: Any) -> None:
    """Add ``fame demo``."""
    p = sub.add_parser(
        "demo",
        help="run the whole chain on the embedded default (e+e- -> 3, 4 jets)",
        description="Generate e+e- -> 3 and 4 jet data with the built-in exact ME, train one "
        "factorisation-aware surrogate per reduced group, export the ONNX bundle, run the two-stage "
        "unweighter on independent points and write the validation report.",
    )
    p.add_argument("--out", default="demo-output", help="output folder (default: demo-output)")
    p.add_argument(
        "--force", action="store_true",
        help="write into a non-empty folder that is not a previous demo output (its other files are kept)",
    )
    p.add_argument("--jets", type=int, nargs="+", choices=(3, 4, 5), help="jet multiplicities (default 3 4)")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    p.add_argument("--workers", type=int, default=None, help="local Dask workers (default: one per core)")
    p.add_argument("--quick", action="store_true", help="a 10x smaller run (for smoke tests)")
    add_json_flag(p)
    p.set_defaults(func=_run)
