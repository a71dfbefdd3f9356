"""``fame demo``: the whole chain on the embedded default (e+e- → 3, 4 and 5 jets, built-in exact ME)."""

from __future__ import annotations

import argparse
from typing import Any

from ..demo_config import DemoConfig
from ._options import Option, add_command, add_options, config_from_args

#: the DemoConfig fields set from the command line (their defaults are the dataclass's)
OPTIONS = (
    Option("jets", choices=(3, 4, 5), help="jet multiplicities"),
    Option("seed", help="seed of the generated data"),
    Option("workers", help="local Dask workers (none: one per multiplicity)"),
    Option("sherpa_points", help="validation points per multiplicity at which Sherpa's MEProcess is timed "
           "(0: off)"),
    Option("sherpa_python", help="Python with sherpa-mc (none: FAME_SHERPA_PYTHON, else .venv-sherpa)"),
)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from ..demo import quick_config, run_demo

    config = config_from_args(DemoConfig, args, OPTIONS)
    if args.quick:
        config = quick_config(config, 0.1)
    result = run_demo(args.out, config, force=args.force)
    if not args.json:
        print(result.summary(), flush=True)
        return {}
    return result.to_json()


def register(sub: Any) -> None:
    """Add ``fame demo``."""
    p = add_command(
        sub,
        "demo",
        run=_run,
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
    add_options(p, DemoConfig, OPTIONS)
    p.add_argument("--quick", action="store_true", help="a 10x smaller run (for smoke tests)")
