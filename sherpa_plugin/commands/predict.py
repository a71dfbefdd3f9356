"""``fame predict BUNDLE FILE``: surrogate |M|^2 against the stored ``me2`` at the file's momenta.

BUNDLE is a bundle folder (``manifest.json``) or a single ``fame-onnx/1`` ``.onnx`` file.  FILE is a fame
dump (``.npz``) or any event file the ``lhe_tools`` reader understands, with ``me2`` per event.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._options import add_command, add_out_of_domain_flag


def register(subparsers: Any) -> None:
    """Add the ``predict`` subcommand."""
    p = add_command(
        subparsers,
        "predict",
        run=run,
        help="compare surrogate predictions with the stored me2 of a file",
        description=(
            "Evaluate the surrogate of BUNDLE (a bundle folder, or one fame-onnx/1 .onnx file) at the "
            "momenta of FILE and compare with FILE's me2: fraction of points within 1% and 0.1%, median "
            "|relative deviation|, per channel and in total."
        ),
    )
    p.add_argument("bundle", metavar="BUNDLE", help="bundle folder or .onnx model")
    p.add_argument("file", metavar="FILE", help="fame dump (.npz) or event file with me2")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: its choice)")
    add_out_of_domain_flag(p, "predict")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Predict and compare (:func:`sherpa_plugin.predict.compare_file`); the result has ``points``,
    ``frac_within_1pct``, ``frac_within_0p1pct``, ``median_abs_rel_dev`` and ``channels`` (the same per
    channel)."""
    from ..predict import compare_file

    result = compare_file(args.bundle, args.file, threads=args.threads,
                          allow_out_of_domain=args.allow_out_of_domain)
    return result.to_json()
