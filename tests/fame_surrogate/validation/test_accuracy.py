"""Accuracy figures against deviations constructed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fame_surrogate.validation import (
    ACCURACY_LEVELS,
    Accuracy,
    abs_ratio_deviation,
    accuracy,
    relative_deviation,
    weighted_log_spread,
)


def test_fractions_and_median_from_known_deviations() -> None:
    truth = np.geomspace(1e-9, 1e-3, 8)
    dev = np.array([0.0, 5e-4, -9e-4, 2e-3, -5e-3, 0.02, -0.5, 3.0])
    acc = accuracy(truth * (1.0 + dev), truth)
    assert acc.points == 8
    assert acc.frac_within_0p1pct == pytest.approx(3 / 8)
    assert acc.frac_within_1pct == pytest.approx(5 / 8)
    assert acc.median_abs_rel_dev == pytest.approx(np.median(np.abs(dev)), rel=1e-9)
    assert acc.max_abs_rel_dev == pytest.approx(3.0, rel=1e-12)


def test_non_finite_prediction_counts_as_a_miss() -> None:
    truth = np.ones(4)
    acc = accuracy(np.array([1.0, np.nan, np.inf, 1.0]), truth)
    assert acc.frac_within_1pct == 0.5
    assert acc.max_abs_rel_dev == np.inf


def test_relative_deviation_refuses_bad_truth_and_shapes() -> None:
    with pytest.raises(ValueError, match="zero or non-finite at 1 points"):
        relative_deviation(np.ones(3), np.array([1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="shape"):
        relative_deviation(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="zero points"):
        accuracy(np.zeros(0), np.zeros(0))


def test_fractions_of_a_log_normal_ratio_follow_their_definitions() -> None:
    """From ratios (validation, its report, ``fame me``): a log-normal ratio with sigma 0.01 has within 1% the
    P(|z| < 1) of a Gaussian and within 0.1% P(|z| < 0.1); the same figures as from predictions and truth."""
    ratio = np.exp(0.01 * np.random.default_rng(0).standard_normal(40000))
    fr = Accuracy.of_ratio(ratio)
    assert fr.within(1e-2) == fr.frac_within_1pct == pytest.approx(0.683, abs=0.01)
    assert fr.within(1e-1) == 1.0 and fr.within(1e-3) == pytest.approx(0.080, abs=0.01)
    dev = np.abs(ratio - 1.0)
    assert fr.median_abs_rel_dev == float(np.median(dev)) and fr.max_abs_rel_dev == float(np.max(dev))
    for level in ACCURACY_LEVELS:
        assert fr.within(level) == float(np.mean(dev < level))
    assert accuracy(ratio, np.ones_like(ratio)) == fr
    with pytest.raises(ValueError, match="no accuracy figure"):
        fr.within(0.05)


def test_non_finite_ratio_is_an_infinite_deviation_and_json_keys() -> None:
    dev = abs_ratio_deviation(np.array([1.0, np.nan, 1.5, np.inf]))
    assert dev.tolist() == [0.0, np.inf, 0.5, np.inf]
    acc = Accuracy.of_ratio(np.array([1.0, np.nan, 1.5, np.inf]))
    assert acc.points == 4 and acc.frac_within_10pct == 0.25 and acc.max_abs_rel_dev == np.inf
    assert list(acc.to_json()) == [
        "points",
        "frac_within_10pct",
        "frac_within_1pct",
        "frac_within_0p1pct",
        "median_abs_rel_dev",
        "max_abs_rel_dev",
    ]


def test_weighted_log_spread_by_hand() -> None:
    truth = np.geomspace(1e-12, 1e-6, 4)
    # ratios e^{-1}, e^{+1}, e^{0}, e^{5}; the last point carries no cross section
    pred = truth * np.exp([-1.0, 1.0, 0.0, 5.0])
    w = np.array([1.0, -1.0, 2.0, 0.0])  # |w| is used
    assert weighted_log_spread(pred, truth, w) == pytest.approx(np.sqrt(0.5), rel=1e-14)
    # weights 1:3 on two points at log ratios 0 and 2: mean 1.5, variance (1·1.5² + 3·0.5²)/4 = 0.75
    assert weighted_log_spread(truth[:2] * np.exp([0.0, 2.0]), truth[:2], [1.0, 3.0]) == pytest.approx(
        np.sqrt(0.75), rel=1e-14
    )
    # a common factor (a biased normalisation) is no spread; the weights' scale does not matter
    assert weighted_log_spread(3.0 * truth, truth, w) == pytest.approx(0.0, abs=1e-15)
    assert weighted_log_spread(pred, truth, 1e9 * w) == pytest.approx(np.sqrt(0.5), rel=1e-14)
    # a log-normal surrogate error of width σ over unit weights: σ
    rng = np.random.default_rng(1)
    t = 10.0 ** rng.uniform(-12, -4, 200_000)
    assert weighted_log_spread(t * np.exp(rng.normal(0.0, 0.2, t.size)), t, np.ones(t.size)) == pytest.approx(
        0.2, rel=0.01
    )
    with pytest.raises(ValueError, match="sum to 0"):
        weighted_log_spread(pred, truth, np.zeros(4))
    with pytest.raises(ValueError, match="positive and finite"):
        weighted_log_spread(-pred, truth, w)
    with pytest.raises(ValueError, match="one per point"):
        weighted_log_spread(pred, truth, w[:3])
