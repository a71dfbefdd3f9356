"""The one train/validation split (train_surrogate and the Dask replica tasks of ``fame train``)."""

from __future__ import annotations

import numpy as np
import pytest

from fame_surrogate.split import validation_split


@pytest.mark.parametrize(("n", "fraction", "seed"), [(800, 0.25, 0), (1001, 0.1, 7), (3, 0.1, 1)])
def test_split_is_a_seeded_partition(n: int, fraction: float, seed: int) -> None:
    train, val = validation_split(n, fraction, seed)
    assert val.size == max(1, round(fraction * n))
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    # the held-out points are the first of the seeded permutation (what train_surrogate has always held out)
    perm = np.random.default_rng(seed).permutation(n)
    np.testing.assert_array_equal(val, np.sort(perm[: val.size]))
    again = validation_split(n, fraction, seed)
    np.testing.assert_array_equal(again[0], train)
    np.testing.assert_array_equal(again[1], val)


def test_split_of_a_seeded_subset_and_of_nothing() -> None:
    train, val = validation_split(1000, 0.2, 3, max_points=100)
    assert train.size == 80 and val.size == 20
    rng = np.random.default_rng(3)
    use = np.sort(rng.choice(1000, size=100, replace=False))
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), use)
    np.testing.assert_array_equal(val, np.sort(rng.permutation(use)[:20]))
    # max_points at or above n: all points, the same split as without it
    for a, b in zip(validation_split(50, 0.2, 3, max_points=50), validation_split(50, 0.2, 3), strict=True):
        np.testing.assert_array_equal(a, b)
    empty_train, empty_val = validation_split(0, 0.1, 0)
    assert empty_train.size == 0 and empty_val.size == 0
