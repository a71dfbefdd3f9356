"""The tempered stage-1 weight |s|^β, on real Sherpa pp → Z + 4 jets weights (tests/data/sherpa-pp)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.validation import (
    TEMPER_GRID,
    TEMPER_TOLERANCE,
    TemperScan,
    scan_temper,
    temper,
    two_stage,
)
from lhe_tools import EventBatch, read_dump
from sherpa_plugin.validate import validate
from sherpa_plugin.validate_config import ValidateConfig

T_ME, T_SURR, T_PS = 3.75, 0.1, 0.45  # ms per point, of the order of Sherpa's Z+4 (SPEC §5)


@pytest.fixture(scope="module")
def z4(sherpa_pp: Path) -> EventBatch:
    return read_dump(sherpa_pp / "z4j_gu_val.npz")  # 2 000 real Sherpa Z+4 events


@pytest.fixture(scope="module")
def noise(z4: EventBatch) -> np.ndarray:
    """A surrogate's ratio me2_surr/me2: 30% log-normal noise."""
    return np.exp(0.3 * np.random.default_rng(5).standard_normal(len(z4)))


class Noisy:
    def __init__(self, ratio: np.ndarray) -> None:
        self.ratio = ratio

    def predict(self, batch: EventBatch) -> tuple[np.ndarray, np.ndarray]:
        assert batch.me2 is not None
        return batch.me2 * self.ratio, np.zeros(len(batch))


def test_temper_keeps_sign_order_and_zeros(z4: EventBatch) -> None:
    s = z4.weight * np.where(np.arange(len(z4)) % 7 == 0, -1.0, 1.0)
    s[3] = 0.0
    t = temper(s, 0.7)
    assert np.array_equal(np.sign(t), np.sign(s))
    assert np.array_equal(np.argsort(np.abs(t), kind="stable"), np.argsort(np.abs(s), kind="stable"))
    # the ratios of the weights are raised to β (the overall scale is free)
    i, j = np.argmax(np.abs(s)), 10
    assert abs(t[j] / t[i]) == pytest.approx(abs(s[j] / s[i]) ** 0.7, rel=1e-12)
    assert t[i] == s[i]  # in the units of s, equal to it at its largest |s|
    np.testing.assert_array_equal(temper(s, 1.0), s)
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="0 < β <= 1"):
            temper(s, bad)


def test_exact_surrogate_at_beta_one_gains_one_over_one_minus_eps(z4: EventBatch) -> None:
    # s = w: x = 1 everywhere, so x_max = 1 − ε (Max_Epsilon of a constant), ε_1 = ε_full and
    # f_eff/f_ideal = ε_2 = 1/(1 − ε), whatever the times; a rescaled surrogate gives the same
    w = z4.weight
    for eps in (1e-3, 1e-2):
        for s in (w, 7.3 * w):
            scan = scan_temper(w, s, T_ME, T_SURR, T_PS, grid=(1.0,), eps=eps, eps_x=eps)
            assert scan.ratios[0] == pytest.approx(1.0 / (1.0 - eps), rel=1e-9)
            assert scan.eps_2[0] == pytest.approx(1.0 / (1.0 - eps), rel=1e-9)


def test_a_flat_stage_one_is_standard_unweighting_with_the_surrogate_on_top(z4: EventBatch) -> None:
    # β → 0: stage 1 keeps (almost) everything, ε_2 → ε_full, and the cost is the standard one plus t_surr
    # per trial: f_eff/f_ideal → [(t_surr + t_PS)/ε_full + t_ME] / [(t_surr + t_PS)/ε_full + t_ME/ε_full]
    w = np.abs(z4.weight)
    s = w * np.exp(0.3 * np.random.default_rng(1).standard_normal(len(w)))
    eps_full = two_stage(w, w, np.random.default_rng(0)).eps_1
    scan = scan_temper(w, s, T_ME, T_SURR, T_PS, grid=(1e-9,))
    assert scan.eps_1[0] == pytest.approx(1.0, rel=2e-3)
    assert scan.eps_2[0] == pytest.approx(eps_full, rel=2e-3)
    limit = ((T_SURR + T_PS) / eps_full + T_ME) / ((T_SURR + T_PS) / eps_full + T_ME / eps_full)
    assert scan.ratios[0] == pytest.approx(limit, rel=3e-3)


