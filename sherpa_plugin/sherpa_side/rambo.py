"""Massless RAMBO and the global s_ij cut for lepton beams, numpy only.

This repeats ``fame_surrogate.phasespace`` (Kleiss–Stirling–Ellis RAMBO, weight
W_n = (2π)^(4-3n) (π/2)^(n-1) s^(n-2) / ((n-1)! (n-2)!)) because the Sherpa-side dumper may not import the
fame packages; the test suite checks both against each other.  It stands apart from
``fame_surrogate/phasespace.py`` on purpose: the Sherpa side runs under Sherpa's Python without fame (the one
exception to "each formula once" that issue #20 allows).
"""

from __future__ import annotations

import math

import numpy as np


def rambo_weight(n_out: int, sqrt_s: float) -> float:
    """Constant RAMBO weight in GeV^(2n-4) (Sherpa's Rambo convention)."""
    s = sqrt_s * sqrt_s
    return float(
        (2 * math.pi) ** (4 - 3 * n_out)
        * (math.pi / 2) ** (n_out - 1)
        * s ** (n_out - 2)
        / (math.factorial(n_out - 1) * math.factorial(n_out - 2))
    )


def rambo(n_out: int, sqrt_s: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` flat massless points, float64 (n, n_out, 4), (E, px, py, pz) in the c.m. frame."""
    r = rng.random((n, n_out, 4))
    c = 2.0 * r[..., 0] - 1.0
    phi = 2.0 * math.pi * r[..., 1]
    q0 = -np.log(r[..., 2] * r[..., 3])
    st = np.sqrt(np.clip(1.0 - c * c, 0.0, None))
    q = np.stack([q0, q0 * st * np.cos(phi), q0 * st * np.sin(phi), q0 * c], axis=-1)
    qs = q.sum(axis=1)
    mass = np.sqrt(qs[:, 0] ** 2 - np.sum(qs[:, 1:] ** 2, axis=-1))
    b = -qs[:, 1:] / mass[:, None]
    gamma = qs[:, 0] / mass
    a = 1.0 / (1.0 + gamma)
    x = sqrt_s / mass
    bq = np.einsum("ek,eik->ei", b, q[..., 1:])
    p0 = x[:, None] * (gamma[:, None] * q[..., 0] + bq)
    pv = x[:, None, None] * (
        q[..., 1:] + b[:, None, :] * q[..., 0:1] + (a[:, None] * bq)[..., None] * b[:, None, :]
    )
    return np.concatenate([p0[..., None], pv], axis=-1)


def min_sij_over_s(final: np.ndarray, sqrt_s: float) -> np.ndarray:
    """min over final-state pairs of 2 p_i·p_j / s, shape (N,)."""
    best = np.full(final.shape[0], np.inf)
    n = final.shape[1]
    for i in range(n):
        for j in range(i + 1, n):
            pi, pj = final[:, i], final[:, j]
            sij = 2.0 * (pi[:, 0] * pj[:, 0] - np.sum(pi[:, 1:] * pj[:, 1:], axis=-1))
            best = np.minimum(best, sij)
    return best / (sqrt_s * sqrt_s)


def generate(
    n_out: int, sqrt_s: float, y_cut: float | None, n_points: int, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Exactly ``n_points`` final states passing s_ij > y_cut·s; returns (final, number of RAMBO draws)."""
    kept: list[np.ndarray] = []
    have = drawn = 0
    while have < n_points:
        want = max(256, int(1.3 * (n_points - have)))
        final = rambo(n_out, sqrt_s, want, rng)
        if y_cut is not None and y_cut > 0:
            ok = min_sij_over_s(final, sqrt_s) > y_cut
            # count draws only up to the last point we keep
            idx = np.flatnonzero(ok)
            need = n_points - have
            if len(idx) > need:
                drawn += int(idx[need - 1]) + 1
                final = final[idx[:need]]
            else:
                drawn += want
                final = final[idx]
        else:
            final = final[: n_points - have]
            drawn += len(final)
        kept.append(final)
        have += len(final)
    return np.concatenate(kept), drawn
