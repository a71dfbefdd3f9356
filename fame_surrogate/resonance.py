"""The γ*/Z propagator factor of a final-state lepton pair, as a torch module inside the surrogate graph.

In pp → ℓ+ℓ- + jets the Born, and with it every dipole coefficient, carries the Breit–Wigner of the
lepton-pair mass: |M|² varies by orders of magnitude across m_ℓℓ, which a network with smooth inputs cannot
resolve to 1%.  The factorisation-aware model therefore multiplies its dipole basis by

    F(s) = s Σ_{f} Σ_{λℓ, λq} |Q_ℓ Q_f / s + g_ℓ^{λℓ} g_f^{λq} / (s_W² c_W² (s − μ_Z²))|²,   s = m_ℓℓ²,

the chirality-summed electroweak factor of q q̄ → γ*/Z → ℓℓ times the lepton tensor's scale: the squared
propagator (∝ |…|²) times the lepton tensor (∝ s), in GeV⁻².  With jets the hadronic tensor's scale is
the event's hardness, not s, so |M|² ∝ F · H(jets); for q q̄ → ℓℓ alone H ∝ s and s·F is the
angle-averaged Born.  The sum runs over the quark flavours of the process when they
are all up-type or all down-type, else over u and d: the network then learns only the smooth
flavour-dependent remainder.  Couplings are those of :class:`fame_surrogate.me.EWParams` (Sherpa's Gμ /
complex-mass defaults).  Written with real arithmetic only (Add, Mul, Div), so it exports to ONNX in float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .me.couplings import EWParams, quark_charge, quark_isospin

__all__ = ["LeptonPairPropagator", "lepton_pair"]

_CHARGED_LEPTONS = (11, 13, 15)


def lepton_pair(pdg: Sequence[int], n_in: int) -> tuple[int, int] | None:
    """Indices (ℓ-, ℓ+) of the final-state charged-lepton pair of a process with coloured beams, else None.

    Parameters
    ----------
    pdg : sequence of int
        PDG ids, incoming first.
    n_in : int
        Number of incoming particles.
    """
    ids = [int(x) for x in pdg]
    if n_in != 2 or any(abs(x) in _CHARGED_LEPTONS for x in ids[:n_in]):
        return None  # lepton beams: the pair is the fixed beam energy, nothing to resolve
    for lep in _CHARGED_LEPTONS:
        minus = [i for i in range(n_in, len(ids)) if ids[i] == lep]
        plus = [i for i in range(n_in, len(ids)) if ids[i] == -lep]
        if len(minus) == 1 and len(plus) == 1:
            return minus[0], plus[0]
    return None


def _flavours(pdg: Sequence[int]) -> list[int]:
    quarks = {abs(int(x)) for x in pdg if 1 <= abs(int(x)) <= 5}
    up = {q for q in quarks if q in (2, 4)}
    if quarks and (up == quarks or not up):
        return [min(quarks)]
    return [1, 2]


class LeptonPairPropagator(nn.Module):
    """F(m_ℓℓ²) of the module docstring per event; ones for processes without a final-state lepton pair.

    Parameters
    ----------
    pdg : sequence of int
        PDG ids in the model's particle order, incoming first.
    n_in : int
        Number of incoming particles.
    params : EWParams, optional
        Electroweak parameters (default: Sherpa's, as in the reference data).
    """

    pair: tuple[int, int] | None
    coeff: Tensor
    mz2: Tensor
    mg: Tensor

    def __init__(self, pdg: Sequence[int], n_in: int = 2, params: EWParams | None = None) -> None:
        super().__init__()
        ew = params or EWParams()
        self.pair = lepton_pair(pdg, n_in)
        sw2, cw2 = ew.sw2, ew.cw2
        rows = []
        for flavour in _flavours(pdg):
            qf, t3f = quark_charge(flavour), quark_isospin(flavour)
            g_f = (t3f - qf * sw2, -qf * sw2)
            g_l = (-0.5 + sw2, sw2)  # charged lepton: Q = -1, T3 = -1/2
            for gl in g_l:
                for gq in g_f:
                    b = gl * gq / (sw2 * cw2) if ew.z_exchange else 0j
                    rows.append([-qf, b.real, b.imag])
        # columns: a = Q_l Q_f, Re b, Im b for every (flavour, lepton chirality, quark chirality)
        self.register_buffer("coeff", torch.tensor(rows, dtype=torch.float64))
        self.register_buffer("mz2", torch.tensor(ew.mz**2, dtype=torch.float64))
        self.register_buffer("mg", torch.tensor(ew.mz * ew.gamma_z, dtype=torch.float64))

    @property
    def active(self) -> bool:
        """True when the process has a final-state lepton pair (else the factor is 1)."""
        return self.pair is not None

    def forward(self, momenta: Tensor) -> Tensor:
        """F per event.

        Parameters
        ----------
        momenta : Tensor, float64, shape (B, n, 4)
            (E, px, py, pz) in GeV, the model's particle order.

        Returns
        -------
        Tensor, float64, shape (B,)
            F in GeV⁻² (ones when :attr:`active` is False).
        """
        if self.pair is None:
            return torch.ones_like(momenta[:, 0, 0])
        k = momenta[:, self.pair[0], :] + momenta[:, self.pair[1], :]
        s = k[:, 0] * k[:, 0] - k[:, 1] * k[:, 1] - k[:, 2] * k[:, 2] - k[:, 3] * k[:, 3]
        x = (s - self.mz2)[:, None]
        den = x * x + self.mg * self.mg
        a, br, bi = self.coeff[:, 0], self.coeff[:, 1], self.coeff[:, 2]
        re = a / s[:, None] + (br * x + bi * self.mg) / den
        im = (bi * x - br * self.mg) / den
        return s * torch.sum(re * re + im * im, dim=1)
