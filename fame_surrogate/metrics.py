"""Pointwise accuracy of a surrogate against the exact |M|^2 (the figures of SPEC §5)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["accuracy", "relative_deviation"]


def relative_deviation(pred: npt.ArrayLike, truth: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``pred / truth - 1`` per point (float64).

    Parameters
    ----------
    pred, truth : array_like, shape (N,)
        Surrogate and exact |M|^2 (same units); ``truth`` must be finite and non-zero.
    """
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(truth, dtype=np.float64)
    if p.shape != t.shape or p.ndim != 1:
        raise ValueError(f"pred has shape {p.shape}, truth has shape {t.shape}: expected equal 1-d shapes")
    bad = ~np.isfinite(t) | (t == 0.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"truth is zero or non-finite at {int(bad.sum())} points (first: index {i}, {t[i]})")
    return p / t - 1.0


def accuracy(pred: npt.ArrayLike, truth: npt.ArrayLike) -> dict[str, Any]:
    """Fractions of points within 10%, 1% and 0.1% and the median |relative deviation|.

    Non-finite predictions count as outside every band.

    Returns
    -------
    dict
        ``points`` (int), ``frac_within_10pct``, ``frac_within_1pct``, ``frac_within_0p1pct``,
        ``median_abs_rel_dev``,
        ``max_abs_rel_dev`` (floats; non-finite predictions give ``inf`` deviations).
    """
    rel = np.abs(relative_deviation(pred, truth))
    rel = np.where(np.isfinite(rel), rel, np.inf)
    if rel.size == 0:
        raise ValueError("accuracy of zero points is undefined")
    return {
        "points": int(rel.size),
        "frac_within_10pct": float(np.mean(rel < 1e-1)),
        "frac_within_1pct": float(np.mean(rel < 1e-2)),
        "frac_within_0p1pct": float(np.mean(rel < 1e-3)),
        "median_abs_rel_dev": float(np.median(rel)),
        "max_abs_rel_dev": float(np.max(rel)),
    }
