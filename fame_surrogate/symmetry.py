"""Exact symmetries of |M|² that training can use: permutations of identical final-state particles.

|M|² (in the fame-dump normalisation, already divided by ∏ n_f!) is symmetric under every exchange of
identical final-state particles, e.g. the three gluons of g u → e+e- g g g u.  The surrogate's inputs are
not (momentum columns and dipoles are indexed by particle).  A model can use the symmetry in two ways
(``TrainConfig.symmetry``):

* ``augment``: each training point is also seen in other orders of its identical particles
  (:func:`identical_particle_permutations`): new, exactly labelled data (6× the points for three gluons);
  the network learns the symmetric function on every ordering.
* ``canonical``: the model puts every event into one canonical order before anything else
  (:class:`CanonicalOrder`: identical particles by descending energy in the partonic frame), inside the
  exported graph too; the network then learns the function on one ordering only, and an epoch costs what
  one order of the points costs.

The default, ``auto``, sorts where copies no longer fit (the cap on the augmented set leaves fewer than
two orders per training point: large samples, where an "augmented" network would see one arbitrary order
and not be symmetric at all) and augments otherwise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor, nn

from ._ops import incoming_sum

__all__ = ["CanonicalOrder", "identical_groups", "identical_particle_permutations", "n_orders"]


def identical_groups(pdg: Sequence[int], n_in: int) -> list[list[int]]:
    """The index groups of identical final-state particles, two or more each, in process order.

    Parameters
    ----------
    pdg : sequence of int
        PDG ids, incoming first.
    n_in : int
        Number of incoming particles (never grouped).

    Returns
    -------
    list of list of int
        E.g. ``[[4, 5, 6]]`` for g u → e- e+ g g g u.
    """
    groups: dict[int, list[int]] = {}
    for i in range(n_in, len(pdg)):
        groups.setdefault(int(pdg[i]), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def n_orders(pdg: Sequence[int], n_in: int) -> int:
    """The number of orders of the identical final-state particles, ∏ n_f! (1 where there are none)."""
    return math.prod(math.factorial(len(g)) for g in identical_groups(pdg, n_in))


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
    n = len(pdg)
    slots = identical_groups(pdg, n_in)
    total = n_orders(pdg, n_in)
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


class CanonicalOrder(nn.Module):
    """Momenta → the same event with every group of identical final-state particles in canonical order.

    Within each group (:func:`identical_groups`) the particles are sorted by descending p_i·P_in, P_in the
    sum of the incoming momenta: their energy in the partonic frame times √ŝ, invariant under boosts along
    the beam and under rotations.  |M|² is unchanged by the reordering, and any function of the reordered
    momenta is symmetric under exchanges of identical particles.  It exports to ONNX as TopK and
    GatherElements nodes.

    Parameters
    ----------
    pdg : sequence of int
        PDG ids, incoming first.
    n_in : int
        Number of incoming particles.

    Attributes
    ----------
    active : bool
        Whether the process has identical final-state particles (otherwise ``forward`` returns its input).
    """

    def __init__(self, pdg: Sequence[int], n_in: int) -> None:
        super().__init__()
        self.n_in = int(n_in)
        self.n_particles = len(pdg)
        self.groups = identical_groups(pdg, n_in)
        self.active = bool(self.groups)
        for k, g in enumerate(self.groups):
            self.register_buffer(f"_group{k}", torch.tensor(g, dtype=torch.int64), persistent=False)

    def forward(self, momenta: Tensor) -> Tensor:
        """Reorder ``momenta`` (B, n, 4) (E, px, py, pz), any float dtype; the result has the same shape."""
        if not self.active:
            return momenta
        p_in = incoming_sum(momenta, self.n_in)
        pieces: dict[int, Tensor] = {}  # index of a grouped particle → the momentum (B, 1, 4) that fills it
        for k, g in enumerate(self.groups):
            idx: Tensor = getattr(self, f"_group{k}")
            q = torch.index_select(momenta, 1, idx)  # (B, m, 4)
            key = p_in[:, None, 0] * q[:, :, 0] - torch.sum(p_in[:, None, 1:] * q[:, :, 1:], dim=2)
            order = torch.argsort(key, dim=1, descending=True)
            q = torch.gather(q, 1, order[:, :, None].expand(-1, -1, 4))
            for j, i in enumerate(g):
                pieces[i] = q[:, j : j + 1, :]
        # the output in process order: runs of untouched particles as slices, grouped ones from `pieces`
        out: list[Tensor] = []
        start = 0
        for i in range(self.n_particles + 1):
            if i == self.n_particles or i in pieces:
                if i > start:
                    out.append(momenta[:, start:i, :])
                if i < self.n_particles:
                    out.append(pieces[i])
                start = i + 1
        return torch.cat(out, dim=1)
