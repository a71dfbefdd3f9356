"""DipoleBasis against independent truths: exact |M|² in soft/collinear limits, symmetry, counts, ONNX parity.

Limit points are built from Born points with the inverse CS maps and every dipole's Born is evaluated at its
own mapped momenta (tests/fame_surrogate/cs_kinematics.py, plain numpy).  Per physics.md §2.7 only the dipoles
of the pair that becomes unresolved are summed.  Colour insertions −T_k·T_ij/T_ij² are 1 for every 2-parton
Born here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from cs_kinematics import (
    C_F,
    F8,
    boost_z,
    dot,
    ff_forward,
    ff_inverse,
    fi_forward,
    fi_inverse,
    if_forward,
    if_inverse,
    ii_forward,
    ii_inverse,
    light,
    me_llqq,
    me_llqqg,
    transverse_basis,
)

from fame_surrogate.dipoles import DipoleBasis, enumerate_dipoles, invariant_pairs
from fame_surrogate.features import FeatureMap
from fame_surrogate.phasespace import EEPhaseSpace

ALPHA_S = 0.118


def _columns(basis: DipoleBasis, momenta: list[F8]) -> dict[str, float]:
    out = basis(torch.from_numpy(np.array([momenta])))[0].numpy()
    return dict(zip(basis.names, out.tolist(), strict=True))


# --------------------------------------------------------------------------------------------------------
# enumeration


@pytest.mark.parametrize(
    ("pdg", "n_dip", "n_phi", "families"),
    [
        ([11, -11, 21, 1, -1], 2, 0, {"FF": 2}),
        ([11, -11, 21, 21, 1, -1], 10, 1, {"FF": 10}),
        ([11, -11, 21, 21, 21, 1, -1], 27, 3, {"FF": 27}),
        ([11, -11, 1, -1, 2, -2], 4, 2, {"FF": 4}),  # g→uū (Born dd̄g) and g→dd̄ (Born uūg), 2 spectators each
        ([2, -2, 11, -11, 21], 2, 0, {"II": 2}),
        ([2, 21, 11, -11, 2], 1, 0, {"II": 1}),  # g→q only: q_a→g+q_i would need the Born g g → ℓℓ
        ([2, -2, 11, -11, 21, 21], 10, 1, {"FI": 2, "IF": 4, "II": 4}),
        ([21, 21, 11, -11, 2, -2], 8, 0, {"IF": 4, "II": 4}),  # no uū→g: Born g g → ℓℓ g does not exist
    ],
)
def test_dipole_counts(pdg: list[int], n_dip: int, n_phi: int, families: dict[str, int]) -> None:
    basis = DipoleBasis(pdg)
    assert basis.n_dipoles == n_dip
    assert basis.n_phi == n_phi
    assert dict(Counter(d.family for d in basis.dipoles)) == families
    assert len(basis.names) == len(set(basis.names)) == n_dip + 2 * n_phi
    # the emitted parton of every FF/FI q–g dipole is the gluon; {i,j} appears once per spectator
    for d in basis.dipoles:
        if d.family in ("FF", "FI") and d.kind == "qg":
            assert pdg[d.j] == 21 and pdg[d.i] != 21


def test_no_dipole_raises() -> None:
    with pytest.raises(ValueError, match="no QCD dipole"):
        DipoleBasis([11, -11, 1, -1])


def test_dipoles_positive_and_gg_symmetric() -> None:
    """D_k > 0 on physical points; swapping the two gluons' momenta permutes the columns as the names say."""
    pdg = [11, -11, 21, 21, 1, -1]
    basis = DipoleBasis(pdg)
    mom, _ = EEPhaseSpace(4).generate(200, np.random.default_rng(3))
    out = basis(torch.from_numpy(mom)).numpy()
    assert np.all(out[:, : basis.n_dipoles] > 0)
    swapped = basis(torch.from_numpy(mom[:, [0, 1, 3, 2, 4, 5]])).numpy()
    relabel = {2: 3, 3: 2}
    for col, d in enumerate(basis.dipoles):
        i, j, k = (relabel.get(v, v) for v in (d.i, d.j, d.k))
        if d.kind == "gg":
            i, j = min(i, j), max(i, j)
        partner = basis.names.index(f"{d.family}_{d.kind}({i},{j};{k})")
        np.testing.assert_allclose(swapped[:, partner], out[:, col], rtol=1e-12)
    # φ terms of the gluon pair: cos2φ, sin2φ symmetric under i↔j (φ → φ + π)
    np.testing.assert_allclose(
        swapped[:, basis.n_dipoles :], out[:, basis.n_dipoles :], rtol=1e-9, atol=1e-18
    )
    # {i,j} unordered: one g g dipole per spectator
    enum, _ = enumerate_dipoles(pdg)
    assert sorted(d.name for d in enum if d.kind == "gg") == ["FF_gg(2,3;4)", "FF_gg(2,3;5)"]


