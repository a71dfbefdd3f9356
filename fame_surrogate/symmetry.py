"""Exact symmetries of |M|² that training can use: permutations of identical final-state particles.

|M|² (in the fame-dump normalisation, already divided by ∏ n_f!) is symmetric under every exchange of
identical final-state particles, e.g. the three gluons of g u → e+e- g g g u.  The surrogate's inputs are
not (momentum columns and dipoles are indexed by particle), so each training point seen in every
permuted order is new, exactly labelled data: 6× the points for three identical gluons.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["identical_particle_permutations"]


def identical_particle_permutations(
    pdg: Sequence[int], n_in: int, max_count: int, rng: np.random.Generator
) -> list[npt.NDArray[np.int64]]:
    """Particle-index permutations that exchange identical final-state particles, the identity first.

    Parameters
    ----------
    pdg : sequence of int
        PDG ids, incoming first.
    n_in : int
        Number of incoming particles (never permuted).
    max_count : int
        At most this many permutations are returned (≥ 1); when the group has more, the identity and a
        seeded random choice of the others.
    rng : numpy.random.Generator
        Source of that choice.

    Returns
    -------
    list of ndarray of int64, shape (n,) each
        ``momenta[:, perm]`` is the same event with identical particles exchanged.
    """
    if max_count < 1:
        raise ValueError(f"max_count must be at least 1, got {max_count}")
    ids = [int(p) for p in pdg]
    n = len(ids)
    groups: dict[int, list[int]] = {}
    for i in range(n_in, n):
        groups.setdefault(ids[i], []).append(i)
    slots = [g for g in groups.values() if len(g) > 1]
    total = math.prod(math.factorial(len(g)) for g in slots)
    identity = np.arange(n, dtype=np.int64)
    if total == 1 or max_count == 1:
        return [identity]
    perms: list[npt.NDArray[np.int64]] = []
    for choice in itertools.product(*(itertools.permutations(g) for g in slots)):
        perm = identity.copy()
        for where, order in zip(slots, choice, strict=True):
            perm[where] = order
        perms.append(perm)
    # the identity comes first from itertools; keep it and pick the rest at random when there are too many
    if len(perms) > max_count:
        pick = rng.choice(np.arange(1, len(perms)), size=max_count - 1, replace=False)
        perms = [perms[0]] + [perms[int(k)] for k in np.sort(pick)]
    return perms