def test_tempered_unweighting_is_unbiased(z4: EventBatch, noise: np.ndarray) -> None:
    w = z4.weight
    sb = temper(w * noise, 0.6)
    res = two_stage(w, sb, np.random.default_rng(0))
    # every event: acceptance probability × final weight × s_max x_max = |w| (what makes any s unbiased)
    final = np.maximum(1.0, np.abs(sb) / res.s_max) * np.maximum(1.0, np.abs(res.x) / res.x_max)
    np.testing.assert_allclose(res.probability * final * res.norm, np.abs(w), rtol=1e-12)
    # and the unweighted σ over seeds: mean equal to Σ w within 4 standard errors
    sums = np.array([two_stage(w, sb, np.random.default_rng(k)).weight.sum() * res.norm for k in range(300)])
    assert abs(sums.mean() - w.sum()) < 4.0 * sums.std(ddof=1) / np.sqrt(len(sums))


def test_scan_matches_validate_and_tempering_raises_the_gain(z4: EventBatch, noise: np.ndarray) -> None:
    w = z4.weight
    scan = scan_temper(w, w * noise, T_ME, T_SURR, T_PS)
    assert scan.betas == TEMPER_GRID and scan.best_beta in TEMPER_GRID
    cfg = ValidateConfig(report=False, t_me_ms=T_ME, t_surr_ms=T_SURR, t_ps_ms=T_PS, gain_blocks=1)
    for beta in (1.0, 0.8, 0.6):
        r = validate(Noisy(noise), [z4], None, ValidateConfig(**{**cfg.__dict__, "temper": beta})).to_json()
        assert r["f_eff"] / r["f_ideal"] == pytest.approx(scan.ratio_at(beta), rel=1e-9)
        assert r["eps_2"] == pytest.approx(scan.eps_2[scan.betas.index(beta)], rel=1e-9)
    # β = 1: the event that sets x_max is not the one that sets s_max, so ε_1 ε_2 < ε_full (f_eff/f_ideal
    # 0.47 here); a flatter stage 1 recovers it while t_ME/ε_2 stays small against (t_surr + t_PS)/(ε_1 ε_2)
    assert scan.best_ratio > scan.ratio_at(1.0) + 0.05
    assert scan.best_beta < 1.0
    # the chosen β: at most the best one, within the tolerance of the best ratio, and the one recorded
    assert scan.tolerance == TEMPER_TOLERANCE and scan.beta <= scan.best_beta
    assert scan.ratio_at(scan.beta) >= (1.0 - TEMPER_TOLERANCE) * scan.best_ratio
    assert scan.to_json()["beta"] == scan.beta and scan.to_json()["best_beta"] == scan.best_beta
    exact = scan_temper(w, w * noise, T_ME, T_SURR, T_PS, tolerance=0.0)
    assert exact.ratios == scan.ratios and exact.beta == exact.best_beta


def _scan(betas: tuple[float, ...], ratios: tuple[float, ...], tolerance: float) -> TemperScan:
    return TemperScan(betas, ratios, (0.0,) * len(betas), (0.0,) * len(betas), tolerance)


def test_chosen_beta_steps_down_from_the_best_while_within_tolerance() -> None:
    betas = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
    # a Z+5-like held-out scan: flat top at 0.9–0.8, then a slow fall
    flat = (0.80, 1.00, 0.99, 0.975, 0.96, 0.98)
    assert _scan(betas, flat, 0.0).beta == 0.9
    assert _scan(betas, flat, 0.03).beta == 0.7  # 0.6 is below 0.97: the walk stops there, 0.5 is not reached
    assert _scan(betas, flat, 0.05).beta == 0.5
    assert _scan(betas, flat, 0.009).beta == 0.9  # 0.99 < 1 - 0.009
    # the grid in any order: the walk goes by β, largest first
    order = (3, 0, 5, 1, 4, 2)
    shuffled = _scan(tuple(betas[k] for k in order), tuple(flat[k] for k in order), 0.03)
    assert shuffled.beta == 0.7 and shuffled.best_beta == 0.9
    # the best at the grid's smallest β: nothing below it
    assert _scan(betas, (0.5, 0.6, 0.7, 0.8, 0.9, 1.0), 0.5).beta == 0.5


def test_scan_rejects_a_tolerance_out_of_range(z4: EventBatch, noise: np.ndarray) -> None:
    w = z4.weight
    for bad in (-0.01, 1.0):
        with pytest.raises(ValueError, match="tolerance"):
            scan_temper(w, w * noise, T_ME, T_SURR, T_PS, tolerance=bad)
