"""Raw network inputs of the factorisation-aware surrogate (SPEC §4.2); standardisation is the model's job.

Columns, in order:

1. the final-state momenta (E, px, py, pz of every final-state particle, flattened), divided by √ŝ of the
   event (ŝ = (Σ p_in)², so e+e- and boosted hadronic events look alike); for hadron collisions they are first
   boosted along z into the partonic centre-of-mass frame (|M|² does not depend on that boost);
2. for every FF dipole of :class:`~fame_surrogate.dipoles.DipoleBasis`, log y_{ij,k};
   for every FI / IF / II dipole, log((1 − x)/x) (→ −∞ in the singular limit like log y; FAME feeds x/(1−x));
3. for hadron collisions (a coloured incoming parton), log(|s_ij| / ŝ) for every pair except the two beams
   (final–final and initial–final: the t-channel propagators);
4. log(ŝ / GeV²): the absolute scale, which carries the dimension of |M|² (the dipole model's linear skip
   reads it) and matters in hadron collisions (a Z resonance sits at a fixed mass, not at a fixed fraction
   of ŝ); a constant for e+e- at fixed √s.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._ops import gram_index, gram_rows, pair_rows, partonic_frame
from .dipoles import (
    dipole_pairs,
    enumerate_dipoles,
    ff_recoil,
    fi_recoil,
    if_recoil,
    ii_recoil,
    invariant_pairs,
    is_coloured,
)

#: Floor applied before the logarithms (only reached for degenerate kinematics, e.g. x ≥ 1 by rounding);
#: representable in float32 (see ``_ops``).
_LOG_FLOOR = 1e-30


def _beamless_pairs(pdg: Sequence[int], n_in: int) -> list[tuple[int, int]]:
    """For hadron collisions (a coloured incoming parton) every pair (i < j) but the two beams: the
    final–final and initial–final invariants whose log(|s_ij|/ŝ) are features; none otherwise."""
    if not any(is_coloured(p) for p in pdg[:n_in]):
        return []
    n = len(pdg)
    return [(i, j) for i in range(n) for j in range(max(i + 1, n_in), n)]


def feature_pairs(pdg: Sequence[int], n_in: int = 2) -> list[tuple[int, int]]:
    """The pairs (i < j) whose Minkowski products :class:`FeatureMap` reads, sorted.

    The three invariants of every dipole's recoil variable, and for hadron collisions every pair but the two
    beams.
    """
    pdg = [int(p) for p in pdg]
    dipoles, _ = enumerate_dipoles(pdg, n_in)
    return sorted(dipole_pairs(dipoles) | set(_beamless_pairs(pdg, n_in)))


class FeatureMap(torch.nn.Module):
    """Momenta → raw features (no trainable parameters).

    Parameters
    ----------
    pdg : sequence of int
        PDG codes in Sherpa order, incoming first.
    n_in : int
        Number of incoming particles.
    pairs : sequence of (int, int), optional
        Row layout of the ``rows`` passed to :meth:`forward`, ``gram_rows(momenta, gram_index(pairs))``;
        default :func:`feature_pairs`.  A model sharing one Gram computation with its dipole basis passes
        the union.

    Attributes
    ----------
    pairs : list of (int, int)
        The row layout of ``rows``.
    n_features : int
        Number of output columns.
    names : list of str
        One name per column: ``p{idx}_{E,x,y,z}``, ``logy_…``/``logx_…`` with the dipole name,
        ``logsij(i,j)``.
    log_columns : list of int
        Indices of the logarithmic columns (all but the momenta).
    """

    _sij_idx: Tensor
    _gram_idx: Tensor

    def __init__(
        self, pdg: Sequence[int], n_in: int = 2, pairs: Sequence[tuple[int, int]] | None = None
    ) -> None:
        super().__init__()
        self.pdg = [int(p) for p in pdg]
        self.n_in = int(n_in)
        n = len(self.pdg)
        self.n_particles = n
        if n_in < 1:
            raise ValueError(f"FeatureMap needs incoming particles to define ŝ; got n_in={n_in}")
        dipoles, _ = enumerate_dipoles(self.pdg, self.n_in)
        self.pairs = list(pairs) if pairs is not None else feature_pairs(self.pdg, self.n_in)
        self.register_buffer("_gram_idx", gram_index(self.pairs), persistent=False)
        self.hadronic = any(is_coloured(p) for p in self.pdg[: self.n_in])
        self._families: list[str] = []
        names = [f"p{i}_{c}" for i in range(n_in, n) for c in "Exyz"]
        for fam in ("FF", "FI", "IF", "II"):
            members = [d for d in dipoles if d.family == fam]
            if not members:
                continue
            where = [pair_rows(self.pairs, invariant_pairs(d)) for d in members]
            flat = torch.tensor(where, dtype=torch.int64).T.contiguous()
            self.register_buffer(f"_idx_{fam}", flat, persistent=False)
            self._families.append(fam)
            prefix = "logy" if fam == "FF" else "logx"
            names += [f"{prefix}_{d.name}" for d in members]
        fin_pairs = _beamless_pairs(self.pdg, self.n_in)
        self.register_buffer(
            "_sij_idx", torch.tensor(pair_rows(self.pairs, fin_pairs), dtype=torch.int64), persistent=False
        )
        names += [f"logsij({i},{j})" for i, j in fin_pairs]
        names.append("log_shat")
        self.names = names
        self.n_features = len(names)
        #: the logarithmic columns (every column after the momenta): the log-invariant features that the
        #: dipole model's linear skip reads
        self.log_columns = list(range(4 * (n - n_in), len(names)))

    def forward(
        self, momenta: Tensor, rows: Tensor | None = None, dtype: torch.dtype = torch.float64
    ) -> Tensor:
        """Compute the raw features.

        Parameters
        ----------
        momenta : Tensor, float64, shape (B, n, 4)
            (E, px, py, pz) in GeV, process order, incoming first.
        rows : Tensor, float64, shape (len(pairs), B), optional
            ``gram_rows(momenta, gram_index(self.pairs))`` if the caller has it (computed otherwise).
        dtype : torch.dtype
            dtype of the result.  ``torch.float32`` (for a float32 network, which reads nothing finer) rounds
            the float64 momentum ratios and logarithm arguments once and takes the logarithms in float32,
            which ONNX Runtime vectorises (its float64 Log is scalar, ≈ 7 ns a value).

        Returns
        -------
        Tensor, shape (B, n_features), ``dtype``
        """
        n = self.n_particles
        if rows is None:
            rows = gram_rows(momenta, self._gram_idx)
        p_in = momenta[:, 0, :]  # explicit adds: ONNX Runtime's ReduceSum over a middle axis is slow
        for k in range(1, self.n_in):
            p_in = p_in + momenta[:, k, :]
        shat = p_in[:, :1] * p_in[:, :1] - torch.sum(p_in[:, 1:] * p_in[:, 1:], dim=1, keepdim=True)
        root_shat = torch.sqrt(shat)
        final = momenta[:, self.n_in :, :].reshape(-1, (n - self.n_in) * 4)
        # the invariant-based columns are computed pair-major, (k, B): row gathers are cheap in ONNX Runtime
        inv: list[Tensor] = []
        for fam in self._families:
            idx: Tensor = getattr(self, f"_idx_{fam}")
            d1 = torch.index_select(rows, 0, idx[0])
            d2 = torch.index_select(rows, 0, idx[1])
            d3 = torch.index_select(rows, 0, idx[2])
            if fam == "FF":
                arg = ff_recoil(d1, d2, d3)[0]
            else:
                if fam == "FI":
                    x = fi_recoil(d1, d2, d3)[0]
                elif fam == "IF":
                    x = if_recoil(d1, d2, d3)[0]
                else:
                    x = ii_recoil(d1, d2, d3)
                arg = torch.clamp(1.0 - x, min=_LOG_FLOOR) / torch.clamp(x, min=_LOG_FLOOR)
            inv.append(torch.log(torch.clamp(arg.to(dtype), min=_LOG_FLOOR)))
        if self.hadronic:
            sij = 2.0 * torch.index_select(rows, 0, self._sij_idx)
            inv.append(torch.log(torch.clamp((sij / shat.reshape(1, -1)).to(dtype), min=_LOG_FLOOR)))
        inv.append(torch.log(shat.reshape(1, -1).to(dtype)))
        if self.hadronic:
            # the canonical frame: partonic rest frame, first final-state particle at φ = 0
            boosted = partonic_frame(momenta, self.n_in)
            final = boosted[:, self.n_in :, :].reshape(-1, (n - self.n_in) * 4)
        cols = [(final / root_shat).to(dtype)]
        if inv:
            cols.append(torch.cat(inv, dim=0).transpose(0, 1))
        return torch.cat(cols, dim=1)
