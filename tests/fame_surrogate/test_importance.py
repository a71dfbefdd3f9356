"""Importance subsampling of weighted events: the keep probabilities against hand-computed values, and the
kept sample against the Horvitz–Thompson identity (Σ_kept |w|/p estimates Σ|w| without bias)."""

from __future__ import annotations

import numpy as np
import pytest

from fame_surrogate.importance import importance_subsample, keep_probability


def test_keep_probability_by_hand() -> None:
    w = np.array([1.0, -8.0, 2.0, 4.0, 1.0])  # Σ|w| = 16; the heaviest carries 1/2, the two heaviest 3/4
    assert keep_probability(w, 0.5, 0.1) == pytest.approx([0.125, 1.0, 0.25, 0.5, 0.125], rel=1e-15)
    assert keep_probability(w, 0.75, 0.1) == pytest.approx([0.25, 1.0, 0.5, 1.0, 0.25], rel=1e-15)
    assert keep_probability(w, 0.75, 0.3) == pytest.approx([0.3, 1.0, 0.5, 1.0, 0.3], rel=1e-15)
    assert np.all(keep_probability(w, 1.0, 0.01) == 1.0)  # all the weight: every point is always kept
    # unit weights (e+e- dumps, unweighted LHE): nothing to emphasise
    assert np.all(keep_probability(np.ones(7), 0.5, 0.01) == 1.0)
    assert np.all(keep_probability(np.zeros(3), 0.5, 0.01) == 1.0)


@pytest.mark.parametrize(
    ("w", "fraction", "floor", "match"),
    [
        (np.ones(3), 0.0, 0.1, "fraction=0.0"),
        (np.ones(3), 0.5, 0.0, "floor=0.0"),
        (np.ones(3), 0.5, 1.5, "floor=1.5"),
        (np.array([1.0, np.nan]), 0.5, 0.1, "1 weight"),
        (np.ones((2, 2)), 0.5, 0.1, "one per point"),
    ],
)
def test_bad_arguments_are_refused(w: np.ndarray, fraction: float, floor: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        keep_probability(w, fraction, floor)


def test_subsample_is_unbiased_and_keeps_the_heavy_points() -> None:
    rng = np.random.default_rng(3)
    w = 10.0 ** rng.uniform(-12.0, 0.0, 200_000)  # weights over 12 decades, as in a pp dump
    p = keep_probability(w, 0.99, 0.02)
    index = np.arange(0, w.size, 2)  # the candidates: every other point
    kept = importance_subsample(p, index, seed=11)
    assert np.array_equal(kept, importance_subsample(p, index, seed=11))  # seeded
    assert not np.array_equal(kept, importance_subsample(p, index, seed=12))
    assert np.all(np.isin(kept, index)) and np.all(np.diff(kept) > 0)
    # every candidate with p = 1 is kept; the count is binomial around Σp
    assert np.all(np.isin(index[p[index] == 1.0], kept))
    mean, var = p[index].sum(), (p[index] * (1 - p[index])).sum()
    assert abs(kept.size - mean) < 5 * np.sqrt(var)
    assert kept.size < 0.25 * index.size  # far fewer points to train on (the top 2 decades carry 99%)
    # Horvitz–Thompson: Σ_kept |w|/p estimates Σ_candidates |w|; its variance is Σ w²(1-p)/p
    est, truth = (w[kept] / p[kept]).sum(), w[index].sum()
    sd = np.sqrt((w[index] ** 2 * (1 - p[index]) / p[index]).sum())
    assert abs(est - truth) < 5 * sd + 1e-12 * truth
    # the kept points carry (almost) all of the candidates' weight
    assert w[kept].sum() > 0.99 * truth


def test_subsample_keeps_at_least_one_point() -> None:
    p = np.full(5, 1e-9)
    p[3] = 2e-9
    assert importance_subsample(p, np.arange(5), seed=0).tolist() == [3]
