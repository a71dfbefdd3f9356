"""Test-only massive kinematics for tt̄ + jets: massive RAMBO events, CDST's kernels in their μ variables,
and the constructions of soft and quasi-collinear points (plain numpy, independent of ``fame_surrogate``'s
kernels: the CDST formulas here are written in the paper's variables y, z̃, μ_n = m_n/√Q², v, ṽ, x, u).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from cs_kinematics import F8, boost_z, dot

from fame_surrogate.phasespace import rambo

C_F = 4.0 / 3.0
C_A = 3.0
T_R = 0.5


def massive_rambo(masses: Sequence[float], sqrt_s: float, n: int, rng: np.random.Generator) -> F8:
    """Flat-ish n-body phase-space points with the given final-state masses in the centre-of-mass frame.

    Massless RAMBO, then every 3-momentum scaled by the ξ with Σ_i √(m_i² + ξ²|p⃗_i|²) = √s (Kleiss,
    Stirling, Ellis), solved by Newton's method; returns (n, len(masses), 4) on-shell momenta.
    """
    m = np.asarray(masses, dtype=np.float64)
    if m.sum() >= sqrt_s:
        raise ValueError(f"masses {list(m)} exceed √s = {sqrt_s}")
    out = rambo(len(m), sqrt_s, n, rng)
    p3 = out[..., 1:]
    p2 = np.sum(p3 * p3, axis=-1)
    xi = np.full(n, 1.0)
    for _ in range(60):
        e = np.sqrt(m**2 + xi[:, None] ** 2 * p2)
        f = e.sum(1) - sqrt_s
        df = (xi[:, None] * p2 / e).sum(1)
        xi = xi - f / df
    e = np.sqrt(m**2 + xi[:, None] ** 2 * p2)
    return np.concatenate([e[..., None], xi[:, None, None] * p3], axis=-1)


def tt_events(n_jets: int, n: int, seed: int, sqrt_shat: float = 1000.0, mass: float = 172.5) -> F8:
    """pp → t t̄ + n_jets partonic events (n, 4 + n_jets, 4): beams along ±z, final state t, t̄, jets (massive
    RAMBO at √ŝ), boosted along z by a rapidity in [−1, 1]; jets with p_T < 20 GeV are redrawn."""
    rng = np.random.default_rng(seed)
    rows: list[F8] = []
    half = sqrt_shat / 2.0
    while len(rows) < n:
        fin = massive_rambo([mass, mass] + [0.0] * n_jets, sqrt_shat, 1, rng)[0]
        if n_jets and np.min(np.hypot(fin[2:, 1], fin[2:, 2])) < 20.0:
            continue
        y = rng.uniform(-1.0, 1.0)
        beams = [np.array([half, 0.0, 0.0, half]), np.array([half, 0.0, 0.0, -half])]
        rows.append(np.array([boost_z(p, y) for p in (*beams, *fin)]))
    return np.array(rows)


# --- CDST kernels in the paper's variables (spin-averaged, d = 4, κ = 0), over their coupling -------------


def _lam(x: float, y: float, z: float) -> float:
    return x * x + y * y + z * z - 2.0 * (x * y + x * z + y * z)


def cdst_ff(kind: str, p_i: F8, p_j: F8, p_k: F8, m_i: float, m_k: float) -> float:
    """<V_{ij,k}>/((p_i+p_j)² − m_ij²) over 8πα_s C_F (``qg``, i = Q), 16πα_s C_A (``gg``), 8πα_s T_R
    (``qqbar``): CDST (5.16), (5.20), (5.18) with μ_n = m_n/√Q², y, z̃_i, v_{ij,k}, ṽ_{ij,k}, z_±."""
    q = p_i + p_j + p_k
    q2 = dot(q, q)
    m_ij = m_i if kind == "qg" else 0.0
    mu_i2, mu_k2, mu_ij2 = m_i**2 / q2, m_k**2 / q2, m_ij**2 / q2
    mu_j2 = 0.0
    y = dot(p_i, p_j) / (dot(p_i, p_j) + dot(p_i, p_k) + dot(p_j, p_k))
    z = dot(p_i, p_k) / (dot(p_i, p_k) + dot(p_j, p_k))
    a = 1.0 - mu_i2 - mu_j2 - mu_k2
    v = math.sqrt((2.0 * mu_k2 + a * (1.0 - y)) ** 2 - 4.0 * mu_k2) / (a * (1.0 - y))
    v_t = math.sqrt(_lam(1.0, mu_ij2, mu_k2)) / (1.0 - mu_ij2 - mu_k2)
    pij = p_i + p_j
    den = dot(pij, pij) - m_ij**2
    if kind == "qg":
        bracket = 2.0 / (1.0 - z * (1.0 - y)) - v_t / v * (1.0 + z + m_i**2 / dot(p_i, p_j))
    else:
        # z_± = (2μ_i² + a y)/(2(μ_i² + μ_j² + a y)) (1 ± v_{ij,i} v_{ij,k}), v_{ij,i} = 1 for massless i, j
        pre = (2.0 * mu_i2 + a * y) / (2.0 * (mu_i2 + mu_j2 + a * y))
        zp, zm = pre * (1.0 + v), pre * (1.0 - v)
        if kind == "gg":
            bracket = 1.0 / (1.0 - z * (1.0 - y)) + 1.0 / (1.0 - (1.0 - z) * (1.0 - y))
            bracket += (z * (1.0 - z) - zp * zm - 2.0) / v
        else:
            bracket = (1.0 - 2.0 * (z * (1.0 - z) - zp * zm)) / v
    return bracket / den


def cdst_fi_qg(p_i: F8, p_j: F8, p_a: F8, m_i: float) -> float:
    """<V^a_{Q_i g_j}>/(((p_i+p_j)² − m_Q²) x) over 8πα_s C_F: CDST (5.50) with x_{ij,a} (m_ij = m_i)."""
    x = (dot(p_i, p_a) + dot(p_j, p_a) - dot(p_i, p_j)) / (dot(p_i, p_a) + dot(p_j, p_a))
    z = dot(p_i, p_a) / (dot(p_i, p_a) + dot(p_j, p_a))
    pij = p_i + p_j
    bracket = 2.0 / (2.0 - x - z) - 1.0 - z - m_i**2 / dot(p_i, p_j)
    return bracket / ((dot(pij, pij) - m_i**2) * x)


def cdst_if(kind: str, p_a: F8, p_i: F8, p_k: F8, m_k: float) -> float:
    """<V^{ai}_k>/(2 p_a·p_i x) over its coupling: CDST (5.81)–(5.86) with x_{ik,a}, u_i and
    μ_k² = m_k²/(2 p̃_k·p_a) (p̃_k = p_k + p_i − (1−x) p_a)."""
    x = (dot(p_k, p_a) + dot(p_i, p_a) - dot(p_i, p_k)) / (dot(p_k, p_a) + dot(p_i, p_a))
    u = dot(p_a, p_i) / (dot(p_a, p_i) + dot(p_a, p_k))
    pk_t = p_k + p_i - (1.0 - x) * p_a
    mu_k2 = m_k**2 / (2.0 * dot(pk_t, p_a))
    if kind == "qg":
        bracket = 2.0 / (2.0 - x - (1.0 - u)) - 1.0 - x
    elif kind == "gq":
        bracket = 1.0 - 2.0 * x * (1.0 - x)
    elif kind == "qq":
        bracket = x + 2.0 * (1.0 - x) / x - 2.0 * mu_k2 / x * u / (1.0 - u)
    else:
        bracket = (
            1.0 / (2.0 - x - (1.0 - u)) - 1.0 + x * (1.0 - x) + (1.0 - x) / x - mu_k2 / x * u / (1.0 - u)
        )
    return bracket / (2.0 * dot(p_a, p_i) * x)


# --- limit constructions ------------------------------------------------------------------------------------


def two_body(total: F8, m1: float, m2: float, direction: F8) -> tuple[F8, F8]:
    """Decay of ``total`` into masses m1, m2 with particle 1 along the unit 3-vector ``direction`` in the rest
    frame of ``total``; both boosted back."""
    big_m = math.sqrt(dot(total, total))
    e1 = (big_m**2 + m1**2 - m2**2) / (2.0 * big_m)
    k = math.sqrt(max(e1 * e1 - m1 * m1, 0.0))
    n = direction / np.linalg.norm(direction)
    q1 = np.array([e1, *(k * n)])
    q2 = np.array([big_m - e1, *(-k * n)])
    return boost(q1, total), boost(q2, total)


def boost(p: F8, total: F8) -> F8:
    """Boost p from the rest frame of ``total`` to the frame where ``total`` has its momentum."""
    big_m = math.sqrt(dot(total, total))
    b = total[1:] / total[0]
    b2 = float(b @ b)
    if b2 == 0.0:
        return p.copy()
    gamma = total[0] / big_m
    bp = float(b @ p[1:])
    e = gamma * (p[0] + bp)
    vec = p[1:] + ((gamma - 1.0) * bp / b2 + gamma * p[0]) * b
    return np.array([e, *vec])


def add_soft_gluon(born: F8, n_in: int, energy: float, direction: F8) -> F8:
    """The Born point (m, 4) with a gluon of ``energy`` along ``direction`` appended: the final-state system
    of the Born (all its final particles) keeps its rest-frame configuration and absorbs the recoil (for
    2 → 2: the two final particles re-decayed along their old rest-frame directions)."""
    p_in = born[:n_in].sum(0)
    g = energy * np.array([1.0, *(direction / np.linalg.norm(direction))])
    fin = born[n_in:]
    if len(fin) != 2:
        raise ValueError("add_soft_gluon handles 2 → 2 Borns")
    old_total = fin.sum(0)
    # rest-frame direction of the first final particle in the Born
    rest = boost(fin[0], np.array([old_total[0], *(-old_total[1:])]))
    m1 = math.sqrt(max(dot(fin[0], fin[0]), 0.0))
    m2 = math.sqrt(max(dot(fin[1], fin[1]), 0.0))
    q1, q2 = two_body(p_in - g, m1, m2, rest[1:])
    return np.array([*born[:n_in], q1, q2, g])


def fi_quasi_collinear(
    born: F8, n_in: int, emitter: int, a: int, mass: float, x: float, z: float, phi: float
) -> F8:
    """Real point (m + 1, 4) from a Born point by the inverse of CDST's FI map for Q → Q g with initial
    spectator ``a``: p_a = p̃_a/x, p_Q + p_g = p̃_Q + (1−x)/x p̃_a, split into the on-shell Q (``mass``) and
    the gluon with z̃_Q = p_Q·p_a/((p_Q+p_g)·p_a) = z, at azimuth φ about the pair's axis in its rest frame;
    the gluon is appended, every other momentum unchanged."""
    pa = born[a] / x
    total = born[emitter] + (1.0 - x) / x * born[a]
    # rest frame of `total`: p_a's direction there is the axis; z fixes the polar angle of Q
    inv = np.array([total[0], *(-total[1:])])
    pa_r = boost(pa, inv)
    big_m = math.sqrt(dot(total, total))
    e1 = (big_m**2 + mass**2) / (2.0 * big_m)
    k = math.sqrt(e1 * e1 - mass * mass)
    # z = p_Q·p_a/(total·p_a) = (e1 E_a − k |p_a| cosθ)/(big_m E_a) with θ to the axis n = p⃗_a/|p⃗_a|
    cos_t = (e1 - z * big_m) / k
    if abs(cos_t) > 1.0:
        raise ValueError(f"z = {z} is outside the kinematic range at x = {x}")
    n = pa_r[1:] / np.linalg.norm(pa_r[1:])
    helper = np.array([0.0, 0.0, 1.0]) if abs(n[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1v = np.cross(n, helper)
    e1v /= np.linalg.norm(e1v)
    e2v = np.cross(n, e1v)
    sin_t = math.sqrt(1.0 - cos_t * cos_t)
    d = cos_t * n + sin_t * (math.cos(phi) * e1v + math.sin(phi) * e2v)
    q_r = np.array([e1, *(k * d)])
    g_r = np.array([big_m - e1, *(-k * d)])
    out = born.copy()
    out[a] = pa
    out[emitter] = boost(q_r, total)
    return np.concatenate([out, boost(g_r, total)[None]], axis=0)
