"""Max_Epsilon maxima and the one- and two-stage unweighters against their definitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

from fame_surrogate.validation.unweighting import (
    excess_fraction,
    kish_alpha,
    max_epsilon,
    two_stage,
    unweight,
)
from lhe_tools import read_dump


def _excess(a: np.ndarray, c: np.ndarray, m: float) -> float:
    return float(np.sum(c * np.maximum(a - m, 0.0)))


def _brute_max(values: np.ndarray, eps: float, weights: np.ndarray | None = None) -> float:
    """Definition by root finding: the excess is continuous and decreasing in m."""
    a = np.abs(values)
    c = np.ones_like(a) if weights is None else np.abs(weights)
    target = eps * float(np.sum(c * a))
    if eps == 0.0:
        return float(a[c > 0].max())
    return float(
        optimize.brentq(
            lambda m: _excess(a, c, m) - target, 0.0, float(a.max()), xtol=1e-300, rtol=1e-14, maxiter=500
        )
    )


@pytest.mark.parametrize("eps", [0.0, 1e-4, 1e-3, 1e-2, 0.2])
def test_max_epsilon_matches_brute_force(eps: float) -> None:
    rng = np.random.default_rng(7)
    w = rng.lognormal(0.0, 2.0, 3000) * rng.choice([-1.0, 1.0], 3000)
    m = max_epsilon(w, eps)
    assert m == pytest.approx(_brute_max(w, eps), rel=1e-10)
    c = rng.random(3000)
    mw = max_epsilon(w, eps, weights=c)
    assert mw == pytest.approx(_brute_max(w, eps, c), rel=1e-10)
    # smallest: any lower maximum violates the bound
    if eps > 0:
        a = np.abs(w)
        assert _excess(a, np.ones_like(a), m) <= eps * a.sum() * (1 + 1e-12)
        assert _excess(a, np.ones_like(a), m * (1 - 1e-9)) > eps * a.sum()


def test_max_epsilon_known_cases() -> None:
    assert max_epsilon(np.full(100, 3.0), 0.01) == pytest.approx(3.0 * 0.99, rel=1e-14)
    assert max_epsilon([5.0, 1.0, -2.0], 0.0) == 5.0
    # two values: 1 (x 99) and 100 (x 1): excess fraction (100 - m)/199 = 0.1 -> m = 80.1
    assert max_epsilon(np.r_[np.ones(99), 100.0], 0.1) == pytest.approx(80.1, rel=1e-14)
    assert max_epsilon(np.zeros(4), 1e-3) == 0.0
    with pytest.raises(ValueError, match="Max_Epsilon"):
        max_epsilon([1.0], 1.0)
    with pytest.raises(ValueError, match="not finite at index 1"):
        max_epsilon([1.0, np.nan])


def test_max_epsilon_on_sherpa_weights(sherpa_ee: Path) -> None:
    b = read_dump(sherpa_ee / "ee_4j_ycut0.01.npz")
    m = max_epsilon(b.weight, 1e-3)
    assert m < b.weight.max()
    assert excess_fraction(b.weight, m) == pytest.approx(1e-3, rel=1e-9)


def _binomial_z(k: np.ndarray, n: int, p: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.maximum(n * p * (1 - p), 1e-300))
    return np.where((p == 0) | (p == 1), np.where(k == n * p, 0.0, np.inf), (k - n * p) / sd)


def test_unweight_acceptance_probability() -> None:
    w_max = 2.0
    distinct = np.r_[np.linspace(0.0, 4.0, 30), -np.linspace(0.1, 3.0, 10)]
    reps = 4000
    w = np.repeat(distinct, reps)
    res = unweight(w, np.random.default_rng(11), w_max=w_max)
    k = res.accepted.reshape(len(distinct), reps).sum(axis=1)
    p = np.minimum(1.0, np.abs(distinct) / w_max)
    z = _binomial_z(k, reps, p)
    assert np.all(np.abs(z) < 5), z
    inner = (p > 0) & (p < 1)
    assert stats.chi2.sf(np.sum(z[inner] ** 2), inner.sum()) > 1e-3
    # kept weights: sign(w) max(1, |w|/w_max)
    np.testing.assert_array_equal(
        res.weight, np.sign(w[res.accepted]) * np.maximum(1, np.abs(w[res.accepted]) / 2)
    )
    assert res.efficiency == pytest.approx(np.mean(np.abs(w)) / w_max)


def test_two_stage_acceptance_probability() -> None:
    rng = np.random.default_rng(3)
    n_pairs, reps = 40, 4000
    w0 = rng.lognormal(0, 1, n_pairs) * rng.choice([-1.0, 1.0], n_pairs)
    s0 = np.abs(w0) * rng.uniform(0.3, 3.0, n_pairs)
    s_max, x_max = 2.0, 1.5
    w, s = np.repeat(w0, reps), np.repeat(s0, reps)
    res = two_stage(w, s, np.random.default_rng(5), s_max=s_max, x_max=x_max)
    p1 = np.minimum(1, s0 / s_max)
    p2 = np.minimum(1, np.abs(w0 / s0) / x_max)
    k1 = res.stage1.reshape(n_pairs, reps).sum(axis=1)
    k = res.accepted.reshape(n_pairs, reps).sum(axis=1)
    assert np.all(np.abs(_binomial_z(k1, reps, p1)) < 5)
    z = _binomial_z(k, reps, p1 * p2)
    assert np.all(np.abs(z) < 5), z
    assert np.all(res.accepted <= res.stage1)
    acc = res.accepted
    expect = np.sign(w[acc]) * np.maximum(1, s[acc] / s_max) * np.maximum(1, np.abs(w[acc] / s[acc]) / x_max)
    np.testing.assert_allclose(res.weight, expect, rtol=1e-15)
    # acceptance x final weight x norm = w for every event: the sample is unbiased for any maxima
    np.testing.assert_allclose(res.probability[acc] * res.weight * res.norm, w[acc], rtol=1e-12)


def test_two_stage_efficiencies_and_unbiased_sigma(sherpa_ee: Path) -> None:
    b = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz")
    w = b.weight
    n = w.size
    std = unweight(w, np.random.default_rng(0))
    # perfect surrogate: stage 1 is the standard unweighting, x = 1 everywhere -> x_max = 1 - eps_x
    perfect = two_stage(w, w, np.random.default_rng(1), eps_x=1e-3)
    assert perfect.eps_1 == pytest.approx(std.efficiency, rel=1e-14)
    assert perfect.x_max == pytest.approx(1 - 1e-3, rel=1e-12)
    assert perfect.eps_2 == pytest.approx(1 / (1 - 1e-3), rel=1e-12)
    # a surrogate that is 2x the truth where the quark goes forward: <x> over the s-weighted sample
    fwd = b.momenta[:, 3, 3] > 0
    s = w * np.where(fwd, 2.0, 1.0)
    res = two_stage(w, s, np.random.default_rng(2))
    # stage-2 excess of the x = 1 half: (1 - x_max) Σ_bwd s = eps Σ s x = eps Σ w
    assert res.x_max == pytest.approx(1.0 - 1e-3 * np.sum(w) / np.sum(s[~fwd]), rel=1e-9)
    w_fwd, w_bwd = np.sum(w[fwd]), np.sum(w[~fwd])
    expect = (w_fwd + w_bwd) / (2 * w_fwd + w_bwd) / (1.0 - 1e-3 * (w_fwd + w_bwd) / w_bwd)
    assert res.eps_2 == pytest.approx(expect, rel=1e-10)
    assert res.eps_2 < 0.75  # the forward-backward asymmetry puts more than half of sigma forward
    # cross section (mean weight per trial) agrees with the weighted one within the unweighting error
    sigma_w = w.mean()
    for r in (std, res):
        norm = r.w_max if hasattr(r, "w_max") else r.norm  # type: ignore[attr-defined]
        y = r.weight * norm
        sigma_u = y.sum() / n
        p = r.probability
        sd = np.sqrt(np.sum(w * w * (1 - p) / p)) / n
        assert abs(sigma_u - sigma_w) < 4 * sd, (sigma_u, sigma_w, sd)


def test_stage_one_budgets(sherpa_ee: Path) -> None:
    b = read_dump(sherpa_ee / "ee_4j_ycut0.01.npz").take(slice(0, 50000))
    w = b.weight
    s = w * np.exp(0.3 * np.random.default_rng(0).standard_normal(w.size))
    x = w / s
    sig = two_stage(w, s, np.random.default_rng(1), budget="sigma")
    # cross-section excess of stage 1: Σ max(0, |w| - |x| s_max) = eps Σ|w|
    assert np.sum(np.maximum(np.abs(w) - np.abs(x) * sig.s_max, 0)) == pytest.approx(
        1e-3 * np.sum(w), rel=1e-9
    )
    sur = two_stage(w, s, np.random.default_rng(1), budget="surrogate")
    assert sur.s_max == max_epsilon(s, 1e-3)
    assert sur.x_max == sig.x_max  # stage 2 does not depend on the stage-1 budget
    # a perfect surrogate with the cross-section budget is exactly the standard unweighter at stage 1
    std = unweight(w, np.random.default_rng(2))
    assert two_stage(w, w, np.random.default_rng(2)).s_max == pytest.approx(std.w_max, rel=1e-12)
    # the share of sigma above weight 1 is what the maxima allow: eps for one stage, about eps per stage
    assert std.overweight_sigma_fraction == pytest.approx(1e-3, rel=1e-9)
    assert 1e-3 < sig.overweight_sigma_fraction < 3e-3
    with pytest.raises(ValueError, match="budget"):
        two_stage(w, s, np.random.default_rng(1), budget="pb")


def test_two_stage_rejects_zero_surrogate() -> None:
    with pytest.raises(ValueError, match=r"zero surrogate weight.*index 1"):
        two_stage(np.array([1.0, 2.0]), np.array([1.0, 0.0]), np.random.default_rng(0))


def test_kish_alpha() -> None:
    assert kish_alpha(np.ones(10)) == 1.0
    z = np.r_[np.ones(8), 3.0, 3.0]  # (14)^2 / (10 * 26)
    assert kish_alpha(z) == pytest.approx(196 / 260)