def test_pp_dipoles_finite_and_ii_positive() -> None:
    """On random partonic pp points every column is finite, every II dipole is positive and every FI/IF recoil
    x lies in (0, 1] (no spurious pole); FI/IF kernels may dip below zero far from their limits."""
    from test_features import PP_PDG, pp_events

    from fame_surrogate._ops import minkowski_gram
    from fame_surrogate.cs_kernels import fi_recoil, if_recoil

    basis = DipoleBasis(PP_PDG)
    mom = torch.from_numpy(pp_events(5000, 9))
    out = basis(mom).numpy()
    assert np.all(np.isfinite(out))
    gram = minkowski_gram(mom).numpy()
    for col, d in enumerate(basis.dipoles):
        if d.family == "II":
            assert np.all(out[:, col] > 0), d.name
        elif d.family in ("FI", "IF"):
            recoil = fi_recoil if d.family == "FI" else if_recoil
            args = [torch.from_numpy(gram[:, a, b]) for a, b in invariant_pairs(d)]
            x = recoil(*args)[0].numpy()
            assert np.all((x > 0) & (x <= 1 + 1e-12)), d.name


def _rotate_z(mom: F8, angle: float) -> F8:
    out = mom.copy()
    c, s = math.cos(angle), math.sin(angle)
    out[..., 1] = c * mom[..., 1] - s * mom[..., 2]
    out[..., 2] = s * mom[..., 1] + c * mom[..., 2]
    return out


def test_pp_azimuth_columns_ignore_boosts_and_rotations_about_the_beam() -> None:
    """φ is taken in the canonical partonic frame: the cos/sin 2φ columns (and all dipoles) of pp events are
    the same after boosts along z with β = +0.5 and −0.8, rotations about z and mirrors p_y → −p_y, while the
    lab-frame azimuth of a pair does move."""
    from test_features import PP_PDG, pp_events

    from fame_surrogate._ops import cos_sin_2phi

    basis = DipoleBasis(PP_PDG)
    assert basis.n_phi > 0
    mom = pp_events(200, 11)
    ref = basis(torch.from_numpy(mom)).numpy()
    pair = basis.phi_pairs[0]
    rest = torch.stack(cos_sin_2phi(torch.from_numpy(mom[:, pair.i]), torch.from_numpy(mom[:, pair.j])))
    for beta, angle, mirror in ((0.5, 0.0, 1), (-0.8, 0.0, 1), (0.0, 1.1, 1), (0.3, -2.5, 1), (0.0, 0.0, -1),
                                (-0.4, 0.7, -1)):
        moved = _rotate_z(np.stack([[boost_z(p, math.atanh(beta)) for p in ev] for ev in mom]), angle)
        moved[..., 2] *= mirror
        got = basis(torch.from_numpy(moved)).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-12 * np.abs(ref).max())
        # the naive lab-frame azimuth is not invariant (what the canonical frame fixes)
        p_i, p_j = torch.from_numpy(moved[:, pair.i]), torch.from_numpy(moved[:, pair.j])
        lab = torch.stack(cos_sin_2phi(p_i, p_j))
        assert float((lab - rest).abs().max()) > 0.1


def _pp_born3(seed: int) -> list[F8]:
    """A 2 → 3 point (beams, then three massless final momenta), √ŝ = 300 GeV, boosted by rapidity 0.3."""
    from fame_surrogate.phasespace import rambo

    final = rambo(3, 300.0, 1, np.random.default_rng(seed))[0]
    beams = [light(150.0, 0.0, 0.0), light(150.0, math.pi, 0.0)]
    return [boost_z(p, 0.3) for p in (*beams, *final)]


@pytest.mark.parametrize(
    ("pdg", "name", "colour", "bracket"),
    [
        ([2, -2, 11, -11, 21, 21], "II_qg(0,4;1)", 8 * 4 / 3, lambda x: (1 + x * x) / (1 - x)),
        ([2, -2, 11, -11, 2, -2], "II_qq(0,4;1)", 8 * 4 / 3, lambda x: x + 2 * (1 - x) / x),
        ([21, 21, 11, -11, 2, -2], "II_gq(0,4;1)", 8 * 0.5, lambda x: 1 - 2 * x * (1 - x)),
        ([21, 2, 11, -11, 21, 2], "II_gg(0,4;1)", 16 * 3, lambda x: x / (1 - x) + (1 - x) / x + x * (1 - x)),
    ],
)
def test_ii_kernels_follow_catani_seymour(pdg: list[int], name: str, colour: float, bracket: object) -> None:
    """II kernels at a point built with x = 0.37: CS §5.5 (q→qg ∝ (1+x²)/(1−x), q→g+q ∝ x + 2(1−x)/x, …),
    not the swapped forms of the public FAME code (physics.md §2.5 warning)."""
    pa_t, pb, l1, l2, k = _pp_born3(52)
    x = 0.37
    rng = np.random.default_rng(53)
    pa, pi, others = ii_inverse(pa_t, pb, [l1, l2, k], x, 0.2, 0.4, transverse_basis(pa_t, pb, rng))
    dip = _columns(DipoleBasis(pdg, alpha_s=ALPHA_S), [pa, pb, others[0], others[1], pi, others[2]])
    assert callable(bracket)
    expect = colour * math.pi * ALPHA_S * bracket(x) / (2 * dot(pa, pi) * x)
    assert dip[name] == pytest.approx(expect, rel=1e-10)


