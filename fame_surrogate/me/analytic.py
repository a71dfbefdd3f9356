"""Closed-form |M|^2 oracles for tests (reference/physics.md §1.6), in the fame-dump normalisation.

All functions take momenta ``(N, n, 4)`` in GeV with the incoming e- at index 0 and e+ at index 1 and return
(1/4) sum_{spins, colours} |M|^2 (no identical-particle factor is needed: no identical final-state particles).
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from lhe_tools.fourvec import mdot

from .couplings import EWParams, boson_couplings, quark_charge

__all__ = ["ee_qq", "ee_qqg_photon", "mhv_partial_squared", "three_jet_rate_photon"]

F8 = npt.NDArray[np.float64]

NC = 3.0
CF = 4.0 / 3.0


def ee_qq(momenta: F8, flavour: int, params: EWParams | None = None) -> F8:
    """e-(0) e+(1) -> q(2) qbar(3) via gamma*/Z, helicity amplitudes squared in closed form.

    (1/4) 4 N [(|K_LL|^2 + |K_RR|^2) u^2 + (|K_LR|^2 + |K_RL|^2) t^2], t = (p_e- - p_q)^2,
    u = (p_e- - p_qbar)^2, K from :func:`.couplings.boson_couplings`; photon only this is
    8 N e^4 Q^2 (t^2 + u^2) / s^2 / 4 (physics.md §1.6(a)).
    """
    params = EWParams() if params is None else params
    pa, pb, p1, p2 = (momenta[:, i] for i in range(4))
    s = 2.0 * mdot(pa, pb)
    t = -2.0 * mdot(pa, p1)
    u = -2.0 * mdot(pa, p2)
    out = np.empty(len(s))
    for i, s_val in enumerate(s):
        k = boson_couplings(flavour, float(s_val), params)
        same = abs(k[0][0]) ** 2 + abs(k[1][1]) ** 2
        diff = abs(k[0][1]) ** 2 + abs(k[1][0]) ** 2
        out[i] = NC * (same * u[i] ** 2 + diff * t[i] ** 2)
    return out


def ee_qqg_photon(momenta: F8, flavour: int, params: EWParams | None = None) -> F8:
    """e-(0) e+(1) -> q(2) qbar(3) g(4), photon only (physics.md §1.6(b)), times 1/4.

    8 N C_F e^4 Q^2 g_s^2 [(pa.p1)^2 + (pa.p2)^2 + (pb.p1)^2 + (pb.p2)^2] / [(pa.pb)(p1.p3)(p2.p3)] / 4.
    """
    params = EWParams() if params is None else params
    pa, pb, p1, p2, p3 = (momenta[:, i] for i in range(5))
    num = mdot(pa, p1) ** 2 + mdot(pa, p2) ** 2 + mdot(pb, p1) ** 2 + mdot(pb, p2) ** 2
    den = mdot(pa, pb) * mdot(p1, p3) * mdot(p2, p3)
    q2 = quark_charge(flavour) ** 2
    return np.asarray(2.0 * NC * CF * params.e2**2 * q2 * params.gs2 * num / den)


def mhv_partial_squared(p_quark: F8, gluons: list[F8], p_antiquark: F8, p_lepton: F8, p_antilepton: F8) -> F8:
    """|A(q, 1..n, qbar)|^2 = 2^(n+2) s_{q l}^2 / (s_{q1} s_{12} ... s_{n qbar} s_{l lbar}) (e = g_s = Q = 1).

    Parameters
    ----------
    p_quark, p_antiquark, p_lepton, p_antilepton : ndarray, float64, shape (N, 4)
        Momenta (the lepton is the incoming one whose chirality matches the quark's).
    gluons : list of ndarray, float64, shape (N, 4)
        Gluon momenta in the colour order.

    Returns
    -------
    ndarray, float64, shape (N,)
    """
    chain = [p_quark, *gluons, p_antiquark]
    den = 2.0 * mdot(p_lepton, p_antilepton)
    for a, b in itertools.pairwise(chain):
        den = den * 2.0 * mdot(a, b)
    return np.asarray(2.0 ** (len(gluons) + 2) * (2.0 * mdot(p_quark, p_lepton)) ** 2 / den)


def three_jet_rate_photon(y_cut: float) -> float:
    """sigma_3jet / sigma_0 / alpha_s at O(alpha_s) for s_ij > y_cut s on all pairs, photon exchange.

    (C_F / (2 pi)) * integral over the cut region of (x1^2 + x2^2)/((1 - x1)(1 - x2)) dx1 dx2, by a
    midpoint rule in y13 = 1 - x2, y23 = 1 - x1 (y12 = 1 - y13 - y23).
    """
    n = 2000
    h = (1.0 - 3.0 * y_cut) / n
    grid = y_cut + (np.arange(n) + 0.5) * h
    y13, y23 = np.meshgrid(grid, grid, indexing="ij")
    y12 = 1.0 - y13 - y23
    inside = y12 > y_cut
    x1 = 1.0 - y23
    x2 = 1.0 - y13
    f = np.where(inside, (x1**2 + x2**2) / (y23 * y13), 0.0)
    return float(CF / (2.0 * np.pi) * f.sum() * h * h)
