"""The BG MEs against closed forms and in-house regression values (reference/physics.md §1.6-1.7)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from fame_surrogate.me import EWParams, matrix_element
from fame_surrogate.me.analytic import ee_qq, ee_qqg_photon, mhv_partial_squared, three_jet_rate_photon
from fame_surrogate.me.berends_giele import GluonCurrents, quark_line
from fame_surrogate.me.ee_jets import _Kin, classify
from fame_surrogate.me.wavefunctions import linear_polarisations
from fame_surrogate.phasespace import EEPhaseSpace, rambo
from lhe_tools.fourvec import mdot

PHOTON = EWParams(z_exchange=False)
#: e = g_s = 1 and photon only: the "stripped" convention of physics.md §1.7
STRIPPED = EWParams(alpha=1.0 / (4.0 * math.pi), alpha_s=1.0 / (4.0 * math.pi), z_exchange=False)


def random_beams_points(n_out: int, n: int, seed: int) -> np.ndarray:
    """RAMBO final states with the e+e- beams along a random axis (back to back in the CM frame)."""
    rng = np.random.default_rng(seed)
    final = rambo(n_out, 1000.0, n, rng)
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    em = np.concatenate([np.full((n, 1), 500.0), 500.0 * axis], axis=1)
    ep = np.concatenate([np.full((n, 1), 500.0), -500.0 * axis], axis=1)
    return np.concatenate([em[:, None], ep[:, None], final], axis=1)


@pytest.mark.parametrize("flavour", [1, 2])
@pytest.mark.parametrize("params", [PHOTON, EWParams()], ids=["photon", "gamma-Z"])
def test_two_jets_closed_form(flavour: int, params: EWParams) -> None:
    mom = random_beams_points(2, 200, seed=flavour)
    pdg = [11, -11, flavour, -flavour]
    np.testing.assert_allclose(matrix_element(mom, pdg, params), ee_qq(mom, flavour, params), rtol=1e-12)


def test_two_jets_photon_textbook() -> None:
    """Photon only: 8 N e^4 Q^2 (t^2 + u^2)/s^2 / 4 = N e^4 Q^2 (1 + cos^2 theta)."""
    mom = random_beams_points(2, 100, seed=7)
    e4 = PHOTON.e2**2
    cos = (mom[:, 0, 1:] * mom[:, 2, 1:]).sum(axis=1) / 500.0**2
    expect = 3.0 * e4 * (1.0 / 9.0) * (1.0 + cos**2)
    np.testing.assert_allclose(matrix_element(mom, [11, -11, 1, -1], PHOTON), expect, rtol=1e-12)


def test_three_jets_pointwise() -> None:
    mom = random_beams_points(3, 300, seed=3)
    pdg = [11, -11, 1, -1, 21]  # any final-state order is accepted
    np.testing.assert_allclose(matrix_element(mom, pdg, PHOTON), ee_qqg_photon(mom, 1, PHOTON), rtol=1e-11)


def test_three_jet_rate_monte_carlo() -> None:
    """sigma_3jet / sigma_0 (s_ij > 0.01 s): RAMBO + weight + flux + ME vs the O(alpha_s) integral."""
    space = EEPhaseSpace(n_out=3, y_cut=0.01)
    mom, n_gen = space.generate(25_000, np.random.default_rng(11))
    me2 = matrix_element(mom, [11, -11, 21, 1, -1], PHOTON)
    s = 1000.0**2
    w = me2 * space.weight / (2.0 * s)
    sigma = w.sum() / n_gen
    err = math.sqrt((w**2).sum() / n_gen - sigma**2) / math.sqrt(n_gen)
    sigma0 = 4.0 * math.pi * PHOTON.alpha_qed**2 * 3.0 * (1.0 / 9.0) / (3.0 * s)
    expect = PHOTON.alpha_s * three_jet_rate_photon(0.01)
    assert abs(expect - 0.69964) < 2e-4
    assert abs(sigma / sigma0 - expect) < 4.0 * err / sigma0, (sigma / sigma0, expect, err / sigma0)


# physics.md §1.7: e- = (500,0,0,500), e+ = (500,0,0,-500)
REG_N1 = [
    [134.78104250917224, -104.43404506374024, 14.550510458204014, 83.9508326158214],
    [443.5884492215439, -62.335121791032435, 270.73485050754806, -345.81452484637913],
    [421.6305082692842, 166.76916685477272, -285.2853609657521, 261.8636922305577],
]
REG_N2 = [
    [43.828032340939636, 27.134223996536516, -23.75547486343551, 24.90597761576359],
    [379.11976404189426, 119.04554891979811, -34.76000063792326, -358.2620481229029],
    [454.07764441362235, -255.0010712495526, 109.53237978297834, 359.3934036635649],
    [122.97455920354369, 108.82129833321801, -51.01690428161971, -26.03733315642555],
]
REG_N3 = [
    [47.73413631242131, 28.838869444277908, -16.293775972404532, -34.37121242013154],
    [369.43119338968876, 86.87408095198286, 101.88819177288288, -344.31249917092816],
    [28.431583436868785, 12.647902311778122, 25.40918948553566, 1.6609014201612033],
    [388.33105115962263, 18.519541767958582, -180.73657809811013, 343.20885944979335],
    [166.07203570139836, -146.88039447599746, 69.73297281209632, 33.81395072110503],
]
REG_4Q = [
    [246.76737439080844, -179.44092909749673, 142.7632843839674, 91.17968337443935],
    [420.40135693848936, 420.20104412806194, 9.730964407645537, 8.584390549535968],
    [182.36777677076756, -175.2969498172336, -31.18236437712552, -39.4543475543439],
    [150.46349189993478, -65.46316521333154, -121.31188441448754, -60.30972636963147],
]
BEAMS = [[500.0, 0.0, 0.0, 500.0], [500.0, 0.0, 0.0, -500.0]]


@pytest.mark.parametrize(
    ("final", "n_g", "stripped", "physical"),
    [
        (REG_N1, 1, 5.305312595640323e-04, 1.8375989578604828e-7),
        (REG_N2, 2, 7.466079856728619e-07, 3.834637012738846e-10),
        (REG_N3, 3, 2.2557347162765312e-09, 1.717953971934404e-12),
    ],
)
def test_regression_values(final: list[list[float]], n_g: int, stripped: float, physical: float) -> None:
    """Sum over all spins and colours, no 1/n_g! (physics.md §1.7); quark rows q, qbar, then gluons."""
    mom = np.array([[*BEAMS, *final]])
    pdg = [11, -11, 1, -1] + [21] * n_g
    sym = math.factorial(n_g)
    val = matrix_element(mom, pdg, STRIPPED)[0] * 4.0 * sym / (1.0 / 9.0)
    assert val == pytest.approx(stripped, rel=1e-10)
    phys = EWParams(alpha=1.0 / 137.035999084, z_exchange=False)
    assert matrix_element(mom, pdg, phys)[0] * sym == pytest.approx(physical, rel=1e-10)


def test_regression_four_quarks() -> None:
    mom = np.array([[*BEAMS, *REG_4Q]])
    dduu = matrix_element(mom, [11, -11, 1, -1, 2, -2], STRIPPED)[0] * 4.0
    assert dduu == pytest.approx(4.0943686588716793e-10, rel=1e-10)
    dddd = matrix_element(mom, [11, -11, 1, -1, 1, -1], STRIPPED)[0] * 4.0 * 4.0  # undo 1/(2! 2!)
    assert dddd == pytest.approx(8.609857718982615e-10, rel=1e-10)
    phys = EWParams(alpha=1.0 / 137.035999084, z_exchange=False)
    val = matrix_element(mom, [11, -11, 1, -1, 2, -2], phys)[0]
    assert val == pytest.approx(1.892609791745246e-12, rel=1e-10)


def _circular(eps: np.ndarray, sign: float) -> np.ndarray:
    """(-eps1 - i sign eps2)/sqrt(2) from the (4, 2, ...) linear polarisations."""
    return (-eps[:, 0] - 1j * sign * eps[:, 1]) / math.sqrt(2.0)


@pytest.mark.parametrize("n_g", [1, 2, 3])
def test_mhv_partial_amplitudes(n_g: int) -> None:
    """Colour-ordered amplitudes with all gluons of one helicity: |A|^2 = 2^(n+2) s_ql^2/(s_q1 ... s_ll)."""
    mom = random_beams_points(2 + n_g, 40, seed=20 + n_g)
    pdg = [11, -11] + [21] * n_g + [1, -1]
    proc = classify(pdg)
    kin = _Kin(mom, proc, 0)  # helicity layout: (4, lepton, N)
    iq, iqb = 2 + n_g, 3 + n_g
    s = 2.0 * mdot(mom[:, 0], mom[:, 1])
    found: list[tuple[bool, int]] = []
    for left, lep, sign in itertools.product((True, False), (0, 1), (1.0, -1.0)):
        eps = []
        for g in range(n_g):
            lin = np.moveaxis(mom[:, 2 + g], -1, 0)
            eps.append(_circular(linear_polarisations(lin), sign)[:, None, :])
        cur = GluonCurrents(eps, [kin.particle(2 + g) for g in range(n_g)])
        boson = (kin.lepton / s, -kin.q_in)
        ubar = kin.ubar(iq, left)
        vend = kin.spinor_end(iqb, left, quark=False)
        for order in itertools.permutations(range(n_g)):
            amp = quark_line(ubar, vend, kin.particle(iq), order, cur, boson)[lep]
            glu = [mom[:, 2 + g] for g in order]
            for ell, lbar in ((0, 1), (1, 0)):
                expect = mhv_partial_squared(mom[:, iq], glu, mom[:, iqb], mom[:, ell], mom[:, lbar])
                if np.allclose(np.abs(amp) ** 2, expect, rtol=1e-10, atol=0.0):
                    found.append((left, lep))
    # for each quark and lepton chirality exactly one gluon helicity (with l = e- or e+) is MHV, for every
    # ordering of the gluons
    for combo in itertools.product((True, False), (0, 1)):
        assert found.count(combo) == math.factorial(n_g), (combo, found)
