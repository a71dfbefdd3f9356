"""Closure observables against analytic results."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.phasespace import EEPhaseSpace
from fame_surrogate.validation.observables import ee_observables, observables, pp_observables, thrust
from lhe_tools import read_dump


def test_three_parton_thrust_is_the_largest_energy_fraction(sherpa_ee: Path) -> None:
    b = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(slice(0, 20000))
    o = ee_observables(b.momenta)
    sqrt_s = 1000.0
    np.testing.assert_allclose(o["thrust"], 2 * o["E_j1"] / sqrt_s, rtol=1e-12)
    np.testing.assert_allclose(o["E_j1"] + o["E_j2"] + o["E_j3"], sqrt_s, rtol=1e-12)
    assert np.all(o["E_j1"] >= o["E_j2"]) and np.all(o["E_j2"] >= o["E_j3"])
    # massless 3-body: s12 + s13 + s23 = s, so the pair masses squared sum to s
    assert np.all(o["m_min"] ** 2 > 0.01 * sqrt_s**2 * (1 - 1e-12))  # the y_cut
    assert np.all(o["m_max"] ** 2 < sqrt_s**2 - 2 * 0.01 * sqrt_s**2 + 1e-6)
    for k in ("cos_theta_j1", "cos_j1j2"):
        assert np.all(np.abs(o[k]) <= 1 + 1e-12)


def test_thrust_maximises_over_directions() -> None:
    mom, _ = EEPhaseSpace(5, 1000.0, 0.001).generate(300, np.random.default_rng(4))
    final = mom[:, 2:]
    t, axis = thrust(final)
    p3 = final[..., 1:]
    norm = np.linalg.norm(p3, axis=-1).sum(axis=1)
    at_axis = np.abs(np.einsum("eik,ek->ei", p3, axis)).sum(axis=1) / norm
    np.testing.assert_allclose(at_axis, t, rtol=1e-12)
    dirs = np.random.default_rng(5).normal(size=(4000, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    sampled = np.abs(np.einsum("eik,dk->edi", p3, dirs)).sum(axis=2).max(axis=1) / norm
    assert np.all(t >= sampled - 1e-12)
    assert np.all(t - sampled < 0.03)  # the sampled maximum comes close: t is not overestimated
    assert np.all((t >= 0.5) & (t <= 1.0))


def test_symmetric_configurations() -> None:
    e = 500.0
    back_to_back = np.array([[[e, 0, 0, e], [e, 0, 0, -e], [e, e, 0, 0], [e, -e, 0, 0]]])
    assert ee_observables(back_to_back)["thrust"][0] == pytest.approx(1.0)
    c, s = math.cos(2 * math.pi / 3), math.sin(2 * math.pi / 3)
    q = 1000.0 / 3
    mercedes = np.array(
        [[[e, 0, 0, e], [e, 0, 0, -e], [q, 0, q, 0], [q, 0, q * c, q * s], [q, 0, q * c, -q * s]]]
    )
    o = ee_observables(mercedes)
    assert o["thrust"][0] == pytest.approx(2 / 3)
    assert o["m_min"][0] == pytest.approx(o["m_max"][0]) == pytest.approx(1000.0 / math.sqrt(3))


def test_pp_observables_analytic() -> None:
    m, pt, y = 91.1876, 30.0, 0.7
    mt = math.hypot(m, pt)
    z = np.array([mt * math.cosh(y), pt, 0.0, mt * math.sinh(y)])
    # decay products: in the Z frame back to back along y; boost by construction via two lab vectors
    k = m / 2
    l1r, l2r = np.array([k, 0, k, 0]), np.array([k, 0, -k, 0])
    beta = z[1:] / z[0]
    g = z[0] / m

    def boost(p: np.ndarray) -> np.ndarray:
        bp = beta @ p[1:]
        e = g * (p[0] + bp)
        vec = p[1:] + ((g - 1) * bp / (beta @ beta) + g * p[0]) * beta
        return np.r_[e, vec]

    jet = np.array([pt, -pt, 0.0, 0.0])
    beams = [np.array([100.0, 0, 0, 100.0]), np.array([100.0, 0, 0, -100.0])]
    mom = np.array([[*beams, boost(l1r), boost(l2r), jet]])
    pdg = [2, -2, 11, -11, 21]
    o = pp_observables(mom, pdg)
    assert o["m_ll"][0] == pytest.approx(m, rel=1e-12)
    assert o["pt_ll"][0] == pytest.approx(pt, rel=1e-12)
    assert o["y_ll"][0] == pytest.approx(y, rel=1e-12)
    assert o["pt_j1"][0] == pytest.approx(pt) and o["y_j1"][0] == pytest.approx(0.0, abs=1e-12)
    assert set(observables(mom, pdg)) == set(o)


def test_top_pair_observables_analytic() -> None:
    """g g -> t tbar g with the tops back to back along x in the pair frame, the pair boosted along z.

    By construction the pair has mass M, transverse momentum 0 and rapidity Y, and each top has the pair
    frame's momentum k as its pT and Y as its rapidity.  (Momentum conservation plays no part here.)
    """
    mt, m_pair, y_pair = 172.5, 500.0, 0.4
    k = math.sqrt((m_pair / 2) ** 2 - mt**2)
    e = m_pair / 2
    # pair at rest transversely, tops along +-x in the pair frame, pair boosted along z by rapidity y_pair
    ch, sh = math.cosh(y_pair), math.sinh(y_pair)
    top = np.array([e * ch, k, 0.0, e * sh])
    antitop = np.array([e * ch, -k, 0.0, e * sh])
    gluon = np.array([50.0, 0.0, 30.0, 40.0])
    beams = [np.array([400.0, 0, 0, 400.0]), np.array([400.0, 0, 0, -400.0])]
    mom = np.array([[*beams, top, antitop, gluon]])
    pdg = [21, 21, 6, -6, 21]
    o = pp_observables(mom, pdg)
    assert o["m_tt"][0] == pytest.approx(m_pair, rel=1e-12)
    assert o["pt_tt"][0] == pytest.approx(0.0, abs=1e-9)
    assert o["pt_t"][0] == pytest.approx(k, rel=1e-12) and o["pt_tbar"][0] == pytest.approx(k, rel=1e-12)
    # a top at rest longitudinally in the pair frame has the pair's rapidity
    assert o["y_t"][0] == pytest.approx(y_pair, rel=1e-12)
    assert o["y_tbar"][0] == pytest.approx(y_pair, rel=1e-12)
    # the tops are not jets: the only light parton is the gluon (pT 30 GeV)
    assert o["pt_j1"][0] == pytest.approx(30.0, rel=1e-12) and "pt_j2" not in o
    # swapping the top and antitop columns swaps their observables, not the pair's
    swapped = pp_observables(mom[:, [0, 1, 3, 2, 4]], [21, 21, -6, 6, 21])
    assert swapped["m_tt"][0] == pytest.approx(m_pair, rel=1e-12)
    assert set(swapped) == set(o)


def test_lepton_pair_observables_unchanged_by_tops() -> None:
    """Z + jets keeps its observable set: no top keys appear without tops."""
    rng = np.random.default_rng(3)
    mom = rng.normal(size=(4, 7, 4))
    mom[..., 0] = np.abs(mom[..., 0]) + 10.0
    o = pp_observables(mom, [21, 2, 11, -11, 21, 21, 2])
    assert set(o) == {"m_ll", "pt_ll", "y_ll", "pt_l1", "y_l1", "pt_j1", "y_j1", "pt_j2", "m_jj"}