@pytest.mark.parametrize(
    ("pdg", "name", "colour", "bracket"),
    [
        ([2, -2, 11, -11, 21, 21], "IF_qg(0,4;5)", 8 * 4 / 3, lambda x, u: 2 / (1 - x + u) - (1 + x)),
        ([2, -2, 11, -11, 2, -2], "IF_qq(0,4;5)", 8 * 4 / 3, lambda x, u: x + 2 * (1 - x) / x),
        ([21, 21, 11, -11, 2, -2], "IF_gq(0,4;5)", 8 * 0.5, lambda x, u: 1 - 2 * x * (1 - x)),
        (
            [21, 2, 11, -11, 21, 2],
            "IF_gg(0,4;5)",
            16 * 3,
            lambda x, u: 1 / (1 - x + u) - 1 + (1 - x) / x + x * (1 - x),
        ),
        (
            [2, -2, 11, -11, 21, 21],
            "FI_gg(4,5;0)",
            16 * 3,
            lambda x, z: 1 / (1 - z + 1 - x) + 1 / (z + 1 - x) - 2 + z * (1 - z),
        ),
        ([2, -2, 11, -11, 1, -1], "FI_qqbar(4,5;0)", 8 * 0.5, lambda x, z: 1 - 2 * z * (1 - z)),
    ],
)
def test_if_fi_kernels_follow_catani_seymour(
    pdg: list[int], name: str, colour: float, bracket: object
) -> None:
    """IF (CS §5.3) and FI (§5.2) spin-averaged kernels at points built with x = 0.58 and u (or z) = 0.31,
    divided by 2 p_a·p_i x (IF) or 2 p_i·p_j x (FI)."""
    pa_t, pb, l1, l2, k = _pp_born3(54)
    x, w = 0.58, 0.31
    rng = np.random.default_rng(55)
    if name.startswith("IF"):
        pa, pi, pk = if_inverse(pa_t, k, x, w, 0.9, transverse_basis(pa_t, k, rng))
        real, sij = [pa, pb, l1, l2, pi, pk], 2 * dot(pa, pi)
    else:
        pi, pj, pa = fi_inverse(k, pa_t, x, w, 0.9, transverse_basis(k, pa_t, rng))
        real, sij = [pa, pb, l1, l2, pi, pj], 2 * dot(pi, pj)
    dip = _columns(DipoleBasis(pdg, alpha_s=ALPHA_S), real)
    assert callable(bracket)
    assert dip[name] == pytest.approx(colour * math.pi * ALPHA_S * bracket(x, w) / (sij * x), rel=1e-10)


# --------------------------------------------------------------------------------------------------------
# limits against exact |M|²


def _ee_born(rng: np.random.Generator) -> tuple[F8, F8, F8, F8]:
    pa, pb = light(500.0, 0.0, 0.0), light(500.0, math.pi, 0.0)
    theta, phi = math.acos(rng.uniform(-0.9, 0.9)), rng.uniform(0, 2 * math.pi)
    return pa, pb, light(500.0, theta, phi), light(500.0, math.pi - theta, phi + math.pi)


def _ratio_ee_collinear(y: float) -> float:
    """e+e- → q q̄ g with q ∥ g: Σ|M|² / (D_{qg,q̄} Σ|M_B|²(p̃))."""
    rng = np.random.default_rng(11)
    pa, pb, q_t, qb_t = _ee_born(rng)
    basis_t = transverse_basis(q_t, qb_t, rng)
    q, g, qb = ff_inverse(q_t, qb_t, y, 0.3, 0.7, basis_t)
    dip = _columns(DipoleBasis([11, -11, 21, 1, -1], alpha_s=ALPHA_S), [pa, pb, g, q, qb])
    q_m, qb_m = ff_forward(q, g, qb)
    born = me_llqq(pa, pb, q_m, qb_m)
    return me_llqqg(pa, pb, q, qb, g, ALPHA_S) / (dip["FF_qg(3,2;4)"] * born)


def test_ff_quark_gluon_collinear_limit() -> None:
    r6, r8 = _ratio_ee_collinear(1e-6), _ratio_ee_collinear(1e-8)
    assert abs(r8 - 1.0) < 1e-3
    assert abs(r8 - 1.0) < abs(r6 - 1.0)


