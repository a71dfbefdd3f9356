"""The seeded train/validation split of a training set: written once, for ``train_surrogate`` and the Dask
replica tasks of ``fame train`` (which must hold out exactly the same points).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["validation_split"]

I8 = npt.NDArray[np.int64]


def validation_split(
    n: int, val_fraction: float, seed: int, *, max_points: int | None = None
) -> tuple[I8, I8]:
    """(training, held-out) indices of ``n`` points, each sorted: ``val_fraction`` of them held out.

    A generator seeded by ``seed`` first draws ``max_points`` of the ``n`` points (when ``max_points < n``),
    then permutes the points in use; the first ``max(1, round(val_fraction · n_use))`` of the permutation
    are held out (none of no points).  The same arguments always give the same indices.

    Parameters
    ----------
    n : int
        Number of points.
    val_fraction : float
        Fraction held out, 0 < val_fraction < 1.
    seed : int
        Seed of ``numpy.random.default_rng``.
    max_points : int, optional
        Use at most this many points (a seeded random subset) before the split.

    Returns
    -------
    train_index, val_index : ndarray, int64
        Indices into the ``n`` points, disjoint and sorted.
    """
    rng = np.random.default_rng(seed)
    use = np.arange(n, dtype=np.int64)
    if max_points is not None and max_points < n:
        use = np.sort(rng.choice(n, size=max_points, replace=False)).astype(np.int64)
    n_val = max(1, round(val_fraction * use.size)) if use.size else 0
    perm = rng.permutation(use)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])
