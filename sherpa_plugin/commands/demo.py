"""``fame demo``: the whole chain on the embedded default (e+e- → 3, 4 and 5 jets, built-in exact ME)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from . import add_json_flag


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from ..demo import DemoConfig, quick_config, run_demo

    config = DemoConfig(seed=args.seed, workers=args.workers, sherpa_python=args.sherpa_python)
    if args.jets:
        config = replace(config, jets=tuple(args.jets))
    if args.sherpa_points is not None:
        config = replace(config, sherpa_points=args.sherpa_points)
    if args.quick:
        config = quick_config(config, 0.1)
    result = run_demo(args.out, config, force=args.force)
    if not args.json:
        print(result.summary(), flush=True)
        return {}
    return result.as_dict()


def register(sub: Any) -> None:
    """Add ``fame demo``."""
    p = sub.add_parser(
        "demo",
        help="run the whole chain on the embedded default (e+e- -> 3, 4, 5 jets) and print the gain table",
        description="Generate e+e- -> 3, 4 and 5 jet data with the built-in exact ME, train one "
        "factorisation-aware surrogate per reduced group, export the ONNX bundle, run the two-stage "
        "unweighter (arXiv:2109.11964, 2301.13562) on independent points, write the validation report and "
        "print the gain per multiplicity: f_eff = [(t_ME + t_PS)/eps_full] / [(t_surr + t_PS)/(eps_1 eps_2) "
        "+ t_ME/eps_2] with every time measured in the run (also with Sherpa's MEProcess time where a "
        "Sherpa Python exists).",
    )
    p.add_argument("--out", default="demo-output", help="output folder (default: demo-output)")
    p.add_argument(
        "--force", action="store_true",
        help="write into a non-empty folder that is not a previous demo output (its other files are kept)",
    )
    p.add_argument(
        "--jets", type=int, nargs="+", choices=(3, 4, 5), help="jet multiplicities (default 3 4 5)"
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    p.add_argument(
        "--workers", type=int, default=None, help="local Dask workers (default: one per multiplicity)"
    )
    p.add_argument(
        "--sherpa-points", type=int, default=None,
        help="validation points per multiplicity at which Sherpa's MEProcess is timed (default 300; 0: off)",
    )
    p.add_argument(
        "--sherpa-python", default=None,
        help="Python with sherpa-mc (default: FAME_SHERPA_PYTHON, else .venv-sherpa)",
    )
    p.add_argument("--quick", action="store_true", help="a 10x smaller run (for smoke tests)")
    add_json_flag(p)
    p.set_defaults(func=_run)
