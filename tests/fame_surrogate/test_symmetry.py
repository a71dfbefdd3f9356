"""Identical-particle permutations: exact symmetries of |M|² (checked on the built-in exact ME)."""

from __future__ import annotations

import numpy as np
import pytest

from fame_surrogate.me import matrix_element
from fame_surrogate.phasespace import EEPhaseSpace
from fame_surrogate.symmetry import identical_particle_permutations


def test_three_gluons_give_all_six_orders_identity_first() -> None:
    pdg = [21, 2, 11, -11, 21, 21, 21, 2]
    perms = identical_particle_permutations(pdg, 2, 100, np.random.default_rng(0))
    assert len(perms) == 6
    assert np.array_equal(perms[0], np.arange(8))
    assert len({tuple(p) for p in perms}) == 6
    for p in perms:  # only the gluons 4, 5, 6 move
        assert np.array_equal(p[[0, 1, 2, 3, 7]], [0, 1, 2, 3, 7])
        assert sorted(p[4:7]) == [4, 5, 6]


def test_capped_choice_keeps_the_identity_and_is_seeded() -> None:
    pdg = [21, 2, 11, -11, 21, 21, 21, 21, 2]  # 4! = 24 orders
    a = identical_particle_permutations(pdg, 2, 5, np.random.default_rng(3))
    b = identical_particle_permutations(pdg, 2, 5, np.random.default_rng(3))
    assert len(a) == 5 and np.array_equal(a[0], np.arange(9))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert identical_particle_permutations([11, -11, 1, -1, 21], 2, 9, np.random.default_rng(0))[0].size == 5
    assert len(identical_particle_permutations([11, -11, 1, -1, 21], 2, 9, np.random.default_rng(0))) == 1
    with pytest.raises(ValueError, match="max_count"):
        identical_particle_permutations(pdg, 2, 0, np.random.default_rng(0))


def test_the_exact_me_is_invariant_under_every_permutation() -> None:
    pdg = [11, -11, 21, 21, 21, 1, -1]
    mom, _ = EEPhaseSpace(5, sqrt_s=1000.0, y_cut=0.01).generate(50, np.random.default_rng(4))
    ref = matrix_element(mom, pdg)
    perms = identical_particle_permutations(pdg, 2, 10, np.random.default_rng(0))
    assert len(perms) == 6
    for p in perms[1:]:
        assert not np.allclose(mom[:, p], mom)
        np.testing.assert_allclose(matrix_element(mom[:, p], pdg), ref, rtol=1e-10)