def test_ff_soft_gluon_limit() -> None:
    """Soft gluon: both dipoles (spectator q̄ and q), each with the Born at its own mapped momenta."""
    rng = np.random.default_rng(12)
    pa, pb, q_t, qb_t = _ee_born(rng)
    basis_t = transverse_basis(q_t, qb_t, rng)
    basis = DipoleBasis([11, -11, 21, 1, -1], alpha_s=ALPHA_S)
    devs = []
    for lam in (1e-4, 1e-6):
        q, g, qb = ff_inverse(q_t, qb_t, 0.5 * lam, 1.0 - 0.8 * lam, 2.1, basis_t)
        dip = _columns(basis, [pa, pb, g, q, qb])
        approx = 0.0
        for name, (emitter, spectator) in {"FF_qg(3,2;4)": (q, qb), "FF_qg(4,2;3)": (qb, q)}.items():
            p_em, p_sp = ff_forward(emitter, g, spectator)
            born = me_llqq(pa, pb, p_em, p_sp)
            approx += dip[name] * born
        devs.append(abs(me_llqqg(pa, pb, q, qb, g, ALPHA_S) / approx - 1.0))
    assert devs[1] < 1e-4
    assert devs[1] < devs[0]


def _pp_born(rng: np.random.Generator) -> tuple[F8, F8, F8, F8]:
    """q(p_a) q̄(p_b) → ℓ⁻ ℓ⁺ in a boosted frame (√ŝ = 91 GeV, rapidity 0.4)."""
    theta, phi = math.acos(rng.uniform(-0.9, 0.9)), rng.uniform(0, 2 * math.pi)
    moms = [light(45.5, 0.0, 0.0), light(45.5, math.pi, 0.0), light(45.5, theta, phi)]
    moms.append(light(45.5, math.pi - theta, phi + math.pi))
    pa, pb, l1, l2 = (boost_z(p, 0.4) for p in moms)
    return pa, pb, l1, l2


@pytest.mark.parametrize("v", [1e-6])
def test_ii_quark_emits_gluon_collinear(v: float) -> None:
    """q q̄ → ℓℓ g with g ∥ p_a at x = 0.7: Σ|M|² / (D^{ag,b} Σ|M_B|²(p̃)) → 1 (CS V^{q_a g_i,b}, not P_gq)."""
    rng = np.random.default_rng(21)
    pa_t, pb, l1_t, l2_t = _pp_born(rng)
    pa, g, (l1, l2) = ii_inverse(pa_t, pb, [l1_t, l2_t], 0.7, v, 0.4, transverse_basis(pa_t, pb, rng))
    np.testing.assert_allclose(pa + pb, l1 + l2 + g, atol=1e-9)
    dip = _columns(DipoleBasis([1, -1, 11, -11, 21], alpha_s=ALPHA_S), [pa, pb, l1, l2, g])
    pa_m, (l1_m, l2_m) = ii_forward(pa, g, pb, [l1, l2])
    np.testing.assert_allclose(pa_m, pa_t, atol=1e-9)  # the forward map closes
    born = me_llqq(l1_m, l2_m, -pa_m, -pb)
    real = me_llqqg(l1, l2, -pa, -pb, g, ALPHA_S)
    assert real / (dip["II_qg(0,4;1)"] * born) == pytest.approx(1.0, abs=1e-3)


def test_ii_soft_gluon() -> None:
    rng = np.random.default_rng(22)
    pa_t, pb_t, l1_t, l2_t = _pp_born(rng)
    lam = 1e-6
    pa, g, (l1, l2) = ii_inverse(
        pa_t, pb_t, [l1_t, l2_t], 1.0 - lam, 0.3 * lam, 1.0, transverse_basis(pa_t, pb_t, rng)
    )
    pb = pb_t
    dip = _columns(DipoleBasis([1, -1, 11, -11, 21], alpha_s=ALPHA_S), [pa, pb, l1, l2, g])
    approx = 0.0
    for name, (p_em, p_sp) in {"II_qg(0,4;1)": (pa, pb), "II_qg(1,4;0)": (pb, pa)}.items():
        p_m, (l1_m, l2_m) = ii_forward(p_em, g, p_sp, [l1, l2])
        quark, antiquark = (p_m, p_sp) if name.startswith("II_qg(0") else (p_sp, p_m)
        approx += dip[name] * me_llqq(l1_m, l2_m, -quark, -antiquark)
    real = me_llqqg(l1, l2, -pa, -pb, g, ALPHA_S)
    assert real / approx == pytest.approx(1.0, abs=1e-4)


def test_ii_gluon_to_quark_collinear() -> None:
    """q(p_a) g(p_b) → ℓℓ q with the final q ∥ p_b: CS V^{g_a q̄_i} = 8πα_s T_R[1 − 2x(1−x)].

    Averaged over initial colours (1/(N(N²−1)) real, 1/N² Born) the dipole formula holds; with colour sums the
    ratio is (N²−1)/N.
    """
    rng = np.random.default_rng(23)
    pa, pb_t, l1_t, l2_t = _pp_born(rng)  # Born: q(p_a) q̄(p̃_b)
    pb, q_out, (l1, l2) = ii_inverse(pb_t, pa, [l1_t, l2_t], 0.6, 1e-7, 0.2, transverse_basis(pb_t, pa, rng))
    dip = _columns(DipoleBasis([1, 21, 11, -11, 1], alpha_s=ALPHA_S), [pa, pb, l1, l2, q_out])
    pb_m, (l1_m, l2_m) = ii_forward(pb, q_out, pa, [l1, l2])
    born_avg = me_llqq(l1_m, l2_m, -pa, -pb_m) / 9.0
    real_avg = -me_llqqg(l1, l2, q_out, -pa, -pb, ALPHA_S) / 24.0  # one crossed fermion: overall sign −1
    assert real_avg > 0
    assert real_avg / (dip["II_gq(1,4;0)"] * born_avg) == pytest.approx(1.0, abs=1e-3)


