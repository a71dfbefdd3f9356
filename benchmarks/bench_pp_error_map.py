"""Where a pp surrogate's error sits, and how much smaller it must be for a target ε_2 (issue 16).

On an independent Sherpa run (``--val``, a weighted fame dump with Sherpa's |M|²) and a surrogate exported
to ONNX (``--onnx``), with r = ln(me2_surr/me2) per event:

* ``scaled``: ε_2 and the median |Δ| that the surrogate would reach if every r were k times smaller
  (k = ``--scales``), i.e. how far the present error is from ε_2 ≥ 0.85 or a median |Δ| ≤ 2%;
* ``heavy``: over the ``--heavy`` events with the largest |w| (those that carry σ and set the unweighting
  maxima), the mean, standard deviation and quantiles of r;
* ``by_ymin``: the same events binned in y_min, the smallest |s_ij|/ŝ over pairs of coloured particles
  (incoming ones included), and split by whether that pair is final–final (FF) or initial–final (IF):
  how the error grows towards the soft and collinear limits;
* ``by_weight_rank``: all events binned by the rank of |w| (1–100, 101–1 000, 1 001–5 000, 5 001–20 000, the
  rest; ``--rank-edges``), with the fraction of σ each bin carries: ε_2 is decided by the underestimates among
  the few hundred heaviest events, which an improvement of the bulk can leave alone.

ε_2 follows SPEC §4.4 (:func:`fame_surrogate.validation.efficiency.stage2_maximum`, Max_Epsilon 1e-3).
Prints one JSON object.  Usage::

    .venv/bin/python benchmarks/bench_pp_error_map.py --val z4s_val240k/C.npz --onnx DIR/dipole.onnx
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from fame_surrogate.dipoles import is_coloured
from fame_surrogate.onnx_session import OnnxSurrogate
from fame_surrogate.validation.efficiency import stage2_maximum
from lhe_tools import read_dump
from lhe_tools.fourvec import mdot

QUANTILES = (0.001, 0.01, 0.05, 0.5, 0.95, 0.99)
YMIN_EDGES = (-np.inf, -3.0, -2.5, -2.0, -1.5, 0.0)
RANK_EDGES = (100, 1000, 5000, 20000)


def eps_2(w: np.ndarray, s: np.ndarray) -> float:
    """ε_2 = (Σ|w|/Σ|s|)/x_max of exact weights ``w`` and surrogate weights ``s`` (SPEC §4.4)."""
    return float(w.sum() / s.sum() / stage2_maximum(w / s, s))


def summary(r: np.ndarray) -> dict[str, Any]:
    """Count, mean, standard deviation and :data:`QUANTILES` of ``r``."""
    if not r.size:
        return {"n": 0, "mean": None, "std": None, "quantiles": None}
    q = np.quantile(r, QUANTILES)
    return {"n": int(r.size), "mean": float(r.mean()), "std": float(r.std()),
            "quantiles": {str(k): float(v) for k, v in zip(QUANTILES, q, strict=True)}}


def by_weight_rank(r: np.ndarray, w: np.ndarray, edges: list[int]) -> list[dict[str, Any]]:
    """:func:`summary` of ``r`` over the events binned by the rank of ``w`` (heaviest first) at ``edges``
    (the last bin holds the rest; edges beyond the sample are dropped), each with its fraction of Σ w."""
    order = np.argsort(-w)
    cuts = [0, *[e for e in edges if 0 < e < w.size], w.size]
    total = float(w.sum())
    return [{"ranks": [lo + 1, hi], "sigma_fraction": float(w[order[lo:hi]].sum() / total),
             **summary(r[order[lo:hi]])} for lo, hi in itertools.pairwise(cuts)]


def coloured_y(momenta: np.ndarray, pdg: list[int]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """|s_ij|/ŝ (N, P) of the momenta (N, n, 4) over the pairs of coloured particles but the two beams, and
    those pairs (i < j; the first two particles incoming)."""
    coloured = [i for i, f in enumerate(pdg) if is_coloured(f)]
    pairs = [(i, j) for a, i in enumerate(coloured) for j in coloured[a + 1 :] if not (i < 2 and j < 2)]
    shat = 2.0 * mdot(momenta[:, 0], momenta[:, 1])
    y = np.stack([np.abs(2.0 * mdot(momenta[:, i], momenta[:, j])) for i, j in pairs], 1) / shat[:, None]
    return y, pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--val", type=Path, required=True, help="independent Sherpa run (fame dump with me2)")
    ap.add_argument("--onnx", type=Path, required=True, help="the surrogate (fame-onnx/1)")
    ap.add_argument("--heavy", type=int, default=5000, help="how many of the largest |w| to map")
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.8, 0.7, 0.6, 0.5, 0.3, 0.16])
    ap.add_argument("--rank-edges", type=int, nargs="+", default=list(RANK_EDGES),
                    help="upper |w| ranks of the by_weight_rank bins (the last bin holds the rest)")
    args = ap.parse_args()
    val = read_dump(args.val)
    if val.me2 is None:
        raise SystemExit(f"{args.val}: no me2 column; expected a fame dump with Sherpa's |M|^2")
    pred, _ = OnnxSurrogate(args.onnx, threads=1).predict(val.momenta)
    if not np.all(pred > 0):
        raise SystemExit(f"{args.onnx}: {int(np.sum(pred <= 0))} non-positive predictions on {args.val}")
    w = np.abs(val.weight)
    r = np.log(pred / val.me2)
    scaled = [{"k": k, "eps_2": eps_2(w, w * np.exp(k * r)),
               "median_abs_rel_dev": float(np.median(np.abs(np.expm1(k * r))))} for k in args.scales]
    heavy = np.argsort(-w)[: args.heavy]
    p = val.momenta[heavy]
    y, pairs = coloured_y(p, [int(x) for x in val.pdg])
    log_ymin = np.log10(y.min(1))
    initial = np.array([i < 2 for i, _ in pairs])[y.argmin(1)]
    rh = r[heavy]
    bins = []
    for lo, hi in itertools.pairwise(YMIN_EDGES):
        inside = (log_ymin >= lo) & (log_ymin < hi)
        edges = [float(e) if np.isfinite(e) else None for e in (lo, hi)]
        bins.append({"log10_ymin": edges, "FF": summary(rh[inside & ~initial]),
                     "IF": summary(rh[inside & initial])})
    print(json.dumps({"benchmark": "bench_pp_error_map", "val": str(args.val), "onnx": str(args.onnx),
                      "eps_2": eps_2(w, w * np.exp(r)), "scaled": scaled, "heavy": summary(rh),
                      "by_ymin": bins, "by_weight_rank": by_weight_rank(r, w, args.rank_edges)},
                     indent=1, allow_nan=False))


if __name__ == "__main__":
    main()
