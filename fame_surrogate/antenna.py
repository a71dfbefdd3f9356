"""The antenna-chain feature of hadron collisions with one quark line: a column of
:class:`~fame_surrogate.features.FeatureMap`, on with ``TrainConfig.antenna``.

At leading colour the squared amplitude of q → q + gluons (incoming partons crossed into the final state) is
a sum over the orderings σ of the gluons between the two quark ends of a chain of eikonal factors
(Parke–Taylor for the MHV helicities)::

    A = Σ_σ Π_links 1/|s_ab|,   s_ab = 2 p_a·p_b,

the links being the neighbours of the chain q, g_σ(1), …, g_σ(k), q'.  Its logarithm, made dimensionless as
log(A ŝ^(k+1)) (k + 1 links), is one column.  It is a fixed non-linear function of the log(|s_ab|/ŝ) columns
that the feature map already has (a log-sum-exp of sums of them), so the column adds no information, only a
shape: in one column it carries the soft and collinear growth that every ordering shares, which the network
would otherwise build from the separate logarithms (27 at Z+4).  At Z+4 jets (720k events, one replica,
450 CPU-s, the pointwise objective, seed 0) it cut the held-out median |Δ| from 0.0308 to 0.0294, and with a
256-wide first layer (2 × 900 CPU-s) from 0.0207 to 0.0202 (examples/zjets/README.md).

The column exists for massless hadron collisions whose coloured partons are two quarks (or antiquarks) and
1 to :data:`MAX_GLUONS` gluons (e.g. pp → Z/W + jets with one quark line); it is absent otherwise (two quark
lines, only gluons, massive quarks).  A link between the two incoming partons has 2 p_a·p_b = ŝ and adds 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .dipoles import coloured_beams

__all__ = ["MAX_GLUONS", "AntennaColumn", "antenna_chains"]

#: the most gluons the column sums the orderings of (6! = 720 orderings; the column's matrix product is then
#: 720 × (number of s_ab columns) multiply-adds per event)
MAX_GLUONS = 6


def antenna_chains(pdg: Sequence[int], n_in: int = 2) -> list[list[tuple[int, int]]]:
    """The links (a < b, particle indices) of every colour ordering of the quark chain, or [] without one.

    Parameters
    ----------
    pdg : sequence of int
        PDG codes in process order, incoming first.
    n_in : int
        Number of incoming particles (the column needs two, at least one of them coloured).

    Returns
    -------
    list of list of (int, int)
        One list per ordering of the gluons (``k!`` of them, in :func:`itertools.permutations` order), each
        with the ``k + 1`` links from the first quark to the second; [] where the process has no coloured
        beam, does not have exactly two (anti)quarks among its coloured partons, has no gluon or more than
        :data:`MAX_GLUONS`, or has a top quark.
    """
    codes = [int(c) for c in pdg]
    if n_in != 2 or not coloured_beams(codes, n_in):
        return []
    quarks = [i for i, c in enumerate(codes) if 1 <= abs(c) <= 6]
    gluons = [i for i, c in enumerate(codes) if c == 21]
    if len(quarks) != 2 or any(abs(codes[i]) == 6 for i in quarks) or not 1 <= len(gluons) <= MAX_GLUONS:
        return []
    chains = []
    for order in itertools.permutations(gluons):
        ends = [quarks[0], *order, quarks[1]]
        chains.append([(min(a, b), max(a, b)) for a, b in itertools.pairwise(ends)])
    return chains


class AntennaColumn(nn.Module):
    """log(A ŝ^(k+1)) of the log(|s_ab|/ŝ) columns (no trainable parameters).

    Parameters
    ----------
    chains : list of list of (int, int)
        :func:`antenna_chains` of the process (non-empty).
    pairs : sequence of (int, int)
        The pairs (a < b) of the log(|s_ab|/ŝ) rows that :meth:`forward` reads, in their order; every link
        must be one of them, or the beam pair (0, 1), whose term is 0.
    """

    _links: Tensor

    def __init__(self, chains: Sequence[Sequence[tuple[int, int]]], pairs: Sequence[tuple[int, int]]) -> None:
        super().__init__()
        if not chains:
            raise ValueError("AntennaColumn needs at least one colour ordering")
        where = {p: k for k, p in enumerate(pairs)}
        links = torch.zeros(len(chains), len(where), dtype=torch.float64)
        for row, chain in enumerate(chains):
            for link in chain:
                if link == (0, 1):
                    continue  # 2 p_0·p_1 = ŝ for massless beams: log 1
                if link not in where:
                    raise ValueError(f"antenna link {link} is not among the s_ab columns")
                links[row, where[link]] -= 1.0
        #: (orderings, s_ab columns): minus the number of times each s_ab is a link of each ordering
        self.register_buffer("_links", links, persistent=False)

    def forward(self, log_sab: Tensor) -> Tensor:
        """The column, pair-major.

        Parameters
        ----------
        log_sab : Tensor, shape (len(pairs), B)
            log(|s_ab|/ŝ) of the pairs, float32 or float64.

        Returns
        -------
        Tensor, shape (1, B), the dtype of ``log_sab``
            log Σ_σ Π_links ŝ/|s_ab|, a log-sum-exp over the orderings (its maximum taken out first, so
            that neither float32 nor ONNX Runtime overflows).
        """
        terms = self._links.to(log_sab.dtype) @ log_sab  # (orderings, B): Σ_links log(ŝ/|s_ab|)
        top = torch.amax(terms, dim=0, keepdim=True)
        return top + torch.log(torch.exp(terms - top).sum(0, keepdim=True))