def _dis_born(rng: np.random.Generator) -> tuple[F8, F8, F8, F8]:
    """e⁻(p_e) q(p_in) → e⁻(p_e') q(p_1), boosted (√ŝ = 100 GeV, rapidity −0.3)."""
    theta, phi = math.acos(rng.uniform(-0.8, 0.8)), rng.uniform(0, 2 * math.pi)
    moms = [light(50.0, 0.0, 0.0), light(50.0, math.pi, 0.0), light(50.0, theta, phi)]
    moms.append(light(50.0, math.pi - theta, phi + math.pi))
    pe, pin, pe2, p1 = (boost_z(p, -0.3) for p in moms)
    return pe, pin, pe2, p1


def _dis_real(pe: F8, pin: F8, pe2: F8, p1: F8, g: F8) -> float:
    """e⁻ q → e⁻ q g: crossing of §1.6(b) (two crossed fermions: no sign change)."""
    return me_llqqg(pe, -pe2, p1, -pin, g, ALPHA_S)


def _dis_born_me(pe: F8, pin: F8, pe2: F8, p1: F8) -> float:
    return me_llqq(pe, -pe2, p1, -pin)


DIS_PDG = [11, 1, 11, 1, 21]  # e⁻ q → e⁻ q g: FI_qg(3,4;1) and IF_qg(1,4;3)


def _fi_collinear(pin_t: F8, p1_t: F8, lam: float, rng: np.random.Generator) -> tuple[F8, F8, F8, F8, F8]:
    """FI: the final quark p1 and the gluon collinear (1 − z ~ lam); (p_in, p1, g, Born quark in, out)."""
    p1, g, pin = fi_inverse(p1_t, pin_t, 1.0 - lam, 0.35, 0.9, transverse_basis(p1_t, pin_t, rng))
    pij, pa_m = fi_forward(p1, g, pin)
    return pin, p1, g, pa_m, pij


def _if_collinear(pin_t: F8, p1_t: F8, u: float, rng: np.random.Generator) -> tuple[F8, F8, F8, F8, F8]:
    """IF: the initial quark and the gluon collinear (u ~ lam); (p_in, p1, g, Born quark in, out)."""
    pin, g, p1 = if_inverse(pin_t, p1_t, 0.7, u, 2.5, transverse_basis(pin_t, p1_t, rng))
    pai, pk = if_forward(pin, g, p1)
    return pin, p1, g, pai, pk


@pytest.mark.parametrize(
    ("seed", "column", "emit"),
    [(31, "FI_qg(3,4;1)", _fi_collinear), (32, "IF_qg(1,4;3)", _if_collinear)],
    ids=["fi_final_quark_gluon", "if_initial_quark_gluon"],
)
def test_collinear_quark_gluon(
    seed: int, column: str, emit: Callable[[F8, F8, float, np.random.Generator], tuple[F8, F8, F8, F8, F8]]
) -> None:
    rng = np.random.default_rng(seed)
    pe, pin_t, pe2, p1_t = _dis_born(rng)
    devs = []
    for lam in (1e-5, 1e-7):
        pin, p1, g, born_in, born_out = emit(pin_t, p1_t, lam, rng)
        np.testing.assert_allclose(pe + pin, pe2 + p1 + g, atol=1e-9)
        dip = _columns(DipoleBasis(DIS_PDG, alpha_s=ALPHA_S), [pe, pin, pe2, p1, g])
        born = _dis_born_me(pe, born_in, pe2, born_out)
        devs.append(abs(_dis_real(pe, pin, pe2, p1, g) / (dip[column] * born) - 1.0))
    assert devs[1] < 1e-3
    assert devs[1] < devs[0]


def test_fi_if_soft_gluon() -> None:
    """Soft gluon in e⁻q → e⁻qg: FI (spectator p_in) + IF (spectator p_1), each with its own mapped Born."""
    rng = np.random.default_rng(33)
    pe, pin_t, pe2, p1_t = _dis_born(rng)
    lam = 1e-6
    p1, g, pin = fi_inverse(p1_t, pin_t, 1.0 - lam, 1.0 - 0.6 * lam, 0.3, transverse_basis(p1_t, pin_t, rng))
    assert g[0] < 1e-3
    dip = _columns(DipoleBasis(DIS_PDG, alpha_s=ALPHA_S), [pe, pin, pe2, p1, g])
    pij, pa_m = fi_forward(p1, g, pin)
    approx = dip["FI_qg(3,4;1)"] * _dis_born_me(pe, pa_m, pe2, pij)
    pai, pk = if_forward(pin, g, p1)
    approx += dip["IF_qg(1,4;3)"] * _dis_born_me(pe, pai, pe2, pk)
    assert _dis_real(pe, pin, pe2, p1, g) / approx == pytest.approx(1.0, abs=1e-4)


