"""Test helper: massless 2 → 2 momenta in the centre-of-mass frame."""

from __future__ import annotations

import numpy as np


def two_body(sqrt_s: np.ndarray, cos: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """q q̄' → a b in the c.m. frame: (N, 4, 4), incoming along ±z, a at polar angle acos(cos), azimuth phi."""
    n = len(sqrt_s)
    e = sqrt_s / 2
    sin = np.sqrt(1 - cos**2)
    p = np.zeros((n, 4, 4))
    p[:, 0] = np.stack([e, 0 * e, 0 * e, e], 1)
    p[:, 1] = np.stack([e, 0 * e, 0 * e, -e], 1)
    d = np.stack([np.ones(n), sin * np.cos(phi), sin * np.sin(phi), cos], 1) * e[:, None]
    p[:, 2] = d
    p[:, 3] = d * np.array([1, -1, -1, -1])
    return p
