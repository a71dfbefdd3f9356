"""Test helper: the massive (CDST) dipole kernels against Sherpa 3.0.3 (Comix) |M|² in soft and
quasi-collinear limits of tt̄ + 1 jet (stable tops of mass TOP_MASS = 172.5 GeV, Sherpa's default, width 0).

Cases (real process, Born; each at two values of the limit parameter λ):

* ``soft g, uu->ttg``: u ū → t t̄ g with the gluon's energy λ √ŝ/2 (√ŝ = 1 TeV, three directions).  The soft
  limit needs the colour correlations of the Born; u ū → t t̄ at O(α_s²) has one colour structure (s-channel
  gluon), so −T_i·T_k are numbers: in the all-outgoing convention (0 = u, 1 = ū, 2 = t, 3 = t̄)
  T_0·T_2 = T_1·T_3 = −7/6, T_0·T_1 = T_2·T_3 = +1/6, T_0·T_3 = T_1·T_2 = −1/3 (:func:`colour_uu_tt`, from
  the singlet and octet projections; every row sums to −C_F; ``test_massive_dipoles`` checks them with
  explicit SU(3) generators).  The approximation is Σ_{i≠k} (−T_i·T_k/C_F) D_{ik} |M_B|²
  over every FF, FI, IF and II dipole with emitter i, spectator k: FF and FI Q → Q g with the CDST mass term
  −m²/(p_Q·p_g), IF with massive spectators.  This reproduces the eikonal factor including the tops'
  self-terms m²/(p_Q·q)², which the massless kernels lack (``massless_ratio`` shows they miss).
* ``qcoll g||t, uu->ttg`` and ``qcoll g||t, gg->ttg``: the gluon quasi-collinear to the top (CDST §2: p_T
  and m small together): Born at √ŝ = 2 m_t/λ, the real point from the inverse FI map with spectator 0,
  2 p_t·p_g = 4 m_t² (so p_T ~ m_t ~ λ √ŝ), z̃ = 0.3, four azimuths.  Every dipole of the (t, g) pair
  tends to the same quasi-collinear kernel (1+z²)/(1−z) − m²/(p_t·p_g), and the colour insertions of an
  emitter sum to one, so the approximation is any weighted sum over the spectators with weights summing to
  one: uu with the exact −T_t·T_k/C_F (7/8 for u, 1/4 for ū, −1/8 for t̄), gg with 1/3 each (FI 0, FI 1,
  FF t̄).
* ``IS g->gg, gg->ttg``: the final gluon collinear to the incoming gluon 0 (x = 0.6, parameter λ) with massive
  spectators: (II_gg(0,4;1) + IF_gg(0,4;2) + IF_gg(0,4;3))/3 with each dipole's own mapped Born; the φ-mean
  of the ratio over eight azimuths → 1 and the φ columns explain its modulation.

Sherpa runs in its own interpreter (``INIT_ONLY: 2``: the processes are built, not integrated).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cs_kinematics import F8, boost_z, dot, if_forward, ii_forward, ii_inverse, transverse_basis
from massive_kinematics import add_soft_gluon, fi_quasi_collinear, massive_rambo
from sherpa_limits import sherpa_me2

from fame_surrogate.dipoles import TOP_MASS, DipoleBasis

ALPHA_S = 0.118  # α_s(M_Z), the fixed scale μ_R = M_Z below

#: the run card of the tt̄ limits: stable tops, fixed μ_R = M_Z, a beam energy above every √ŝ used
TT_CARD = ["BEAMS: [2212, 2212]", "BEAM_ENERGIES: 1000000", "ME_GENERATORS: [Comix]", "COLOR_SCHEME: 1",
           "HELICITY_SCHEME: 1", "SCALES: VAR{sqr(91.1876)}", "PARTICLE_DATA: {6: {Width: 0}}"]

UU = [2, -2, 6, -6]
GG = [21, 21, 6, -6]


def colour_uu_tt() -> F8:
    """T_i·T_k of u ū → t t̄ (one colour structure t^a ⊗ t^a), all-outgoing convention, order u, ū, t, t̄.

    The (u, t) pair of outgoing ū(0) and t(2) is a colour singlet in a fraction 8/9 of the structure
    (c = (δ_{t ū0} δ_{u1 t̄} − δ_{u1 ū0} δ_{t t̄}/N)/2), so (T_0 + T_2)² = C_A/9 and T_0·T_2 = (1/3 − 2 C_F)/2
    = −7/6; the (u, ū) and (t, t̄) pairs are octets: T·T = (C_A − 2 C_F)/2 = +1/6; colour conservation
    gives T_0·T_3 = −C_F − T_0·T_1 − T_0·T_2 = −1/3.  Diagonal: C_F.
    """
    cf = 4.0 / 3.0
    a, b, c = 1.0 / 6.0, -7.0 / 6.0, -1.0 / 3.0
    return np.array([[cf, a, b, c], [a, cf, c, b], [b, c, cf, a], [c, b, a, cf]])


def _born_tt(sqrt_shat: float, seed: int, rapidity: float = 0.3) -> F8:
    """A 2 → t t̄ point (4, 4) at √ŝ, top polar angle with |cos θ| < 0.8, boosted along z."""
    rng = np.random.default_rng(seed)
    while True:
        fin = massive_rambo([TOP_MASS, TOP_MASS], sqrt_shat, 1, rng)[0]
        if abs(fin[0, 3]) < 0.8 * np.linalg.norm(fin[0, 1:]):
            break
    half = sqrt_shat / 2.0
    beams = [np.array([half, 0.0, 0.0, half]), np.array([half, 0.0, 0.0, -half])]
    return np.array([boost_z(p, rapidity) for p in (*beams, *fin)])


def _columns(pdg: list[int], mom: F8, massless: bool = False) -> dict[str, float]:
    masses = [0.0] * len(pdg) if massless else None
    basis = DipoleBasis(pdg, alpha_s=ALPHA_S, masses=masses)
    values = basis(torch.from_numpy(np.array([mom])))[0].tolist()
    return dict(zip(basis.names, values, strict=True))


def _dipole_sum(cols: dict[str, float], weight: dict[tuple[int, int], float]) -> float:
    """Σ w(emitter, spectator) D over the dipole columns (names ``FAM_kind(i,j;k)``; the emitter is i)."""
    total = 0.0
    for name, value in cols.items():
        if name[:2] not in ("FF", "FI", "IF", "II"):
            continue
        i, rest = name.split("(", 1)[1].split(",", 1)
        k = rest.split(";", 1)[1].rstrip(")")
        total += weight.get((int(i), int(k)), 0.0) * value
    return total


def _limit_case(
    born_pdg: list[int], points: list[tuple[F8, F8, float]], weight: dict[tuple[int, int], float]
) -> dict[str, Any]:
    """A soft or quasi-collinear case: the (Born, real, λ) points and the weighted dipole sums at the reals
    (massive kernels, and the massless ones for comparison); the real process is the Born plus a gluon."""
    real_pdg = [*born_pdg, 21]
    reals = [real for _, real, _ in points]
    return {
        "real_pdg": real_pdg,
        "born_pdg": born_pdg,
        "reals": reals,
        "borns": [born for born, _, _ in points],
        "approx": [_dipole_sum(_columns(real_pdg, real), weight) for real in reals],
        "approx_massless": [_dipole_sum(_columns(real_pdg, real, massless=True), weight) for real in reals],
        "lam": [lam for _, _, lam in points],
    }


def _soft_case(lams: tuple[float, ...]) -> dict[str, Any]:
    born = _born_tt(1000.0, 11)
    tt = colour_uu_tt()
    weight = {(i, k): -tt[i, k] / tt[i, i] for i in range(4) for k in range(4) if i != k}
    rng = np.random.default_rng(12)
    dirs = [rng.normal(size=3) for _ in range(3)]
    points = [(born, add_soft_gluon(born, 2, lam * 500.0, d), lam) for lam in lams for d in dirs]
    return _limit_case(UU, points, weight)


def _qcoll_case(
    born_pdg: list[int], lams: tuple[float, ...], weight: dict[int, float], seed: int
) -> dict[str, Any]:
    points: list[tuple[F8, F8, float]] = []
    for lam in lams:
        born = _born_tt(2.0 * TOP_MASS / lam, seed)
        # 2 p_t·p_g = 4 m_t²: (1 − x)/x · 2 p̃_t·p̃_a = 4 m_t² (p_t + p_g = p̃_t + (1−x)/x p̃_a); z̃ then
        # ranges over [m²/(m² + 2 p_t·p_g), 1] = [0.2, 1]
        r = 4.0 * TOP_MASS**2 / (2.0 * dot(born[2], born[0]))
        x = 1.0 / (1.0 + r)
        for phi in np.arange(4) * math.pi / 2 + 0.3:
            points.append((born, fi_quasi_collinear(born, 2, 2, 0, TOP_MASS, x, 0.3, float(phi)), lam))
    return _limit_case(born_pdg, points, {(2, k): v for k, v in weight.items()})


def _initial_case(lams: tuple[float, ...]) -> dict[str, Any]:
    """g g → t t̄ g, final gluon 4 ∥ incoming gluon 0 (x = 0.6), spectators 1 (II), 2, 3 (IF, massive)."""
    a, b, t, tb = _born_tt(1000.0, 21)
    basis_t = transverse_basis(a, b, np.random.default_rng(22))
    reals, borns, terms, phis, lam_of = [], [], [], [], []
    for lam in lams:
        for phi in np.arange(8) * math.pi / 4 + 0.2:
            pa, pi, (qt, qtb) = ii_inverse(a, b, [t, tb], 0.6, lam, float(phi), basis_t)
            real = np.array([pa, b, qt, qtb, pi])
            col = _columns([*GG, 21], real)
            pai, others = ii_forward(pa, pi, b, [qt, qtb])
            pai2, pk2 = if_forward(pa, pi, qt)
            pai3, pk3 = if_forward(pa, pi, qtb)
            reals.append(real)
            borns += [[pai, b, *others], [pai2, b, pk2, qtb], [pai3, b, qt, pk3]]
            terms.append([col["II_gg(0,4;1)"] / 3.0, col["IF_gg(0,4;2)"] / 3.0, col["IF_gg(0,4;3)"] / 3.0])
            s = 2.0 * dot(pa, pi)
            phis.append([col["cos2phi_gg(0,4)"] * s, col["sin2phi_gg(0,4)"] * s])
            lam_of.append(lam)
    return {
        "real_pdg": [*GG, 21],
        "born_pdg": GG,
        "reals": reals,
        "borns": borns,
        "terms": terms,
        "phis": phis,
        "lam": lam_of,
    }


def _run_sherpa(
    sherpa_python: Path, workdir: Path, points: dict[tuple[int, ...], list[F8]]
) -> dict[tuple[int, ...], np.ndarray]:
    """|M|² from Sherpa's MEProcess for every process's points (one Sherpa run)."""
    keys = sorted(points)
    named = {f"p{i}": (list(k), points[k]) for i, k in enumerate(keys)}
    me = sherpa_me2(sherpa_python, workdir, named, TT_CARD)
    return {key: me[f"p{i}"] for i, key in enumerate(keys)}


def sherpa_massive_limit_ratios(
    sherpa_python: Path, workdir: Path, extra: dict[tuple[int, ...], list[F8]] | None = None
) -> tuple[dict[str, dict[str, Any]], dict[tuple[int, ...], np.ndarray]]:
    """Per case and λ: the ratios |M|²/approx (→ 1) with the CDST kernels and with the massless ones;
    for the initial-state case the φ-mean, the spread and the φ-fit residual.  ``extra`` points (process
    pdg → momenta) are evaluated in the same Sherpa run and returned as the second item."""
    cases: dict[str, dict[str, Any]] = {
        "soft g, uu->ttg": _soft_case((1e-3, 1e-4)),
        "qcoll g||t, uu->ttg": _qcoll_case(
            UU, (1e-2, 1e-3), {k: -colour_uu_tt()[2, k] / colour_uu_tt()[2, 2] for k in (0, 1, 3)}, 31
        ),
        "qcoll g||t, gg->ttg": _qcoll_case(GG, (1e-2, 1e-3), {0: 1.0 / 3.0, 1: 1.0 / 3.0, 3: 1.0 / 3.0}, 41),
        "IS g->gg, gg->ttg": _initial_case((1e-6, 1e-8)),
    }
    points: dict[tuple[int, ...], list[F8]] = {k: list(v) for k, v in (extra or {}).items()}
    slices: dict[str, tuple[slice, slice]] = {}
    for name, c in cases.items():
        rk, bk = tuple(c["real_pdg"]), tuple(c["born_pdg"])
        r0, b0 = len(points.setdefault(rk, [])), len(points.setdefault(bk, []))
        points[rk] += list(c["reals"])
        points[bk] += [np.asarray(p) for p in c["borns"]]
        slices[name] = (slice(r0, len(points[rk])), slice(b0, len(points[bk])))
    me = _run_sherpa(sherpa_python, workdir, points)
    report: dict[str, dict[str, Any]] = {}
    for name, c in cases.items():
        rs, bs = slices[name]
        real = me[tuple(c["real_pdg"])][rs]
        born = me[tuple(c["born_pdg"])][bs]
        lam = np.array(c["lam"])
        out: dict[str, Any] = {}
        for value in sorted(set(c["lam"]), reverse=True):
            sel = lam == value
            if "terms" in c:
                terms = np.array(c["terms"])[sel]
                ratio = real[sel] / np.sum(terms * born.reshape(-1, 3)[sel], axis=1)
                ph = np.array(c["phis"])[sel]
                design = np.stack([np.ones(len(ratio)), ph[:, 0], ph[:, 1]], 1)
                coef, *_ = np.linalg.lstsq(design, ratio, rcond=None)
                out[f"{value:g}"] = {
                    "phi_mean_ratio": float(ratio.mean()),
                    "spin_avg_ratio_range": [float(ratio.min()), float(ratio.max())],
                    "phi_fit_max_residual": float(np.max(np.abs(design @ coef - ratio))),
                }
            else:
                approx = np.array(c["approx"])[sel] * born[sel]
                approx0 = np.array(c["approx_massless"])[sel] * born[sel]
                out[f"{value:g}"] = {
                    "ratio": (real[sel] / approx).tolist(),
                    "massless_ratio": (real[sel] / approx0).tolist(),
                }
        report[name] = out
    extra_me = {k: me[k][: len(v)] for k, v in (extra or {}).items()}
    return report, extra_me