def test_recoil_variables_match_maps() -> None:
    """The x, z, u, y the inverse maps were built with are what the dipole code sees: D values agree with the
    closed-form kernels written out here (8πα_s C_F[2/(1−z(1−y)) − (1+z)]/s_ij etc.)."""
    rng = np.random.default_rng(41)
    pe, pin_t, pe2, p1_t = _dis_born(rng)
    x, u = 0.62, 0.27
    pin, g, p1 = if_inverse(pin_t, p1_t, x, u, 1.0, transverse_basis(pin_t, p1_t, rng))
    dip = _columns(DipoleBasis(DIS_PDG, alpha_s=ALPHA_S), [pe, pin, pe2, p1, g])
    expect = 8 * math.pi * ALPHA_S * C_F * (2 / (1 - x + u) - (1 + x)) / (2 * dot(pin, g) * x)
    assert dip["IF_qg(1,4;3)"] == pytest.approx(expect, rel=1e-12)
    x2, z = 0.81, 0.44
    p1, g, pin = fi_inverse(p1_t, pin_t, x2, z, 1.0, transverse_basis(p1_t, pin_t, rng))
    dip = _columns(DipoleBasis(DIS_PDG, alpha_s=ALPHA_S), [pe, pin, pe2, p1, g])
    expect = 8 * math.pi * ALPHA_S * C_F * (2 / (1 - z + 1 - x2) - (1 + z)) / (2 * dot(p1, g) * x2)
    assert dip["FI_qg(3,4;1)"] == pytest.approx(expect, rel=1e-12)


# --------------------------------------------------------------------------------------------------------
# four partons: built-in exact e+e- MEs (Sherpa normalisation: 1/∏ n_f! for identical final-state particles)

EE3 = [11, -11, 21, 1, -1]  # Born order: e-, e+, g, q, q̄
EE4 = [11, -11, 21, 21, 1, -1]


def _born3(seed: int) -> F8:
    mom, _ = EEPhaseSpace(3, y_cut=0.05).generate(1, np.random.default_rng(seed))
    return np.asarray(mom[0])


def _me(momenta: list[list[F8]], pdg: list[int]) -> F8:
    from fame_surrogate.me import matrix_element

    return np.asarray(matrix_element(np.array(momenta), pdg))


def _phi_fit(ratio: F8, cos2: F8, sin2: F8) -> tuple[F8, float]:
    """Least-squares ratio ≈ c0 + c1 cos2φ + c2 sin2φ; returns (coefficients, max |residual|)."""
    design = np.stack([np.ones_like(cos2), cos2, sin2], axis=1)
    coef, *_ = np.linalg.lstsq(design, ratio, rcond=None)
    return coef, float(np.max(np.abs(design @ coef - ratio)))


def test_ff_gluon_gluon_collinear_with_azimuth() -> None:
    """g ∥ g in e+e- → q q̄ g g (y = 1e-8, z = 0.3), Born q q̄ g with insertions −T_k·T_g/C_A = 1/2.

    The spin-averaged D_{gg,k} misses |M|² by a cos 2φ / sin 2φ modulation of a few per cent; averaged over
    eight equally spaced azimuths the ratio is 1, and the residual of a fit in the basis's own cos 2φ_ij,
    sin 2φ_ij columns (16πα_s C_A cos/sin 2φ / s_ij, rescaled by s_ij) vanishes: the φ columns measure the
    azimuth that the exact |M|² depends on.
    """
    born = _born3(5)
    rng = np.random.default_rng(6)
    basis_t = transverse_basis(born[2], born[3], rng)
    basis = DipoleBasis(EE4, alpha_s=ALPHA_S)
    reals, approxs, cos2, sin2 = [], [], [], []
    for phi in np.arange(8) * math.pi / 4 + 0.1:
        ga, gb, q = ff_inverse(born[2], born[3], 1e-8, 0.3, phi, basis_t)
        real = [born[0], born[1], ga, gb, q, born[4]]
        dip = _columns(basis, real)
        bq = ff_forward(ga, gb, q)
        bqb = ff_forward(ga, gb, born[4])
        borns = _me([[born[0], born[1], bq[0], bq[1], born[4]], [born[0], born[1], bqb[0], q, bqb[1]]], EE3)
        reals.append(real)
        approxs.append(0.5 * dip["FF_gg(2,3;4)"] * borns[0] + 0.5 * dip["FF_gg(2,3;5)"] * borns[1])
        s23 = 2.0 * dot(ga, gb)
        cos2.append(dip["cos2phi_gg(2,3)"] * s23)
        sin2.append(dip["sin2phi_gg(2,3)"] * s23)
    ratio = 2.0 * _me(reals, EE4) / np.array(approxs)
    assert 0.02 < np.max(np.abs(ratio - 1.0)) < 0.1  # spin-averaged alone: a few per cent off
    assert np.mean(ratio) == pytest.approx(1.0, abs=1e-4)
    _, resid = _phi_fit(ratio, np.array(cos2), np.array(sin2))
    assert resid < 1e-4
    # the columns carry 16πα_s C_A: (cos2φ)² + (sin2φ)² = 1 after dividing it out
    norm = (np.array(cos2) ** 2 + np.array(sin2) ** 2) / (16 * math.pi * ALPHA_S * 3.0) ** 2
    np.testing.assert_allclose(norm, 1.0, rtol=1e-12)


