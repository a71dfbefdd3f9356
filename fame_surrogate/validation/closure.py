"""Closure test of two-stage unweighting (arXiv:2109.11964, 2301.13562): unweighted against weighted sample.

Both samples estimate the same per-bin cross sections from the same ``N`` trials: the weighted one with
``w_i``, the unweighted one with ``y_i = 1[accepted]·w_i/p_i`` (``p_i`` the total acceptance probability;
this is exactly ``sign(w)·z1·z2·s_max·x_max``).  Since the unweighted sample is drawn *from* the weighted one,
the test statistic uses the exact conditional variance of their difference,
``Var(Σ_b (y_i − w_i)) = Σ_b w_i²(1/p_i − 1)`` (independent accept/reject decisions), so a biased unweighter
is detected with the full statistical power of the sample.  The plotted per-sample errors are the usual
weighted-histogram errors of a mean over trials,
``Var(Σ_b v_i / N) = (Σ_b v_i² − N μ_b²)/(N(N−1))``.

The χ² approximation needs enough accepted events: only bins expecting at least :data:`MIN_EXPECTED`
unweighted events (``Σ_b p_i``, the usual rule for χ² tests of counts) enter the test.  A histogram with no
such bin is not tested (``p_value`` NaN): with a handful of unweighted events (Z+5 jets: 3 out of 10⁴
weighted ones) the Gaussian statistic would report spurious p-values of 1e-16.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from .unweighting import TwoStageResult

F8 = npt.NDArray[np.float64]

#: Bins expecting fewer unweighted events than this are left out of the χ² (Cochran's rule of thumb)
MIN_EXPECTED = 5.0

__all__ = [
    "MIN_EXPECTED",
    "ClosureResult",
    "HistogramComparison",
    "SigmaEstimate",
    "closure_test",
    "equal_weight_edges",
    "mean_with_error",
    "trial_histogram",
]


@dataclass(frozen=True)
class SigmaEstimate:
    """A cross section (mean weight per trial times ``scale``) with its Monte Carlo error."""

    value: float
    error: float

    def to_json(self) -> dict[str, float]:
        """``{"value": ..., "error": ...}``."""
        return {"value": self.value, "error": self.error}


def mean_with_error(v: F8, n_trials: int) -> SigmaEstimate:
    """Mean of ``v`` over ``n_trials`` trials (``v``: the non-zero entries, the rest are 0) and its error."""
    if n_trials < 2:
        raise ValueError(f"a Monte Carlo error needs at least 2 trials, got {n_trials}")
    mean = float(np.sum(v)) / n_trials
    var = (float(np.sum(v * v)) - n_trials * mean * mean) / (n_trials * (n_trials - 1))
    return SigmaEstimate(mean, float(np.sqrt(max(var, 0.0))))


def _bin_index(values: F8, edges: F8) -> npt.NDArray[np.intp]:
    """Bin of each value (``[edges[k], edges[k+1])``), ``-1`` outside ``[edges[0], edges[-1])``."""
    idx = np.searchsorted(edges, values, side="right") - 1
    return np.asarray(np.where((idx >= 0) & (idx < edges.size - 1), idx, -1))


def _bin_sums(idx: npt.NDArray[np.intp], v: F8, n_bins: int) -> F8:
    ok = idx >= 0
    return np.asarray(np.bincount(idx[ok], weights=v[ok], minlength=n_bins), dtype=np.float64)


def trial_histogram(values: F8, v: F8, edges: F8, n_trials: int) -> tuple[F8, F8]:
    """Per-bin mean over trials of ``v`` (contribution of each event, zero outside its bin) and its error.

    Parameters
    ----------
    values : ndarray, float64, shape (M,)
        Observable of the M events that carry a weight.
    v : ndarray, float64, shape (M,)
        Their weights.
    edges : ndarray, float64, shape (B + 1,)
        Increasing bin edges; bins are ``[edges[k], edges[k+1])``.
    n_trials : int
        Number of trials N ≥ M (the events not listed contributed zero).

    Returns
    -------
    mean, error : ndarray, float64, shape (B,)
        Events outside ``[edges[0], edges[-1])`` are ignored.
    """
    return _trial_histogram(_bin_index(values, edges), v, edges.size - 1, n_trials)


def _trial_histogram(idx: npt.NDArray[np.intp], v: F8, n_bins: int, n_trials: int) -> tuple[F8, F8]:
    mean = _bin_sums(idx, v, n_bins) / n_trials
    var = (_bin_sums(idx, v * v, n_bins) - n_trials * mean * mean) / (n_trials * (n_trials - 1))
    return mean, np.asarray(np.sqrt(np.maximum(var, 0.0)), dtype=np.float64)


def equal_weight_edges(values: F8, weights: F8, n_bins: int) -> F8:
    """Bin edges holding equal shares of ``Σ|w|`` (distinct edges; first/last = min/max of ``values``)."""
    if values.size == 0:
        raise ValueError("cannot bin an empty observable")
    order = np.argsort(values)
    v, c = values[order], np.cumsum(np.abs(weights[order]))
    targets = c[-1] * np.arange(1, n_bins) / n_bins
    inner = v[np.minimum(np.searchsorted(c, targets), v.size - 1)]
    edges = np.unique(np.concatenate([[v[0]], inner, [v[-1]]]))
    if edges.size < 2:
        edges = np.array([v[0] - 0.5, v[0] + 0.5])
    edges[-1] = np.nextafter(edges[-1], np.inf)  # keep the maximum inside the last bin
    return np.asarray(edges, dtype=np.float64)


@dataclass(frozen=True)
class HistogramComparison:
    """One observable: weighted and unweighted histograms (σ per bin, times ``scale``) and the test.

    ``chi2 = Σ_b (unweighted_b − weighted_b)² / diff_err_b²`` over the ``ndf`` bins with a non-zero
    difference variance that expect at least :data:`MIN_EXPECTED` unweighted events (``expected``);
    ``p_value`` is the χ² survival function, NaN when no bin qualifies (not tested).
    """

    name: str
    edges: F8
    weighted: F8
    weighted_err: F8
    unweighted: F8
    unweighted_err: F8
    diff_err: F8
    chi2: float
    ndf: int
    p_value: float
    expected: F8 = field(default_factory=lambda: np.zeros(0))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (arrays as lists)."""
        return {
            "name": self.name,
            "edges": self.edges.tolist(),
            "weighted": self.weighted.tolist(),
            "weighted_err": self.weighted_err.tolist(),
            "unweighted": self.unweighted.tolist(),
            "unweighted_err": self.unweighted_err.tolist(),
            "diff_err": self.diff_err.tolist(),
            "chi2": self.chi2,
            "ndf": self.ndf,
            "p_value": None if np.isnan(self.p_value) else self.p_value,
            "expected_unweighted": self.expected.tolist(),
        }


