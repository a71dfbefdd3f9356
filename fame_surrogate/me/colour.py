"""Colour matrices C_kl = sum_colours c_k c_l^* of the colour bases used by the built-in MEs.

Closed forms for SU(N) (reference/physics.md §1.3, §1.4); the tests rebuild every matrix from explicit
Gell-Mann matrices.

* One quark line with n gluons: basis (T^{a_s1} ... T^{a_sn})_{q qbar} over the orderings s in
  ``itertools.permutations(range(n))`` order.
* Four quarks q(1) qbar(2) Q(3) Qbar(4): basis T^b_{12} T^b_{34} and, for identical flavours,
  T^b_{14} T^b_{32}.
* Four quarks and a gluon (colour a): c1 = (T^a T^b)_{12} T^b_{34}, c2 = (T^b T^a)_{12} T^b_{34},
  c3 = T^b_{12} (T^a T^b)_{34}, c4 = T^b_{12} (T^b T^a)_{34}, then the same with 2 <-> 4 for identical
  flavours.
  Derived through the colour-flow basis F1 = T^a_{14} d_{32}, F2 = d_{14} T^a_{32}, F3 = T^a_{12} d_{34},
  F4 = d_{12} T^a_{34} (T^b_{ij} T^b_{kl} = (d_il d_kj - d_ij d_kl / N) / 2).
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import numpy.typing as npt

__all__ = [
    "four_quark_colour_matrix",
    "four_quark_gluon_colour_matrix",
    "one_line_colour_matrix",
    "orderings",
]

F8 = npt.NDArray[np.float64]


def orderings(n: int) -> list[tuple[int, ...]]:
    """Gluon orderings in the order of the colour-matrix rows."""
    return list(itertools.permutations(range(n)))


def _one_line_entry(rel: tuple[int, ...], nc: float) -> float:
    """Tr(T^{s_1}..T^{s_n} T^{s'_n}..T^{s'_1}) for relative permutation ``rel`` (n <= 3)."""
    n = len(rel)
    cf2 = nc * nc - 1.0
    if n == 0:
        return nc
    if n == 1:
        return cf2 / 2.0
    if n == 2:
        return cf2 * cf2 / (4.0 * nc) if rel == (0, 1) else -cf2 / (4.0 * nc)
    if n == 3:
        if rel == (0, 1, 2):
            return cf2**3 / (8.0 * nc * nc)
        if rel in ((1, 0, 2), (0, 2, 1)):  # one adjacent swap
            return -(cf2**2) / (8.0 * nc * nc)
        if rel == (2, 1, 0):  # full reversal
            return cf2 * (nc * nc + 1.0) / (8.0 * nc * nc)
        return cf2 / (8.0 * nc * nc)  # cyclic shifts
    raise ValueError(f"one-line colour matrix implemented for n <= 3 gluons, got n = {n}")


@cache
def one_line_colour_matrix(n: int, nc: float = 3.0) -> F8:
    """Colour matrix over the n! orderings of n gluons on one quark line, shape (n!, n!)."""
    orders = orderings(n)
    mat = np.empty((len(orders), len(orders)))
    for i, s in enumerate(orders):
        inv = {g: pos for pos, g in enumerate(s)}
        for j, t in enumerate(orders):
            rel = tuple(inv[g] for g in t)  # t expressed in positions of s
            mat[i, j] = _one_line_entry(rel, nc)
    mat.flags.writeable = False
    return mat


@cache
def four_quark_colour_matrix(identical: bool, nc: float = 3.0) -> F8:
    """Colour matrix of T^b_{12} T^b_{34} (and T^b_{14} T^b_{32} if ``identical``), shape (1,1) or (2,2)."""
    diag = (nc * nc - 1.0) / 4.0
    off = -(nc * nc - 1.0) / (4.0 * nc)
    mat = np.array([[diag, off], [off, diag]]) if identical else np.array([[diag]])
    mat.flags.writeable = False
    return mat


def _flow_gram(nc: float) -> F8:
    """Gram matrix sum_colours F_i F_j^* of the flow structures F1..F4."""
    d = nc * (nc * nc - 1.0) / 2.0
    t = (nc * nc - 1.0) / 2.0
    return np.array([[d, 0.0, t, t], [0.0, d, t, t], [t, t, d, 0.0], [t, t, 0.0, d]])


@cache
def four_quark_gluon_colour_matrix(identical: bool, nc: float = 3.0) -> F8:
    """Colour matrix of c1..c4 (and the 2<->4 exchanged c1'..c4' if ``identical``), shape (4,4) or (8,8)."""
    inv = 1.0 / nc
    # coefficients over (F1, F2, F3, F4)
    basis = [
        [0.5, 0.0, -0.5 * inv, 0.0],
        [0.0, 0.5, -0.5 * inv, 0.0],
        [0.0, 0.5, 0.0, -0.5 * inv],
        [0.5, 0.0, 0.0, -0.5 * inv],
    ]
    if identical:
        swap = [2, 3, 0, 1]  # 2 <-> 4 maps F1 <-> F3, F2 <-> F4
        basis = basis + [[row[swap[i]] for i in range(4)] for row in basis]
    b = np.array(basis)
    mat = b @ _flow_gram(nc) @ b.T
    mat.flags.writeable = False
    return np.asarray(mat)
