"""Closure: the two-stage unweighted sample reproduces the weighted one, even with a bad surrogate.

On 240k points from the built-in exact ME at the Sherpa reference settings (conftest ``ee3_large``),
checked here against the real Sherpa subset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from fame_surrogate.validation.closure import closure_test, mean_with_error, trial_histogram
from fame_surrogate.validation.observables import ee_observables
from fame_surrogate.validation.unweighting import two_stage
from lhe_tools import EventBatch, read_dump


@pytest.fixture(scope="module")
def ee3(ee3_large: EventBatch) -> EventBatch:
    """240k points (conftest): closure needs hundreds of unweighted events, 12k real points give ≈ 56."""
    return ee3_large


def test_generated_points_stand_for_the_sherpa_subset(ee3: EventBatch, sherpa_ee: Path) -> None:
    """The stand-in has the cross section and the thrust distribution of the real Sherpa points."""
    real = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz")
    sig = []
    for b in (real, ee3):
        w = b.weight * b.meta["cut_efficiency"]  # per generated RAMBO point
        sig.append((w.mean(), w.std(ddof=1) / np.sqrt(w.size)))
    assert abs(sig[0][0] - sig[1][0]) < 4 * np.hypot(sig[0][1], sig[1][1])
    t_real = ee_observables(real.momenta)["thrust"]
    t_gen = ee_observables(ee3.momenta[: 4 * len(real)])["thrust"]
    assert stats.ks_2samp(t_real, t_gen).pvalue > 1e-3


@pytest.fixture(scope="module")
def obs3(ee3: EventBatch) -> dict[str, np.ndarray]:
    return ee_observables(ee3.momenta)


def _bad_surrogate(b: EventBatch, obs: dict[str, np.ndarray], factor: float) -> np.ndarray:
    """``factor`` x the truth where the leading jet goes forward (half of phase space), exact elsewhere."""
    assert b.me2 is not None
    return np.asarray(b.me2 * np.where(obs["cos_theta_j1"][: len(b)] > 0, factor, 1.0))


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_bad_surrogate_still_closes(ee3: EventBatch, obs3: dict[str, np.ndarray], factor: float) -> None:
    assert ee3.me2 is not None
    w = ee3.weight
    s = w * _bad_surrogate(ee3, obs3, factor) / ee3.me2
    res = two_stage(w, s, np.random.default_rng(42))
    assert res.eps_2 < 0.75  # stage 2 pays for the bad surrogate ...
    clo = closure_test(obs3, w, res, n_bins=8)
    assert clo.min_p > 1e-3, clo.p_values  # ... and keeps the sample unbiased
    assert abs(clo.sigma_pull) < 4
    sw, su = clo.sigma_weighted, clo.sigma_unweighted
    assert abs(su.value - sw.value) < 4 * np.hypot(su.error, sw.error)
    assert res.n_accepted > 200


def test_skipping_stage_two_is_detected(ee3: EventBatch, obs3: dict[str, np.ndarray]) -> None:
    """Negative control: accepting on the surrogate alone (no stage 2) is biased and the test says so."""
    assert ee3.me2 is not None
    w = ee3.weight
    s = w * _bad_surrogate(ee3, obs3, 2.0) / ee3.me2
    surrogate_only = two_stage(s, s, np.random.default_rng(42))
    clo = closure_test(obs3, w, surrogate_only, n_bins=8)
    assert clo.p_values["cos_theta_j1"] < 1e-6
    assert abs(clo.sigma_pull) > 5


def test_chi2_is_calibrated(ee3: EventBatch, obs3: dict[str, np.ndarray]) -> None:
    """Under an unbiased unweighter the p-values are uniform: the errors are right, not just large."""
    b = ee3.take(slice(0, 50000))
    assert b.me2 is not None
    w = b.weight
    s = w * _bad_surrogate(b, obs3, 0.5) / b.me2
    obs = {"thrust": obs3["thrust"][: len(b)]}
    pvals = []
    for seed in range(30):
        res = two_stage(w, s, np.random.default_rng(seed), eps_s=1e-2)
        pvals.append(closure_test(obs, w, res, n_bins=6).p_values["thrust"])
    assert stats.kstest(pvals, "uniform").pvalue > 1e-3, sorted(pvals)


def test_sigma_pull_is_calibrated_on_sherpa_pp_weights(sherpa_pp: Path) -> None:
    """On Sherpa's heavy-tailed Z+4 weights the σ pull has mean 0 and mean square 1 over unweighting seeds.

    The pull is conditional on the events: its denominator is the exact standard deviation of the unweighted
    σ given them, so E[pull] = 0 and E[pull²] = 1 hold for every sample, however few events survive (here
    ≈ 2 of 2 000). A variance without the (1 − p) factor gives a mean square of 0.39 on the same draws."""
    b = read_dump(sherpa_pp / "z4j_gu_val.npz")
    w = b.weight
    s = w * np.exp(0.1 * np.random.default_rng(11).standard_normal(w.size))  # a surrogate 10% off
    pulls = np.array(
        [closure_test({}, w, two_stage(w, s, np.random.default_rng(seed))).sigma_pull for seed in range(400)]
    )
    se = pulls.std(ddof=1) / np.sqrt(pulls.size)
    assert abs(pulls.mean()) < 4 * se, (pulls.mean(), se)
    sq = pulls**2
    assert abs(sq.mean() - 1.0) < 4 * sq.std(ddof=1) / np.sqrt(sq.size), (sq.mean(), sq.std(ddof=1))


def test_weighted_histogram_errors() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    values = rng.random(n)
    v = rng.exponential(size=n)
    edges = np.linspace(0, 1, 5)
    mean, err = trial_histogram(values, v, edges, n)
    for k in range(4):
        inside = (values >= edges[k]) & (values < edges[k + 1])
        contrib = np.where(inside, v, 0.0)
        assert mean[k] == pytest.approx(contrib.mean())
        assert err[k] == pytest.approx(contrib.std(ddof=1) / np.sqrt(n))
    # trials that contributed nothing count: mean over 2n trials with n zeros
    est = mean_with_error(v, 2 * n)
    full = np.r_[v, np.zeros(n)]
    assert est.value == pytest.approx(full.mean())
    assert est.error == pytest.approx(full.std(ddof=1) / np.sqrt(2 * n))


def test_too_few_unweighted_events_are_not_tested(ee3: EventBatch, obs3: dict[str, np.ndarray]) -> None:
    """400 trials keep ≈ 18 unweighted events, < 5 per bin: the χ² would be meaningless, so none is tested."""
    b = ee3.take(slice(0, 400))
    assert b.me2 is not None
    obs = {k: v[: len(b)] for k, v in obs3.items()}
    res = two_stage(b.weight, b.weight, np.random.default_rng(0))
    clo = closure_test(obs, b.weight, res, n_bins=8)
    assert clo.expected_unweighted == pytest.approx(float(np.sum(res.probability)))
    assert clo.expected_unweighted < 5.0 * 8
    assert all(np.isnan(p) for p in clo.p_values.values()) and np.isnan(clo.min_p)
    # with the whole sample every bin expects enough events and is tested
    res_full = two_stage(ee3.weight, ee3.weight, np.random.default_rng(0))
    full = closure_test(obs3, ee3.weight, res_full, n_bins=8)
    assert all(h.ndf == 8 and h.expected.min() >= 5.0 for h in full.histograms.values())
