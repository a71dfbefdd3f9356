"""``fame validate BUNDLE DATA... --out REPORT``: two-stage unweighting, gain, closure, HTML report."""

from __future__ import annotations

import argparse
from typing import Any

from ..validate_config import ValidateConfig
from ._options import (
    Option,
    add_command,
    add_options,
    add_out_of_domain_flag,
    add_output_folder,
    config_from_args,
)

#: the ValidateConfig fields set from the command line (their defaults are the dataclass's)
OPTIONS = (
    Option("eps", help="Max_Epsilon of w_max and s_max"),
    Option("eps_x", help="Max_Epsilon of the stage-2 x_max"),
    Option(
        "budget",
        choices=("sigma", "surrogate"),
        help="how the stage-1 Max_Epsilon excess is measured: in cross section (sigma: a surrogate cannot "
        "buy overweight allowance by shrinking where the weights peak) or in surrogate weight (surrogate: "
        "the literal rule of the two-stage papers)",
    ),
    Option(
        "temper",
        metavar="BETA",
        help="stage 1 of every channel uses |s|^BETA instead of the surrogate weight s (0 < BETA <= 1; "
        "unbiased for any BETA; 1: s as it is; choose it on other events, e.g. the training run). "
        "Default: the BETA fame train chose on each group's training events, as the bundle's run-card "
        "snippet gives it to a host (1 where none is recorded)",
    ),
    Option("seed", help="seed of the accept/reject random numbers"),
    Option("max_points", help="use at most this many points per channel"),
    Option("n_bins", flag="--bins", help="bins per closure observable"),
    Option(
        "gain_blocks",
        metavar="K",
        help="also give f_eff and f_ideal on K disjoint blocks of each channel's points: how much one "
        "validation run of that size can say (1: not computed)",
    ),
    Option("t_me_ms", flag="--t-me", metavar="MS", help="fixed exact-ME ms per point"),
    Option("t_ps_ms", flag="--t-ps", metavar="MS", help="fixed phase-space ms per point"),
    Option(
        "recorded_times",
        choices=("wall", "cpu"),
        help="use the data's recorded Sherpa wall times or CPU times (not inflated by other jobs)",
    ),
)


def register(subparsers: Any) -> None:
    """Add the ``validate`` subcommand."""
    p = add_command(
        subparsers,
        "validate",
        run=run,
        help="two-stage unweighting with the bundle's surrogates: gain, closure, HTML report",
        description=(
            "Run the reference two-stage unweighter (arXiv:2109.11964, 2301.13562: surrogate first, exact "
            "ME only for its survivors) on DATA (points with exact |M|^2, "
            "e.g. fame dumps) with the surrogates of BUNDLE: stage efficiencies, effective gain f_eff = "
            "[(t_ME + t_PS)/eps_full] / [(t_surr + t_PS)/(eps_1 eps_2) + t_ME/eps_2] against the ideal "
            "f_ideal (a perfect surrogate: eps_1 = eps_full, eps_2 = 1), closure of the unweighted "
            "sample against the weighted one (chi2 p-values), and "
            "REPORT/index.html with plots and summary.json.  t_ME is the data's recorded time (else the "
            "built-in ME timed here), t_surr is measured here on batches of 4096 points (t_surr_batch_size: "
            "a host that batches), t_PS is recorded or RAMBO timed here.  f_eff_batch1 is the gain for a "
            "host that calls the surrogate once per event (a generator), with t_surr_batch1 measured on "
            "single-event calls."
        ),
    )
    p.add_argument("bundle", metavar="BUNDLE", help="bundle folder written by fame train")
    p.add_argument("data", nargs="+", metavar="DATA", help="validation files or folders (exact me2 needed)")
    add_output_folder(
        p, "REPORT", "report folder to write: new, empty or a previous report (only its files are replaced)",
        force="write the report into a non-empty folder that is not a previous report (its files are kept)",
    )
    add_options(p, ValidateConfig, OPTIONS)
    add_out_of_domain_flag(p, "validate")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Validate; the result has ``eps_full``, ``eps_1``, ``eps_2``, ``f_eff``, ``closure_min_p`` and more."""
    from lhe_tools._atomic import check_output_dir

    from ..bundle import Bundle
    from ..report import REPORT_MARKER
    from ..train_inputs import expand_inputs, read_inputs
    from ..validate import validate

    config = config_from_args(ValidateConfig, args, OPTIONS)  # a bad value fails before any work
    check_output_dir(args.out, REPORT_MARKER, force=args.force)
    bundle = Bundle.load(args.bundle)
    batches = read_inputs(expand_inputs(args.data))
    missing = [b.process for b in batches if not bundle.covers(b.process)]
    if missing:
        raise ValueError(f"bundle {args.bundle} has no surrogate for {missing}; it covers {bundle.processes}")
    outside: dict[str, dict[str, int]] = {}
    for b in batches:
        counts = bundle.check_domain(b, str(b.meta.get("source", b.process)), allow=args.allow_out_of_domain)
        if counts:
            outside[b.process] = counts
    result = validate(bundle, batches, args.out, config, force=args.force).to_json()
    result["out_of_domain"] = {"events": sum(c["total"] for c in outside.values()), "channels": outside}
    return result
