"""Test-only kinematics: Catani–Seymour maps (forward and inverse, physics.md §2.2–2.5) and analytic |M|².

Independent of ``fame_surrogate.dipoles``: plain numpy on single points (shape (4,) momenta), so the limit
tests build singular configurations and their mapped Borns without the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from fame_surrogate.phasespace import rambo as _rambo

F8 = npt.NDArray[np.float64]
N_C = 3.0
C_F = 4.0 / 3.0


def dot(p: F8, q: F8) -> float:
    """Minkowski product (+,-,-,-)."""
    return float(p[0] * q[0] - p[1] * q[1] - p[2] * q[2] - p[3] * q[3])


def light(energy: float, theta: float, phi: float) -> F8:
    """Massless momentum with the given energy and direction."""
    st = math.sin(theta)
    return energy * np.array([1.0, st * math.cos(phi), st * math.sin(phi), math.cos(theta)])


def boost_z(p: F8, rapidity: float) -> F8:
    """Boost along z."""
    ch, sh = math.cosh(rapidity), math.sinh(rapidity)
    return np.array([ch * p[0] + sh * p[3], p[1], p[2], sh * p[0] + ch * p[3]])


def transverse_basis(p: F8, q: F8, rng: np.random.Generator) -> tuple[F8, F8]:
    """Two spacelike unit vectors (e² = −1) orthogonal to each other and to the massless p and q."""
    out: list[F8] = []
    for _ in range(2):
        r = rng.normal(size=4)
        e = r - dot(r, q) / dot(p, q) * p - dot(r, p) / dot(p, q) * q
        for f in out:
            e = e - dot(e, f) / dot(f, f) * f
        out.append(e / math.sqrt(-dot(e, e)))
    return out[0], out[1]


def _kt(p: F8, q: F8, kt2: float, phi: float, basis: tuple[F8, F8]) -> F8:
    e1, e2 = basis
    return math.sqrt(-kt2) * (math.cos(phi) * e1 + math.sin(phi) * e2)


# --- inverse maps: Born momenta → real momenta ----------------------------------------------------------


def ff_inverse(pij: F8, pk: F8, y: float, z: float, phi: float, basis: tuple[F8, F8]) -> tuple[F8, F8, F8]:
    """FF (CS §5.1): returns (p_i, p_j, p_k) with y_{ij,k} = y, z̃_i = z."""
    kt = _kt(pij, pk, -2.0 * z * (1.0 - z) * y * dot(pij, pk), phi, basis)
    p_i = z * pij + (1.0 - z) * y * pk + kt
    p_j = (1.0 - z) * pij + z * y * pk - kt
    return p_i, p_j, (1.0 - y) * pk


def fi_inverse(pij: F8, pa: F8, x: float, z: float, phi: float, basis: tuple[F8, F8]) -> tuple[F8, F8, F8]:
    """FI (CS §5.2): returns (p_i, p_j, p_a) with x_{ij,a} = x, z̃_i = z."""
    r = (1.0 - x) / x
    kt = _kt(pij, pa, -2.0 * z * (1.0 - z) * r * dot(pij, pa), phi, basis)
    p_i = z * pij + (1.0 - z) * r * pa + kt
    p_j = (1.0 - z) * pij + z * r * pa - kt
    return p_i, p_j, pa / x


def if_inverse(pai: F8, pk: F8, x: float, u: float, phi: float, basis: tuple[F8, F8]) -> tuple[F8, F8, F8]:
    """IF (CS §5.3): returns (p_a, p_i, p_k) with x_{ik,a} = x, u_i = u."""
    r = (1.0 - x) / x
    kt = _kt(pk, pai, -2.0 * u * (1.0 - u) * r * dot(pk, pai), phi, basis)
    p_i = u * pk + (1.0 - u) * r * pai + kt
    p_k = (1.0 - u) * pk + u * r * pai - kt
    return pai / x, p_i, p_k


def _lorentz_between(k: F8, big_k: F8, big_kt: F8) -> F8:
    """CS §5.5 (physics.md §2.5): k̃ = k − 2k·(K+K̃)/(K+K̃)² (K+K̃) + 2k·K/K² K̃ (maps K → K̃)."""
    s = big_k + big_kt
    return k - 2.0 * dot(k, s) / dot(s, s) * s + 2.0 * dot(k, big_k) / dot(big_k, big_k) * big_kt


def ii_inverse(
    pai: F8, pb: F8, others: list[F8], x: float, v: float, phi: float, basis: tuple[F8, F8]
) -> tuple[F8, F8, list[F8]]:
    """II (CS §5.5): returns (p_a, p_i, others) with x_{i,ab} = x, ṽ_i = v; ``others`` boosted back."""
    pa = pai / x
    kt = _kt(pa, pb, -2.0 * v * (1.0 - x - v) * dot(pa, pb), phi, basis)
    p_i = (1.0 - x - v) * pa + v * pb + kt
    big_k = pa + pb - p_i
    big_kt = pai + pb
    return pa, p_i, [_lorentz_between(k, big_kt, big_k) for k in others]


# --- forward maps: real momenta → mapped Born momenta ----------------------------------------------------


def ff_forward(p_i: F8, p_j: F8, p_k: F8) -> tuple[F8, F8]:
    """(p̃_ij, p̃_k)."""
    y = dot(p_i, p_j) / (dot(p_i, p_j) + dot(p_i, p_k) + dot(p_j, p_k))
    return p_i + p_j - y / (1.0 - y) * p_k, p_k / (1.0 - y)


def fi_forward(p_i: F8, p_j: F8, p_a: F8) -> tuple[F8, F8]:
    """(p̃_ij, p̃_a)."""
    x = (dot(p_i, p_a) + dot(p_j, p_a) - dot(p_i, p_j)) / (dot(p_i, p_a) + dot(p_j, p_a))
    return p_i + p_j - (1.0 - x) * p_a, x * p_a


def if_forward(p_a: F8, p_i: F8, p_k: F8) -> tuple[F8, F8]:
    """(p̃_ai, p̃_k)."""
    x = (dot(p_k, p_a) + dot(p_i, p_a) - dot(p_i, p_k)) / (dot(p_k, p_a) + dot(p_i, p_a))
    return x * p_a, p_k + p_i - (1.0 - x) * p_a


def ii_forward(p_a: F8, p_i: F8, p_b: F8, others: list[F8]) -> tuple[F8, list[F8]]:
    """(p̃_ai, others mapped)."""
    x = (dot(p_a, p_b) - dot(p_i, p_a) - dot(p_i, p_b)) / dot(p_a, p_b)
    big_k = p_a + p_b - p_i
    big_kt = x * p_a + p_b
    return x * p_a, [_lorentz_between(k, big_k, big_kt) for k in others]


# --- analytic |M|² (physics.md §1.6 (a)-(c); e = Q_q = 1, photon exchange, summed over spins and colours) --


def me_llqq(l1: F8, l2: F8, q: F8, qbar: F8) -> float:
    """Σ|M|²(ℓ ℓ̄ q q̄), all-outgoing momenta (crossing: pass −p for incoming; even crossings only)."""
    return 8.0 * N_C * (dot(l1, q) ** 2 + dot(l1, qbar) ** 2) / dot(l1, l2) ** 2


def me_llqqg(l1: F8, l2: F8, q: F8, qbar: F8, g: F8, alpha_s: float) -> float:
    """Σ|M|²(ℓ ℓ̄ q q̄ g) with g_s² = 4πα_s, all-outgoing momenta (multiply by −1 per odd fermion crossing)."""
    num = dot(l1, q) ** 2 + dot(l1, qbar) ** 2 + dot(l2, q) ** 2 + dot(l2, qbar) ** 2
    return 8.0 * N_C * C_F * 4.0 * math.pi * alpha_s * num / (dot(l1, l2) * dot(q, g) * dot(qbar, g))


def pp_events(n: int, seed: int, n_final: int = 5) -> np.ndarray:
    """Partonic pp events: RAMBO in the partonic frame (√ŝ = 300 GeV), boosted to x1 ≠ x2.

    Returns shape (n, 2 + n_final, 4).
    """
    rng = np.random.default_rng(seed)
    sqrt_shat = 300.0
    final = _rambo(n_final, sqrt_shat, n, rng)
    half = sqrt_shat / 2.0
    beams = np.broadcast_to(np.array([[half, 0, 0, half], [half, 0, 0, -half]]), (n, 2, 4))
    mom = np.concatenate([beams, final], axis=1)
    rap = rng.uniform(-1.5, 1.5, size=n)
    ch, sh = np.cosh(rap)[:, None], np.sinh(rap)[:, None]
    out = mom.copy()
    out[..., 0] = ch * mom[..., 0] + sh * mom[..., 3]
    out[..., 3] = sh * mom[..., 0] + ch * mom[..., 3]
    return out
