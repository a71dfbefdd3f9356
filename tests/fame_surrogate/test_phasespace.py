"""RAMBO and the global cut against analytic truths (momentum conservation, Dalitz density, cut area)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from fame_surrogate.phasespace import (
    EEPhaseSpace,
    ee_beams,
    min_sij_over_s,
    pass_ycut,
    rambo,
    rambo_weight,
)
from lhe_tools.fourvec import mdot


@pytest.mark.parametrize("n_out", [2, 3, 5, 7])
def test_rambo_conserves_momentum_and_is_massless(n_out: int) -> None:
    sqrt_s = 1000.0
    p = rambo(n_out, sqrt_s, 2000, np.random.default_rng(n_out))
    assert p.shape == (2000, n_out, 4)
    total = p.sum(axis=1)
    np.testing.assert_allclose(total[:, 0], sqrt_s, rtol=1e-12)
    np.testing.assert_allclose(total[:, 1:], 0.0, atol=1e-9)
    np.testing.assert_allclose(mdot(p, p) / sqrt_s**2, 0.0, atol=1e-12)
    assert np.all(p[..., 0] > 0)


def test_rambo_weight_matches_closed_forms() -> None:
    # W_2 = 1/(8π), W_3 = s/(256 π^3) (reference/physics.md §3.1); Sherpa's value for n=3 at 1 TeV: 125.98
    assert rambo_weight(2, 91.0) == pytest.approx(1.0 / (8.0 * math.pi), rel=1e-14)
    assert rambo_weight(3, 1000.0) == pytest.approx(1000.0**2 / (256.0 * math.pi**3), rel=1e-14)
    assert rambo_weight(3, 1000.0) == pytest.approx(125.98255637968553, rel=1e-12)


def test_three_body_dalitz_density_is_flat() -> None:
    # flat massless 3-body phase space is uniform in (x1, x2): the marginal density of x1 = 2E1/√s is 2 x1
    p = rambo(3, 200.0, 40000, np.random.default_rng(7))
    x1 = 2.0 * p[:, 0, 0] / 200.0
    result = stats.kstest(x1, lambda x: np.clip(x, 0, 1) ** 2)
    assert result.pvalue > 1e-3
    # the energy fractions sum to 2
    np.testing.assert_allclose((2.0 * p[..., 0] / 200.0).sum(axis=1), 2.0, rtol=1e-12)


@pytest.mark.parametrize("y_cut", [0.01, 0.05])
def test_ycut_efficiency_matches_dalitz_area(y_cut: float) -> None:
    # s_ij/s = 1 - x_k; cutting x_k < 1 - y on the uniform Dalitz triangle keeps (1 - 3y)^2
    n = 200000
    p = rambo(3, 1000.0, n, np.random.default_rng(11))
    keep = pass_ycut(p, 1000.0, y_cut)
    expected = (1.0 - 3.0 * y_cut) ** 2
    sigma = math.sqrt(expected * (1 - expected) / n)
    assert abs(keep.mean() - expected) < 5 * sigma


def test_generate_applies_cut_and_prepends_beams() -> None:
    ps = EEPhaseSpace(n_out=4, sqrt_s=1000.0, y_cut=0.01)
    mom, n_gen = ps.generate(3000, np.random.default_rng(3))
    assert mom.shape == (3000, 6, 4)
    np.testing.assert_array_equal(mom[:, :2], ee_beams(1000.0, 3000))
    assert np.all(min_sij_over_s(mom[:, 2:], 1000.0) > 0.01)
    assert n_gen > 3000
    np.testing.assert_allclose(mom[:, :2].sum(axis=1), mom[:, 2:].sum(axis=1), atol=1e-9)
    # seeded: the same seed gives the same points
    again, _ = ps.generate(3000, np.random.default_rng(3))
    np.testing.assert_array_equal(mom, again)
