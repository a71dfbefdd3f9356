"""Raw network inputs of the factorisation-aware surrogate (SPEC §4.2); standardisation is the model's job.

Columns, in order:

1. the final-state momenta (E, px, py, pz of every final-state particle, flattened), divided by √ŝ of the
   event (ŝ = (Σ p_in)², so e+e- and boosted hadronic events look alike); for hadron collisions they are first
   boosted along z into the partonic centre-of-mass frame (|M|² does not depend on that boost);
2. for every FF dipole of :class:`~fame_surrogate.dipoles.DipoleBasis`, log y_{ij,k};
   for every FI / IF / II dipole, log((1 − x)/x) (→ −∞ in the singular limit like log y; FAME feeds x/(1−x));
3. for hadron collisions (a coloured incoming parton), log(|s_ij| / ŝ) for every pair except the two beams
   (final–final and initial–final: the t-channel propagators), and
   log(ŝ / GeV²): unlike e+e- at fixed √s, the absolute scale matters there (a Z resonance sits at a fixed
   mass, not at a fixed fraction of ŝ).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._ops import gram_rows
from .dipoles import (
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


class FeatureMap(torch.nn.Module):
    """Momenta → raw features (no trainable parameters).

    Parameters
    ----------
    pdg : sequence of int
        PDG codes in Sherpa order, incoming first.
    n_in : int
        Number of incoming particles.

    Attributes
    ----------
    n_features : int
        Number of output columns.
    names : list of str
        One name per column: ``p{idx}_{E,x,y,z}``, ``logy_…``/``logx_…`` with the dipole name,
        ``logsij(i,j)``.
    """

    _sij_idx: Tensor

    def __init__(self, pdg: Sequence[int], n_in: int = 2) -> None:
        super().__init__()
        self.pdg = [int(p) for p in pdg]
        self.n_in = int(n_in)
        n = len(self.pdg)
        self.n_particles = n
        if n_in < 1:
            raise ValueError(f"FeatureMap needs incoming particles to define ŝ; got n_in={n_in}")
        dipoles, _ = enumerate_dipoles(self.pdg, self.n_in)
        self.hadronic = any(is_coloured(p) for p in self.pdg[: self.n_in])
        self._families: list[str] = []
        names = [f"p{i}_{c}" for i in range(n_in, n) for c in "Exyz"]
        for fam in ("FF", "FI", "IF", "II"):
            members = [d for d in dipoles if d.family == fam]
            if not members:
                continue
            pairs = [invariant_pairs(d) for d in members]
            flat = torch.tensor([[a * n + b for a, b in t] for t in pairs], dtype=torch.int64).T.contiguous()
            self.register_buffer(f"_idx_{fam}", flat, persistent=False)
            self._families.append(fam)
            prefix = "logy" if fam == "FF" else "logx"
            names += [f"{prefix}_{d.name}" for d in members]
        # hadron collisions: every pair but the two beams (final–final and initial–final invariants)
        fin_pairs = [(i, j) for i in range(n) for j in range(max(i + 1, n_in), n)] if self.hadronic else []
        self.register_buffer(
            "_sij_idx", torch.tensor([i * n + j for i, j in fin_pairs], dtype=torch.int64), persistent=False
        )
        names += [f"logsij({i},{j})" for i, j in fin_pairs]
        if self.hadronic:
            names.append("log_shat")
        self.names = names
        self.n_features = len(names)

    def forward(self, momenta: Tensor, rows: Tensor | None = None) -> Tensor:
        """Compute the raw features.

        Parameters
        ----------
        momenta : Tensor, float64, shape (B, n, 4)
            (E, px, py, pz) in GeV, process order, incoming first.
        rows : Tensor, float64, shape (n*n, B), optional
            ``_ops.gram_rows(momenta)`` if the caller has it already (it is computed otherwise).

        Returns
        -------
        Tensor, float64, shape (B, n_features)
        """
        n = self.n_particles
        if rows is None:
            rows = gram_rows(momenta)
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
                inv.append(torch.log(torch.clamp(ff_recoil(d1, d2, d3)[0], min=_LOG_FLOOR)))
                continue
            if fam == "FI":
                x = fi_recoil(d1, d2, d3)[0]
            elif fam == "IF":
                x = if_recoil(d1, d2, d3)[0]
            else:
                x = ii_recoil(d1, d2, d3)
            ratio = torch.clamp(1.0 - x, min=_LOG_FLOOR) / torch.clamp(x, min=_LOG_FLOOR)
            inv.append(torch.log(ratio))
        if self.hadronic:
            sij = 2.0 * torch.index_select(rows, 0, self._sij_idx)
            inv.append(torch.log(torch.clamp(sij / shat.reshape(1, -1), min=_LOG_FLOOR)))
            inv.append(torch.log(shat.reshape(1, -1)))
            # longitudinal boost into the partonic rest frame (incoming partons along ±z)
            beta = (p_in[:, 3:4] / p_in[:, 0:1]).unsqueeze(1)
            gamma = 1.0 / torch.sqrt((1.0 - beta) * (1.0 + beta))
            fin = momenta[:, self.n_in :, :]
            e_cm = gamma * (fin[..., 0:1] - beta * fin[..., 3:4])
            z_cm = gamma * (fin[..., 3:4] - beta * fin[..., 0:1])
            final = torch.cat([e_cm, fin[..., 1:3], z_cm], dim=-1).reshape(-1, (n - self.n_in) * 4)
        cols = [final / root_shat]
        if inv:
            cols.append(torch.cat(inv, dim=0).transpose(0, 1))
        return torch.cat(cols, dim=1)