@dataclass(frozen=True)
class ClosureResult:
    """Closure of one channel: per-observable comparisons and the cross section both ways."""

    histograms: Mapping[str, HistogramComparison]
    sigma_weighted: SigmaEstimate
    sigma_unweighted: SigmaEstimate
    sigma_pull: float
    scale: float
    #: expected number of unweighted events, Σ p_i
    expected_unweighted: float = float("nan")

    @property
    def min_p(self) -> float:
        """Smallest per-observable p-value of the tested histograms; NaN if none could be tested."""
        tested = [h.p_value for h in self.histograms.values() if not np.isnan(h.p_value)]
        return min(tested) if tested else float("nan")

    @property
    def p_values(self) -> dict[str, float]:
        """Observable name to p-value."""
        return {k: h.p_value for k, h in self.histograms.items()}


def closure_test(
    obs: Mapping[str, F8],
    w: F8,
    result: TwoStageResult,
    *,
    n_bins: int = 20,
    scale: float = 1.0,
) -> ClosureResult:
    """Compare the two-stage unweighted sample with the weighted one, observable by observable.

    Parameters
    ----------
    obs : mapping of str to ndarray, float64, shape (N,)
        Observables of all N trials (see :mod:`fame_surrogate.validation.observables`).
    w : ndarray, float64, shape (N,)
        Exact weights.
    result : TwoStageResult
        The two-stage unweighting of these N events.
    n_bins : int
        Bins per observable, with equal shares of the weighted cross section (fewer if values repeat).
    scale : float
        Factor from mean weight per trial to a cross section (e.g. pb); applied to all outputs.
    """
    n = int(w.size)
    if result.n_trials != n:
        raise ValueError(f"the unweighting result has {result.n_trials} trials, the weights {n}")
    acc = result.accepted
    y = result.weight * result.norm  # = w / p for every kept event
    p = result.probability
    var_terms = np.divide(w * w * (1.0 - p), p, out=np.zeros_like(w), where=p > 0)
    hists: dict[str, HistogramComparison] = {}
    for name, values in obs.items():
        vals = np.asarray(values, dtype=np.float64)
        if vals.shape != (n,):
            raise ValueError(f"observable {name!r} has shape {vals.shape}, expected ({n},)")
        edges = equal_weight_edges(vals, w, n_bins)
        nb = edges.size - 1
        idx = _bin_index(vals, edges)
        hw, ew = _trial_histogram(idx, w, nb, n)
        hu, eu = _trial_histogram(idx[acc], y, nb, n)
        dvar = _bin_sums(idx, var_terms, nb) / (n * n)
        expected = _bin_sums(idx, p, nb)
        used = (dvar > 0) & (expected >= MIN_EXPECTED)
        chi2 = float(np.sum((hu[used] - hw[used]) ** 2 / dvar[used]))
        ndf = int(np.count_nonzero(used))
        p_value = float(stats.chi2.sf(chi2, ndf)) if ndf else float("nan")
        hists[name] = HistogramComparison(
            name=name,
            edges=edges * 1.0,
            weighted=hw * scale,
            weighted_err=ew * scale,
            unweighted=hu * scale,
            unweighted_err=eu * scale,
            diff_err=np.sqrt(dvar) * scale,
            chi2=chi2,
            ndf=ndf,
            p_value=p_value,
            expected=expected,
        )
    sw = mean_with_error(w, n)
    su = mean_with_error(y, n)
    diff_sd = float(np.sqrt(np.sum(var_terms))) / n
    pull = (su.value - sw.value) / diff_sd if diff_sd > 0 else 0.0
    return ClosureResult(
        histograms=hists,
        sigma_weighted=SigmaEstimate(sw.value * scale, sw.error * scale),
        sigma_unweighted=SigmaEstimate(su.value * scale, su.error * scale),
        sigma_pull=pull,
        scale=scale,
        expected_unweighted=float(np.sum(p)),
    )
