"""Closure observables at parton level, vectorised over events (jet energies, thrust, pair masses, angles).

Momenta are float64 ``(N, n, 4)`` arrays of (E, px, py, pz) in GeV with the ``n_in`` incoming particles first.
At parton level with a global ``s_ij`` cut every final-state parton is a resolved jet.

* e+e- (both beams leptons): jet energies (ordered), thrust (exact), the smallest and largest pair mass, the
  polar angle of the leading jet and of the thrust axis, the opening angle of the two leading jets.
* pp and other hadronic initial states: the lepton-pair mass, transverse momentum and rapidity, the leading
  lepton and jet transverse momenta and rapidities, the leading dijet mass; with top quarks in the final state
  (stable, as fame's tt̄ + jets dumps have them) the top and antitop transverse momenta and rapidities and the
  tt̄ pair's mass and transverse momentum, the jets then being the light partons only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from lhe_tools.fourvec import msq

F8 = npt.NDArray[np.float64]

__all__ = [
    "ee_observables",
    "is_lepton_collision",
    "observables",
    "pair_masses",
    "pp_observables",
    "rapidity",
    "thrust",
    "transverse_momentum",
]

_CHARGED_LEPTONS = frozenset({11, 13, 15})
_TOP = 6
_NEUTRINOS = frozenset({12, 14, 16})


def transverse_momentum(p: F8) -> F8:
    """``pT = sqrt(px² + py²)`` over the last axis (GeV)."""
    return np.asarray(np.hypot(p[..., 1], p[..., 2]))


def rapidity(p: F8) -> F8:
    """``y = ½ ln((E + pz)/(E − pz))`` over the last axis."""
    return np.asarray(0.5 * np.log((p[..., 0] + p[..., 3]) / (p[..., 0] - p[..., 3])))


def pair_masses(final: F8) -> F8:
    """Invariant masses of all pairs, shape ``(N, n(n-1)/2)`` in GeV (``sqrt(max(0, (p_i + p_j)²))``)."""
    n = final.shape[1]
    pairs = list(itertools.combinations(range(n), 2))
    m2 = np.stack([msq(final[:, i] + final[:, j]) for i, j in pairs], axis=1)
    return np.asarray(np.sqrt(np.maximum(m2, 0.0)))


def thrust(final: F8) -> tuple[F8, F8]:
    """Exact thrust ``T = max_n Σ|p_i·n| / Σ|p_i|`` and its axis.

    The thrust axis is parallel to the sum of some subset of the momenta; all ``2^(n-1)`` subsets are scanned
    (exact for the parton multiplicities used here, n ≤ ~10).

    Parameters
    ----------
    final : ndarray, float64, shape (N, n, 4)
        Final-state momenta in the centre-of-mass frame.

    Returns
    -------
    thrust : ndarray, float64, shape (N,)
        In [1/2, 1].
    axis : ndarray, float64, shape (N, 3)
        Unit thrust axis (sign convention: pz ≥ 0).
    """
    p3 = final[..., 1:]
    n = p3.shape[1]
    norm = np.sum(np.linalg.norm(p3, axis=-1), axis=1)
    best = np.zeros(p3.shape[0])
    axis = np.zeros((p3.shape[0], 3))
    for mask in range(1 << (n - 1)):  # particle n-1 always on the complement side
        sel = np.array([(mask >> i) & 1 for i in range(n)], dtype=bool)
        vec = p3[:, sel].sum(axis=1) if sel.any() else np.zeros((p3.shape[0], 3))
        # for momentum-conserving states |Σ_S p| = |Σ_{not S} p|; the sum over both halves is exact in general
        val = np.linalg.norm(vec, axis=-1) + np.linalg.norm(p3[:, ~sel].sum(axis=1), axis=-1)
        better = val > best
        best = np.where(better, val, best)
        axis = np.where(better[:, None], vec, axis)
    length = np.linalg.norm(axis, axis=-1, keepdims=True)
    axis = np.divide(axis, length, out=np.zeros_like(axis), where=length > 0)
    axis = np.where(axis[:, 2:3] < 0, -axis, axis)
    return np.asarray(best / norm), axis


def _cos_theta(p3: F8) -> F8:
    return np.asarray(p3[..., 2] / np.linalg.norm(p3, axis=-1))


def ee_observables(momenta: F8, n_in: int = 2) -> dict[str, F8]:
    """Event-shape and jet observables for lepton collisions.

    Parameters
    ----------
    momenta : ndarray, float64, shape (N, n, 4)
        Incoming first; the final state must have at least 2 particles.
    n_in : int
        Number of incoming particles.

    Returns
    -------
    dict of str to ndarray, float64, shape (N,)
        ``E_j1``…``E_j3`` (GeV, energy-ordered, as many as there are partons up to 3), ``thrust``, ``m_min``,
        ``m_max`` (GeV), ``cos_theta_j1``, ``abs_cos_theta_thrust``, ``cos_j1j2``.
    """
    final = np.asarray(momenta[:, n_in:], dtype=np.float64)
    n_out = final.shape[1]
    if n_out < 2:
        raise ValueError(f"e+e- observables need at least 2 final-state particles, found {n_out}")
    order = np.argsort(-final[..., 0], axis=1)
    ordered = np.take_along_axis(final, order[..., None], axis=1)
    out: dict[str, F8] = {}
    for k in range(min(3, n_out)):
        out[f"E_j{k + 1}"] = np.asarray(ordered[:, k, 0])
    t, t_axis = thrust(final)
    out["thrust"] = t
    masses = pair_masses(final)
    out["m_min"] = np.asarray(masses.min(axis=1))
    out["m_max"] = np.asarray(masses.max(axis=1))
    out["cos_theta_j1"] = _cos_theta(ordered[:, 0, 1:])
    out["abs_cos_theta_thrust"] = np.asarray(np.abs(t_axis[:, 2]))
    a, b = ordered[:, 0, 1:], ordered[:, 1, 1:]
    out["cos_j1j2"] = np.asarray(
        np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    )
    return out


def _pt_ordered(parts: F8) -> F8:
    order = np.argsort(-transverse_momentum(parts), axis=1)
    return np.asarray(np.take_along_axis(parts, order[..., None], axis=1))


def _mass(p: F8) -> F8:
    """Invariant mass of the four-vectors ``p`` (..., 4), GeV (0 where rounding makes p² negative)."""
    return np.asarray(np.sqrt(np.maximum(msq(p), 0.0)))


def _pair(out: dict[str, F8], name: str, a: F8, b: F8) -> None:
    """The mass and transverse momentum of the pair ``a + b`` (each (N, 4)) as ``m_<name>``, ``pt_<name>``."""
    pair = a + b
    out[f"m_{name}"] = _mass(pair)
    out[f"pt_{name}"] = transverse_momentum(pair)


def pp_observables(momenta: F8, pdg: Sequence[int], n_in: int = 2) -> dict[str, F8]:
    """Lepton, top and jet observables for hadronic initial states.

    Parameters
    ----------
    momenta : ndarray, float64, shape (N, n, 4)
    pdg : sequence of int, length n
    n_in : int

    Returns
    -------
    dict of str to ndarray, float64, shape (N,)
        ``m_ll``, ``pt_ll``, ``y_ll`` (first two charged leptons, if present), ``pt_l1``, ``y_l1`` (if any
        charged lepton); ``pt_t``, ``y_t`` (the top), ``pt_tbar``, ``y_tbar`` (the antitop), ``m_tt``,
        ``pt_tt`` (both present), for the first top and antitop of the final state; ``pt_j1``, ``y_j1``,
        ``pt_j2``, ``m_jj`` (pT-ordered light partons: quarks other than the top, and gluons, as available).
    """
    signed = np.asarray(pdg, dtype=np.int64)[n_in:]
    codes = np.abs(signed)
    final = np.asarray(momenta[:, n_in:], dtype=np.float64)
    leptons = final[:, np.isin(codes, list(_CHARGED_LEPTONS))]
    partons = final[:, (codes < _TOP) | (codes == 21)]
    tops, antitops = final[:, signed == _TOP], final[:, signed == -_TOP]
    out: dict[str, F8] = {}
    if leptons.shape[1] >= 2:
        _pair(out, "ll", leptons[:, 0], leptons[:, 1])
        out["y_ll"] = rapidity(leptons[:, 0] + leptons[:, 1])
    if leptons.shape[1] >= 1:
        lo = _pt_ordered(leptons)
        out["pt_l1"] = transverse_momentum(lo[:, 0])
        out["y_l1"] = rapidity(lo[:, 0])
    for name, quarks in (("t", tops), ("tbar", antitops)):
        if quarks.shape[1] >= 1:
            out[f"pt_{name}"] = transverse_momentum(quarks[:, 0])
            out[f"y_{name}"] = rapidity(quarks[:, 0])
    if tops.shape[1] >= 1 and antitops.shape[1] >= 1:
        _pair(out, "tt", tops[:, 0], antitops[:, 0])
    if partons.shape[1] >= 1:
        jo = _pt_ordered(partons)
        out["pt_j1"] = transverse_momentum(jo[:, 0])
        out["y_j1"] = rapidity(jo[:, 0])
        if partons.shape[1] >= 2:
            out["pt_j2"] = transverse_momentum(jo[:, 1])
            out["m_jj"] = _mass(jo[:, 0] + jo[:, 1])
    if not out:
        raise ValueError(f"no charged lepton, top or parton in the final state {list(pdg)[n_in:]}")
    return out


def is_lepton_collision(pdg: Sequence[int], n_in: int = 2) -> bool:
    """True when every incoming particle is a charged lepton (e+e-, mu+mu-)."""
    return all(abs(int(c)) in _CHARGED_LEPTONS for c in list(pdg)[:n_in])


def observables(momenta: F8, pdg: Sequence[int], n_in: int = 2) -> dict[str, F8]:
    """:func:`ee_observables` for lepton collisions, else :func:`pp_observables`."""
    if is_lepton_collision(pdg, n_in):
        return ee_observables(momenta, n_in)
    return pp_observables(momenta, pdg, n_in)
