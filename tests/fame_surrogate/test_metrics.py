"""Accuracy figures against deviations constructed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fame_surrogate.metrics import accuracy, relative_deviation


def test_fractions_and_median_from_known_deviations() -> None:
    truth = np.geomspace(1e-9, 1e-3, 8)
    dev = np.array([0.0, 5e-4, -9e-4, 2e-3, -5e-3, 0.02, -0.5, 3.0])
    acc = accuracy(truth * (1.0 + dev), truth)
    assert acc["points"] == 8
    assert acc["frac_within_0p1pct"] == pytest.approx(3 / 8)
    assert acc["frac_within_1pct"] == pytest.approx(5 / 8)
    assert acc["median_abs_rel_dev"] == pytest.approx(np.median(np.abs(dev)), rel=1e-9)
    assert acc["max_abs_rel_dev"] == pytest.approx(3.0, rel=1e-12)


def test_non_finite_prediction_counts_as_a_miss() -> None:
    truth = np.ones(4)
    acc = accuracy(np.array([1.0, np.nan, np.inf, 1.0]), truth)
    assert acc["frac_within_1pct"] == 0.5
    assert acc["max_abs_rel_dev"] == np.inf


def test_relative_deviation_refuses_bad_truth_and_shapes() -> None:
    with pytest.raises(ValueError, match="zero or non-finite at 1 points"):
        relative_deviation(np.ones(3), np.array([1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="shape"):
        relative_deviation(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="zero points"):
        accuracy(np.zeros(0), np.zeros(0))
