"""Cross-section importance: which weighted training events a surrogate should see, and how often.

A Sherpa pp dump is a weighted sample of its integrator's density, not of |M|².  At W/Z + 4 jets with a
quickly optimised integrator, the heaviest 2% of the events carry 99% of Σ|w|, and half of the events weigh
less than 1e-13 of the largest.  Unweighting keeps events with probability ∝ |w|, so the surrogate's
accuracy matters on the heavy events, and an unweighted loss spends almost all of its steps elsewhere.

:func:`keep_probability` is the probability with which a point enters training:

    p_i = min(1, max(floor, |w_i| / w_ref)),

with w_ref the smallest weight among the heaviest points that together carry ``fraction`` of Σ|w|.  Those
points are always kept; lighter ones are kept ∝ |w| (so that, below w_ref, the kept sample follows the
distribution that unweighting produces), and never with less than ``floor`` (so the surrogate still learns
the whole phase space: a gross overestimate anywhere would raise the unweighting maximum).  Unit weights
(e+e- dumps, LHE files without weights) give p = 1 everywhere.

:func:`importance_subsample` draws the kept training points once, with a seed.  The training then runs
its plain loss on them, so each epoch is cheaper and the permuted copies of identical particles
(``TrainConfig.augment``) go to the events that matter.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["importance_subsample", "keep_probability"]

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]


def keep_probability(weight: npt.ArrayLike, fraction: float, floor: float) -> F8:
    """Probability with which each weighted point enters training (see the module docstring).

    Parameters
    ----------
    weight : array_like, float64, shape (N,)
        Event weights (any sign; |w| is used).  Must be finite.
    fraction : float
        0 < fraction ≤ 1: the heaviest points that carry this fraction of Σ|w| are always kept.
    floor : float
        0 < floor ≤ 1: the smallest keep probability.

    Returns
    -------
    ndarray, float64, shape (N,)
        p in [floor, 1]; all ones when the weights are all equal (or all zero).
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"importance fraction={fraction}; expected 0 < fraction <= 1")
    if not 0.0 < floor <= 1.0:
        raise ValueError(f"importance floor={floor}; expected 0 < floor <= 1")
    aw = np.abs(np.asarray(weight, dtype=np.float64))
    if aw.ndim != 1:
        raise ValueError(f"weights of shape {aw.shape}; expected one per point")
    if not np.all(np.isfinite(aw)):
        raise ValueError(f"{int(np.sum(~np.isfinite(aw)))} weight(s) are not finite")
    total = float(aw.sum())
    if aw.size == 0 or total == 0.0:
        return np.ones(aw.size)
    heaviest_first = np.sort(aw)[::-1]
    carried = np.cumsum(heaviest_first) / total
    # the smallest weight among the heaviest points whose sum reaches `fraction` of the total
    k = min(int(np.searchsorted(carried, fraction * (1.0 - 1e-12))), aw.size - 1)
    w_ref = float(heaviest_first[k])
    if w_ref == 0.0:  # the fraction is reached only with zero weights included: keep everything
        return np.ones(aw.size)
    p: F8 = np.clip(aw / w_ref, floor, 1.0)
    return p


def importance_subsample(keep: npt.ArrayLike, index: npt.ArrayLike, seed: int) -> I8:
    """The points of ``index`` that enter training, each drawn with its keep probability.

    Parameters
    ----------
    keep : array_like, float64, shape (N,)
        :func:`keep_probability` of all N points of the batch.
    index : array_like of int, shape (M,)
        The candidate points (the training split), indices into ``keep``.
    seed : int
        Seed of ``numpy.random.default_rng``: the same arguments keep the same points.

    Returns
    -------
    ndarray, int64, shape (K,)
        The kept indices, sorted; at least the candidate most likely to be kept.
    """
    idx = np.asarray(index, dtype=np.int64)
    p = np.asarray(keep, dtype=np.float64)[idx]
    chosen = np.random.default_rng(seed).random(idx.size) < p
    if idx.size and not chosen.any():
        chosen[int(np.argmax(p))] = True
    kept: I8 = np.sort(idx[chosen])
    return kept
