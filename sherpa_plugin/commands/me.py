"""``fame me FILE``: the built-in exact ME at the momenta of a fame dump, compared with its stored me2."""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import numpy as np

from ._options import add_command

log = logging.getLogger("fame.me")


def register(subparsers: Any) -> None:
    """Add the ``me`` subcommand."""
    p = add_command(
        subparsers,
        "me",
        run=run,
        help="evaluate the built-in exact ME on a dump's momenta and compare with its me2",
        description=(
            "Read a fame dump (.npz), evaluate the built-in exact |M|^2 (e+e- -> q qbar + up to 3 gluons, "
            "q qbar Q Qbar (+ g)) at its momenta with the couplings recorded in its metadata, and report the "
            "relative deviation from the stored me2.  Other processes are refused."
        ),
    )
    p.add_argument("file", metavar="FILE", help="fame dump (.npz) with an me2 column")
    p.add_argument("--points", type=int, default=None, metavar="K", help="only the first K points")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Compare; returns ``points``, ``max_rel_dev``, ``median_rel_dev``, ``worst_point``, ``process``."""
    from fame_surrogate.me import UnsupportedProcessError, matrix_element, params_from_meta, supports
    from fame_surrogate.validation import Accuracy, abs_ratio_deviation
    from lhe_tools.dump import read_dump

    batch = read_dump(args.file)
    pdg = [int(x) for x in batch.pdg]
    if not supports(pdg):
        try:
            matrix_element(batch.momenta[:0], pdg)
        except UnsupportedProcessError as err:
            raise UnsupportedProcessError(f"{args.file}: {err}") from err
    if batch.me2 is None:
        raise ValueError(f"{args.file}: no me2 column to compare with (process {batch.process})")
    n = len(batch) if args.points is None else min(args.points, len(batch))
    if n < 1:
        raise ValueError(f"{args.file}: no points to compare")
    params = params_from_meta(batch.meta)
    mom, ref = batch.momenta[:n], batch.me2[:n]
    t0 = time.perf_counter()
    val = np.concatenate([matrix_element(mom[i : i + 10_000], pdg, params) for i in range(0, n, 10_000)])
    seconds = time.perf_counter() - t0
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = abs_ratio_deviation(val / ref)
    acc = Accuracy.of_deviation(rel)
    worst = int(np.argmax(rel))
    log.info("%s: %d points, worst relative deviation %.3g at point %d", args.file, n, rel[worst], worst)
    return {
        "points": acc.points,
        "max_rel_dev": acc.max_abs_rel_dev,
        "median_rel_dev": acc.median_abs_rel_dev,
        "worst_point": worst,
        "process": batch.process,
        "z_exchange": params.z_exchange,
        "ms_per_point": 1e3 * seconds / n,
    }
