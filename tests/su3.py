"""Test helper: the SU(3) generators in the fundamental representation, from the Gell-Mann matrices.

Shared by the colour tests of ``tests/fame_surrogate`` and ``tests/fame_surrogate/me`` (``tests/`` is on the
import path through its ``conftest.py``).
"""

from __future__ import annotations

import numpy as np


def generators() -> np.ndarray:
    """T^a = lambda^a / 2, shape (8, 3, 3)."""
    lam = np.zeros((8, 3, 3), dtype=complex)
    lam[0][0, 1] = lam[0][1, 0] = 1
    lam[1][0, 1], lam[1][1, 0] = -1j, 1j
    lam[2][0, 0], lam[2][1, 1] = 1, -1
    lam[3][0, 2] = lam[3][2, 0] = 1
    lam[4][0, 2], lam[4][2, 0] = -1j, 1j
    lam[5][1, 2] = lam[5][2, 1] = 1
    lam[6][1, 2], lam[6][2, 1] = -1j, 1j
    lam[7] = np.diag([1, 1, -2]) / np.sqrt(3)
    return lam / 2
