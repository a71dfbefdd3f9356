"""Gauge, Lorentz and permutation invariance of the built-in MEs; photon decoupling; process support."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fame_surrogate.me import EWParams, UnsupportedProcessError, matrix_element, supports
from fame_surrogate.me.berends_giele import GluonCurrents, quark_line
from fame_surrogate.me.ee_jets import _Kin, classify
from fame_surrogate.phasespace import EEPhaseSpace

PROCESSES = {
    "qq": [11, -11, 1, -1],
    "qqg": [11, -11, 21, 1, -1],
    "qqgg": [11, -11, 21, 21, 1, -1],
    "qqggg": [11, -11, 21, 21, 21, 2, -2],
    "dddd": [11, -11, 1, 1, -1, -1],
    "dduu": [11, -11, 1, 2, -1, -2],
    "ddddg": [11, -11, 21, 1, 1, -1, -1],
    "dduug": [11, -11, 21, 1, 2, -1, -2],
}


def points(pdg: list[int], n: int = 30, seed: int = 5) -> np.ndarray:
    mom, _ = EEPhaseSpace(n_out=len(pdg) - 2, y_cut=0.01).generate(n, np.random.default_rng(seed))
    return mom


def lorentz(rng: np.random.Generator) -> np.ndarray:
    """A random rotation followed by a boost (|beta| = 0.6), acting on (E, px, py, pz)."""
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rot = np.eye(4)
    rot[1:, 1:] = q * np.sign(np.linalg.det(q))
    beta = 0.6 * rng.normal(size=3)
    beta *= 0.6 / np.linalg.norm(beta)
    gamma = 1.0 / np.sqrt(1.0 - beta @ beta)
    boost = np.eye(4)
    boost[0, 0] = gamma
    boost[0, 1:] = boost[1:, 0] = gamma * beta
    boost[1:, 1:] += (gamma - 1.0) * np.outer(beta, beta) / (beta @ beta)
    return boost @ rot


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_lorentz_invariance(name: str) -> None:
    pdg = PROCESSES[name]
    mom = points(pdg)
    lam = lorentz(np.random.default_rng(1))
    moved = np.einsum("mn,ekn->ekm", lam, mom)
    np.testing.assert_allclose(matrix_element(moved, pdg), matrix_element(mom, pdg), rtol=1e-10)


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_final_state_permutations(name: str) -> None:
    """Any relabelling of the final state (identical particles swapped, or pdg reordered with momenta)."""
    pdg = PROCESSES[name]
    mom = points(pdg, seed=9)
    ref = matrix_element(mom, pdg)
    n = len(pdg)
    for perm in list(itertools.permutations(range(2, n)))[1::5][:6]:
        order = [0, 1, *perm]
        np.testing.assert_allclose(matrix_element(mom[:, order], [pdg[i] for i in order]), ref, rtol=1e-11)
    # beams in the other order
    np.testing.assert_allclose(
        matrix_element(mom[:, [1, 0, *range(2, n)]], [pdg[1], pdg[0], *pdg[2:]]), ref, rtol=1e-11
    )


def test_identical_quark_swap_changes_nothing_but_distinct_does() -> None:
    """Swapping the two d momenta leaves d d db db invariant; swapping d and u momenta changes d u db ub."""
    mom = points(PROCESSES["dddd"], seed=3)
    swapped = mom[:, [0, 1, 3, 2, 4, 5]]
    np.testing.assert_allclose(
        matrix_element(swapped, PROCESSES["dddd"]), matrix_element(mom, PROCESSES["dddd"]), rtol=1e-11
    )
    a = matrix_element(mom, PROCESSES["dduu"])
    b = matrix_element(swapped, PROCESSES["dduu"])
    assert np.max(np.abs(a / b - 1.0)) > 1e-3


def _partial_amplitudes(mom: np.ndarray, n_g: int, gauge: int | None, multi: bool = True) -> list[np.ndarray]:
    """Colour-ordered amplitudes of e+e- -> q qbar + n g (gluon ``gauge`` gets eps = k)."""
    pdg = [11, -11] + [21] * n_g + [1, -1]
    kin = _Kin(mom, classify(pdg), n_g)
    eps = [kin.gluon_eps(2 + g, g).astype(complex) for g in range(n_g)]
    if gauge is not None:
        eps[gauge] = kin.particle(2 + gauge).astype(complex)
    cur = GluonCurrents(eps, [kin.particle(2 + g) for g in range(n_g)], multi=multi)
    boson = kin.boson(1, True, EWParams())
    ubar, vend = kin.ubar(2 + n_g, True), kin.spinor_end(3 + n_g, True, quark=False)
    return [
        quark_line(ubar, vend, kin.particle(2 + n_g), o, cur, boson)
        for o in itertools.permutations(range(n_g))
    ]


@pytest.mark.parametrize("n_g", [1, 2, 3])
def test_ward_identity(n_g: int) -> None:
    """eps_i -> k_i makes every colour-ordered amplitude vanish (relative to the physical ones)."""
    mom = points([11, -11] + [21] * n_g + [1, -1], n=20, seed=n_g)
    scale = max(np.max(np.abs(a)) for a in _partial_amplitudes(mom, n_g, None))
    # a gauge-vector amplitude is k/E times smaller than a physical one; compare at that scale
    energy = mom[:, 2 : 2 + n_g, 0].max()
    for g in range(n_g):
        for amp in _partial_amplitudes(mom, n_g, g):
            assert np.max(np.abs(amp)) < 1e-11 * scale * energy


@pytest.mark.parametrize("n_g", [2, 3])
def test_photon_decoupling(n_g: int) -> None:
    """sum over orderings = the abelian amplitude (3- and 4-gluon vertices switched off)."""
    mom = points([11, -11] + [21] * n_g + [1, -1], n=20, seed=10 + n_g)
    full = sum(_partial_amplitudes(mom, n_g, None))
    abelian = sum(_partial_amplitudes(mom, n_g, None, multi=False))
    np.testing.assert_allclose(full, abelian, rtol=1e-11, atol=1e-13 * np.max(np.abs(abelian)))


@pytest.mark.parametrize(
    "pdg",
    [
        [11, -11, 13, -13],
        [11, -11, 21, 21, 21, 21, 1, -1],
        [11, -11, 21, 21, 1, 1, -1, -1],
        [11, -11, 1, -2],
        [2, -2, 21, 1, -1],
        [11, -11, 6, -6],
        [11, -11, 21, 21],
    ],
)
def test_unsupported_processes_refused(pdg: list[int]) -> None:
    assert not supports(pdg)
    with pytest.raises(UnsupportedProcessError, match=r"pdg \["):
        matrix_element(np.zeros((1, len(pdg), 4)), pdg)


def test_shape_mismatch_refused() -> None:
    with pytest.raises(ValueError, match=r"shape \(N, 5, 4\)"):
        matrix_element(np.zeros((3, 4, 4)), [11, -11, 21, 1, -1])


def test_bad_kinematics_refused() -> None:
    pdg = PROCESSES["qqg"]
    mom = points(pdg, n=5)
    massive = mom.copy()
    massive[3, 3, 0] += 1.0  # the d quark of event 3 gets a mass
    with pytest.raises(ValueError, match=r"particle 3 \(pdg 1\) of event 3"):
        matrix_element(massive, pdg)
    shifted = mom.copy()
    shifted[2, 0, 1:] = [0.0, 0.6, 499.99964]  # e- tilted: still massless (to 1e-9), px not conserved
    with pytest.raises(ValueError, match="momentum not conserved in event 2"):
        matrix_element(shifted, pdg)
    soft = mom.copy()
    soft[1, 2] = [0.0, 0.0, 0.0, 0.0]  # a zero-momentum gluon, q and qbar back to back: singular
    soft[1, 3] = [500.0, 300.0, 0.0, 400.0]
    soft[1, 4] = [500.0, -300.0, 0.0, -400.0]
    with pytest.raises(ValueError, match="not finite at event 1"):
        matrix_element(soft, pdg)


def test_chunking_matches_single_call() -> None:
    from fame_surrogate.me import ee_jets

    pdg = PROCESSES["qqgg"]
    mom = points(pdg, n=50, seed=2)
    whole = matrix_element(mom, pdg)
    old = ee_jets.CHUNK
    try:
        ee_jets.CHUNK = 7
        np.testing.assert_allclose(matrix_element(mom, pdg), whole, rtol=1e-15)
    finally:
        ee_jets.CHUNK = old


def test_mixed_energies_in_one_batch() -> None:
    """Events at different sqrt(s) in one call (per-event Z propagator) equal separate calls."""
    pdg = PROCESSES["dduug"]
    low, _ = EEPhaseSpace(n_out=5, sqrt_s=91.0, y_cut=0.01).generate(7, np.random.default_rng(1))
    high = points(pdg, n=7)
    both = matrix_element(np.concatenate([low, high]), pdg)
    np.testing.assert_allclose(both[:7], matrix_element(low, pdg), rtol=1e-13)
    np.testing.assert_allclose(both[7:], matrix_element(high, pdg), rtol=1e-13)
    assert np.median(both[:7]) > 1e3 * np.median(both[7:])  # the Z pole and the lower energy