def test_ff_quark_gluon_collinear_with_gluon_in_born() -> None:
    """q ∥ g in e+e- → q q̄ g g: Σ_k (−T_k·T_q/C_F) D_{qg,k} |M_B|² with −1/8 (k = q̄), +9/8 (k = g)."""
    born = _born3(7)
    rng = np.random.default_rng(8)
    e_m, e_p, g2, qt, qb = born
    devs = []
    basis = DipoleBasis(EE4, alpha_s=ALPHA_S)
    for y in (1e-6, 1e-8):
        q, g3, qb2 = ff_inverse(qt, qb, y, 0.4, 1.3, transverse_basis(qt, qb, rng))
        real = [e_m, e_p, g2, g3, q, qb2]
        dip = _columns(basis, real)
        b5 = ff_forward(q, g3, qb2)
        b2 = ff_forward(q, g3, g2)
        borns = _me([[e_m, e_p, g2, b5[0], b5[1]], [e_m, e_p, b2[1], b2[0], qb2]], EE3)
        approx = -0.125 * dip["FF_qg(4,3;5)"] * borns[0] + 1.125 * dip["FF_qg(4,3;2)"] * borns[1]
        devs.append(abs(2.0 * _me([real], EE4)[0] / approx - 1.0))
    assert devs[1] < 1e-3
    assert devs[1] < devs[0]


def test_ff_soft_gluon_exact_colour() -> None:
    """Soft gluon 3 in q q̄ g g: all six dipoles with j = 3 and the exact q q̄ g correlators (physics.md §2.7):
    emitter q or q̄: −1/8 (spectator the other quark), 9/8 (spectator g); emitter g: 1/2, 1/2.  Tests the
    16πα_s C_A normalisation of the g g kernel in its soft part."""
    born = _born3(9)
    rng = np.random.default_rng(10)
    e_m, e_p, gt, qt, qbt = born
    lam = 1e-6
    g2, g3, q = ff_inverse(gt, qt, 0.5 * lam, 1.0 - 0.7 * lam, 0.8, transverse_basis(gt, qt, rng))
    real = {2: g2, 3: g3, 4: q, 5: qbt}
    dip = _columns(DipoleBasis(EE4, alpha_s=ALPHA_S), [e_m, e_p, g2, g3, q, qbt])
    weights = {(4, 5): -0.125, (4, 2): 1.125, (5, 4): -0.125, (5, 2): 1.125, (2, 4): 0.5, (2, 5): 0.5}
    borns, coeffs = [], []
    for (i, k), w in weights.items():
        pij, pk = ff_forward(real[i], g3, real[k])
        mapped = {**real, i: pij, k: pk}
        borns.append([e_m, e_p, mapped[2], mapped[4], mapped[5]])
        name = f"FF_gg(2,3;{k})" if i == 2 else f"FF_qg({i},3;{k})"
        coeffs.append(w * dip[name])
    approx = float(np.dot(coeffs, _me(borns, EE3)))
    assert 2.0 * _me([[e_m, e_p, g2, g3, q, qbt]], EE4)[0] / approx == pytest.approx(1.0, abs=1e-4)


