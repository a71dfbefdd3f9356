"""Pointwise accuracy of a surrogate against the exact |M|^2 (the figures of SPEC §5), computed in one place.

Training (held-out split), ``fame predict``, ``fame me``, validation and its report all take their accuracy
figures from :class:`Accuracy`: the fractions of points with ``|surrogate/exact − 1|`` below 0.1%, 1% and 10%
(:data:`ACCURACY_LEVELS`), the median and the largest deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F8 = npt.NDArray[np.float64]

__all__ = [
    "ACCURACY_LEVELS",
    "Accuracy",
    "abs_ratio_deviation",
    "accuracy",
    "relative_deviation",
    "weighted_log_spread",
]

#: |surrogate/exact - 1| thresholds of the accuracy figures (0.1%, 1%, 10%)
ACCURACY_LEVELS: tuple[float, float, float] = (1e-3, 1e-2, 1e-1)


def relative_deviation(pred: npt.ArrayLike, truth: npt.ArrayLike) -> F8:
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


def abs_ratio_deviation(ratio: npt.ArrayLike) -> F8:
    """``|ratio − 1|`` per point (float64), ``inf`` where it is not finite (a miss at every level).

    Parameters
    ----------
    ratio : array_like, shape (N,)
        Surrogate over exact |M|^2 (dimensionless).
    """
    dev = np.abs(np.asarray(ratio, dtype=np.float64).reshape(-1) - 1.0)
    return np.where(np.isfinite(dev), dev, np.inf)


@dataclass(frozen=True)
class Accuracy:
    """Accuracy figures of ``points`` surrogate predictions.

    Attributes
    ----------
    points : int
        Number of points N ≥ 1.
    frac_within_10pct, frac_within_1pct, frac_within_0p1pct : float
        Fractions of points with ``|surr/exact − 1|`` below 10%, 1% and 0.1% (strictly).
    median_abs_rel_dev, max_abs_rel_dev : float
        Median and largest ``|surr/exact − 1|`` (``inf`` where a prediction is not finite).
    """

    points: int
    frac_within_10pct: float
    frac_within_1pct: float
    frac_within_0p1pct: float
    median_abs_rel_dev: float
    max_abs_rel_dev: float

    @classmethod
    def of_deviation(cls, dev: npt.ArrayLike) -> Accuracy:
        """From the deviations ``|surr/exact − 1|``, shape (N,), N ≥ 1 (a non-finite one is a miss)."""
        d = np.asarray(dev, dtype=np.float64).reshape(-1)
        d = np.where(np.isfinite(d), d, np.inf)
        if d.size == 0:
            raise ValueError("accuracy of zero points is undefined")
        within = [float(np.mean(d < level)) for level in ACCURACY_LEVELS]
        return cls(
            points=int(d.size),
            frac_within_10pct=within[2],
            frac_within_1pct=within[1],
            frac_within_0p1pct=within[0],
            median_abs_rel_dev=float(np.median(d)),
            max_abs_rel_dev=float(np.max(d)),
        )

    @classmethod
    def of_ratio(cls, ratio: npt.ArrayLike) -> Accuracy:
        """From the ratios surrogate/exact |M|^2, shape (N,) (non-finite ones count as misses)."""
        return cls.of_deviation(abs_ratio_deviation(ratio))

    def within(self, level: float) -> float:
        """Fraction of points within ``level``, one of :data:`ACCURACY_LEVELS`."""
        fractions = dict(
            zip(
                ACCURACY_LEVELS,
                (self.frac_within_0p1pct, self.frac_within_1pct, self.frac_within_10pct),
                strict=True,
            )
        )
        if level not in fractions:
            raise ValueError(f"no accuracy figure at {level}; the levels are {ACCURACY_LEVELS}")
        return fractions[level]

    def to_json(self) -> dict[str, float | int]:
        """JSON-ready dict: ``points``, ``frac_within_10pct``, ``frac_within_1pct``, ``frac_within_0p1pct``,
        ``median_abs_rel_dev``, ``max_abs_rel_dev``."""
        return {
            "points": self.points,
            "frac_within_10pct": self.frac_within_10pct,
            "frac_within_1pct": self.frac_within_1pct,
            "frac_within_0p1pct": self.frac_within_0p1pct,
            "median_abs_rel_dev": self.median_abs_rel_dev,
            "max_abs_rel_dev": self.max_abs_rel_dev,
        }


def accuracy(pred: npt.ArrayLike, truth: npt.ArrayLike) -> Accuracy:
    """Accuracy of ``pred`` against ``truth`` (see :func:`relative_deviation` for the requirements).

    Non-finite predictions count as outside every band (``inf`` deviations).

    Parameters
    ----------
    pred, truth : array_like, shape (N,), N ≥ 1
        Surrogate and exact |M|^2 (same units).
    """
    return Accuracy.of_deviation(np.abs(relative_deviation(pred, truth)))


def weighted_log_spread(pred: npt.ArrayLike, truth: npt.ArrayLike, weight: npt.ArrayLike) -> float:
    """The spread of log(surrogate/exact) that unweighting sees: its |w|-weighted standard deviation.

    Two-stage unweighting keeps events ∝ |w|, so its second-stage efficiency is set by the surrogate's
    accuracy on the events that carry the cross section, not on a typical point of the sample.  This is
    that accuracy in one number, far steadier than ε_2 (a maximum over the few unweighted events):
    sqrt(Σ|w|(ℓ − ℓ̄)² / Σ|w|) with ℓ = log(pred/truth) and ℓ̄ its |w|-weighted mean.

    Parameters
    ----------
    pred, truth : array_like, float64, shape (N,)
        Surrogate and exact |M|^2 (same units), both positive.
    weight : array_like, float64, shape (N,)
        Event weights (|w| is used); not all zero.

    Returns
    -------
    float
        The weighted standard deviation of the natural log of the ratio (dimensionless).
    """
    ratio = relative_deviation(pred, truth) + 1.0
    w = np.abs(np.asarray(weight, dtype=np.float64))
    if w.shape != ratio.shape:
        raise ValueError(f"weight has shape {w.shape}; expected {ratio.shape}, one per point")
    if not np.all(ratio > 0.0) or not np.all(np.isfinite(ratio)):
        raise ValueError("pred/truth must be positive and finite at every point for its logarithm")
    total = float(w.sum())
    if not np.isfinite(total) or total <= 0.0:
        raise ValueError(f"the weights sum to {total}: expected a positive finite sum")
    log_ratio = np.log(ratio)
    mean = float(np.dot(w, log_ratio)) / total
    return float(np.sqrt(np.dot(w, (log_ratio - mean) ** 2) / total))
