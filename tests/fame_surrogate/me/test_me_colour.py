"""Colour matrices of fame_surrogate.me.colour rebuilt by explicit SU(3) sums over Gell-Mann matrices."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from su3 import generators

from fame_surrogate.me.colour import (
    four_quark_colour_matrix,
    four_quark_gluon_colour_matrix,
    one_line_colour_matrix,
    orderings,
)

T = generators()


def test_generators_normalised() -> None:
    tr = np.einsum("aij,bji->ab", T, T)
    np.testing.assert_allclose(tr, 0.5 * np.eye(8), atol=1e-15)


def gram(tensors: list[np.ndarray]) -> np.ndarray:
    flat = [t.reshape(-1) for t in tensors]
    return np.array([[np.vdot(b, a).real for b in flat] for a in flat])


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_one_line(n: int) -> None:
    tensors = []
    for order in orderings(n):
        # (T^{a_s1} ... T^{a_sn})_{ij} as a tensor over (a_1, ..., a_n, i, j)
        out = np.zeros((8,) * n + (3, 3), dtype=complex)
        for colours in itertools.product(range(8), repeat=n):
            mat = np.eye(3, dtype=complex)
            for k in order:
                mat = mat @ T[colours[k]]
            out[colours] = mat
        tensors.append(out)
    np.testing.assert_allclose(one_line_colour_matrix(n), gram(tensors), atol=1e-12)


def test_one_line_published_numbers() -> None:
    c3 = (
        np.array(
            [
                [64, -8, -8, 1, 1, 10],
                [-8, 64, 1, 10, -8, 1],
                [-8, 1, 64, -8, 10, 1],
                [1, 10, -8, 64, 1, -8],
                [1, -8, 10, 1, 64, -8],
                [10, 1, 1, -8, -8, 64],
            ]
        )
        / 9.0
    )
    np.testing.assert_allclose(one_line_colour_matrix(3), c3, atol=1e-14)
    np.testing.assert_allclose(one_line_colour_matrix(2), [[16 / 3, -2 / 3], [-2 / 3, 16 / 3]], atol=1e-14)


@pytest.mark.parametrize("identical", [False, True])
def test_four_quarks(identical: bool) -> None:
    # indices (i1, j2, i3, j4): T^b_{12} T^b_{34} and T^b_{14} T^b_{32}
    direct = np.einsum("bij,bkl->ijkl", T, T)
    exch = np.einsum("bil,bkj->ijkl", T, T)
    tensors = [direct, exch] if identical else [direct]
    np.testing.assert_allclose(four_quark_colour_matrix(identical), gram(tensors), atol=1e-12)


@pytest.mark.parametrize("identical", [False, True])
def test_four_quarks_gluon(identical: bool) -> None:
    # tensors over (a, i1, j2, i3, j4)
    c1 = np.einsum("aim,bmj,bkl->aijkl", T, T, T)
    c2 = np.einsum("bim,amj,bkl->aijkl", T, T, T)
    c3 = np.einsum("bij,akm,bml->aijkl", T, T, T)
    c4 = np.einsum("bij,bkm,aml->aijkl", T, T, T)
    tensors = [c1, c2, c3, c4]
    if identical:
        tensors += [t.transpose(0, 1, 4, 3, 2) for t in tensors]  # j2 <-> j4
    np.testing.assert_allclose(four_quark_gluon_colour_matrix(identical), gram(tensors), atol=1e-12)