def test_ff_gluon_to_quarks_collinear_with_azimuth() -> None:
    """u ∥ ū in e+e- → d d̄ u ū (Born d d̄ g, insertions 1/2, 1/2): the spin-averaged g → q q̄ dipole is off by
    tens of per cent depending on φ; the φ-average is 1 and the basis's q q̄ φ columns explain the rest."""
    born = _born3(13)
    rng = np.random.default_rng(14)
    e_m, e_p, gt, d, db = born
    basis_t = transverse_basis(gt, d, rng)
    pdg = [11, -11, 1, -1, 2, -2]
    basis = DipoleBasis(pdg, alpha_s=ALPHA_S)
    reals, approxs, cos2, sin2 = [], [], [], []
    for phi in np.arange(8) * math.pi / 4 + 0.3:
        u, ub, d2 = ff_inverse(gt, d, 1e-8, 0.35, phi, basis_t)
        real = [e_m, e_p, d2, db, u, ub]
        dip = _columns(basis, real)
        b2 = ff_forward(u, ub, d2)
        b3 = ff_forward(u, ub, db)
        borns = _me([[e_m, e_p, b2[0], b2[1], db], [e_m, e_p, b3[0], d2, b3[1]]], EE3)
        reals.append(real)
        approxs.append(0.5 * dip["FF_qqbar(4,5;2)"] * borns[0] + 0.5 * dip["FF_qqbar(4,5;3)"] * borns[1])
        s45 = 2.0 * dot(u, ub)
        cos2.append(dip["cos2phi_qqbar(4,5)"] * s45)
        sin2.append(dip["sin2phi_qqbar(4,5)"] * s45)
    ratio = _me(reals, pdg) / np.array(approxs)
    assert np.max(np.abs(ratio - 1.0)) > 0.1
    assert np.mean(ratio) == pytest.approx(1.0, abs=1e-3)
    _, resid = _phi_fit(ratio, np.array(cos2), np.array(sin2))
    assert resid < 1e-3


# --------------------------------------------------------------------------------------------------------
# ONNX export of the basis and the features (both exporters of torch 2.13)


class _BasisAndFeatures(torch.nn.Module):
    def __init__(self, pdg: list[int]) -> None:
        super().__init__()
        self.basis = DipoleBasis(pdg)
        self.features = FeatureMap(pdg)

    def forward(self, momenta: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.basis(momenta), self.features(momenta)], dim=1)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy exporter warns about itself
@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.export internals (treespec) in torch 2.13
@pytest.mark.parametrize(
    ("dynamo", "pdg"),
    [
        (False, [21, 2, 11, -11, 21, 21, 2]),  # FF, FI, IF, II dipoles and φ pairs
        pytest.param(True, [2, -2, 11, -11, 21, 21], marks=pytest.mark.slow),  # FI, IF, II, φ; 10-30 s export
    ],
)
def test_onnx_export_float64_parity(dynamo: bool, pdg: list[int], tmp_path: Path) -> None:
    """The basis and the features exported at opset 18 with either exporter; ONNX Runtime reproduces torch to
    1e-10 (column-relative) at batch 1 and 2000, in float64, and the graph passes onnx.checker's full check.

    The dynamo exporter stores Python float scalars as float32 initialisers; this test caught an 8πα_s C_F
    prefactor losing 1e-8 that way (now a float64 buffer).
    """
    import onnx
    import onnxruntime as ort
    from test_features import pp_events

    model = _BasisAndFeatures(pdg).eval()
    mom = pp_events(2000, 7, n_final=len(pdg) - 2)
    path = tmp_path / f"basis_{dynamo}.onnx"
    example = (torch.from_numpy(mom[:2]),)
    batch_axis: dict[str, Any] = (  # the exporters name the dynamic batch dimension differently
        {"dynamic_shapes": ({0: torch.export.Dim("batch")},), "verbose": False}
        if dynamo
        else {"dynamic_axes": {"momenta": {0: "batch"}, "out": {0: "batch"}}}
    )
    torch.onnx.export(
        model,
        example,
        str(path),
        dynamo=dynamo,
        opset_version=18,
        input_names=["momenta"],
        output_names=["out"],
        **batch_axis,
    )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model(torch.from_numpy(mom)).numpy()
    for batch in (mom[:1], mom):
        (got,) = sess.run(None, {"momenta": batch})
        assert got.dtype == np.float64
        scale = np.max(np.abs(ref), axis=0)  # momentum components can cross 0: compare column-relative
        worst = np.max(np.abs(got - ref[: len(batch)]) / scale)
        assert worst < 1e-10, f"ONNX Runtime vs torch: max column-relative deviation {worst:.3g}"


# --------------------------------------------------------------------------------------------------------
# initial-state and final–initial kernels against Sherpa (skipped without .venv-sherpa)


@pytest.mark.sherpa
def test_is_and_fi_kernels_against_sherpa(sherpa_python: Path, tmp_path: Path) -> None:
    """IS g→gg, IS q→g+q (II + IF, x = 0.6) and FI g→gg, g→dd̄ (z = 0.35) at y-like parameter 1e-8 against
    Sherpa's exact pp → e+e- + 2 parton |M|² (tests/fame_surrogate/sherpa_limits.py): the φ-average of
    |M|² / Σ insertion·D·|M_B|² is 1, the spin-averaged ratio varies with φ, and the basis's φ columns
    explain that variation."""
    from sherpa_limits import sherpa_limit_ratios

    report = sherpa_limit_ratios(sherpa_python, tmp_path)
    assert set(report) == {"IS g->gg", "IS q->g+q", "FI g->gg", "FI g->ddbar"}
    for name, r in report.items():
        assert r["phi_mean_ratio"] == pytest.approx(1.0, abs=2e-5), name
        low, high = r["spin_avg_ratio_range"]
        assert high - low > 0.02, name
        assert r["phi_fit_max_residual"] < 2e-3, name
