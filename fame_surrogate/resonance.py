"""The resonance factor of a final-state lepton pair (γ*/Z → ℓ+ℓ-, W → ℓν), as a torch module inside the
surrogate graph.

In pp → ℓ+ℓ- + jets or ℓν + jets the Born, and with it every dipole coefficient, carries the Breit–Wigner of
the pair's mass: |M|² varies by orders of magnitude across m_ℓℓ (m_ℓν), which a network with smooth inputs
cannot resolve to 1%.  The factorisation-aware model therefore multiplies its dipole basis by one factor F
of s = m², chosen from the process:

γ*/Z (a charged lepton and its antilepton)
    F(s) = s Σ_{f} Σ_{λℓ, λq} |Q_ℓ Q_f / s + g_ℓ^{λℓ} g_f^{λq} / (s_W² c_W² (s − μ_Z²))|²,

    the chirality-summed electroweak factor of q q̄ → γ*/Z → ℓℓ.  The sum runs over the quark flavours of
    the process when they are all up-type or all down-type, else over u and d: the network then learns
    only the smooth flavour-dependent remainder.
W (a charged lepton and the neutrino of its generation, total charge ±1)
    F(s) = s |1 / (2 s_W² (s − μ_W²))|²,

    the W coupling g²/2 = e²/(2 s_W²) (left-handed only; the CKM matrix is diagonal in Sherpa's default,
    so no flavour sum) over the W propagator.  For u d̄ → e+ ν, averaged over spins and colours,
    |M|² = e⁴ F(s) u²/(3 s) exactly, u = (p_u − p_e+)² (``tests/fame_surrogate/test_resonance_w.py``
    checks this against Sherpa).

Both are the squared propagator with the couplings in units of e² (∝ |…|²) times the lepton tensor's
scale (∝ s), in GeV⁻².  With jets the hadronic tensor's scale is the event's hardness, not s, so
|M|² ∝ F · H(jets); for the 2 → 2 Born H ∝ s, and s·F is the angle-averaged Born (up to e⁴ and a
number).  μ_V² = M_V² − i M_V Γ_V and the complex s_W² = 1 − μ_W²/μ_Z² are those of
:class:`fame_surrogate.me.EWParams` (Sherpa's Gμ / complex-mass defaults).  One closed form serves both:
F(s) = s Σ_r |a_r/s + b_r/(s − μ²)|² with rows (a_r, b_r) (a = 0 for the W).  Written with real
arithmetic only (Add, Mul, Div), so it exports to ONNX in float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from lhe_tools.fourvec import msq

from .me.couplings import EWParams, quark_charge, quark_isospin

__all__ = ["LeptonPairPropagator", "lepton_neutrino", "lepton_pair"]

_CHARGED_LEPTONS = (11, 13, 15)
_LEPTONS = (11, 12, 13, 14, 15, 16)


def _hadronic_ids(pdg: Sequence[int], n_in: int) -> list[int] | None:
    """The PDG ids as ints for a 2 → n process without lepton beams, else None (with lepton beams the
    pair's mass is the fixed beam energy: nothing to resolve)."""
    ids = [int(x) for x in pdg]
    if n_in != 2 or any(abs(x) in _LEPTONS for x in ids[:n_in]):
        return None
    return ids


def lepton_pair(pdg: Sequence[int], n_in: int) -> tuple[int, int] | None:
    """Indices (ℓ-, ℓ+) of the final-state charged-lepton pair of a process with coloured beams, else None.

    Parameters
    ----------
    pdg : sequence of int
        PDG ids, incoming first.
    n_in : int
        Number of incoming particles.
    """
    ids = _hadronic_ids(pdg, n_in)
    if ids is None:
        return None
    for lep in _CHARGED_LEPTONS:
        minus = [i for i in range(n_in, len(ids)) if ids[i] == lep]
        plus = [i for i in range(n_in, len(ids)) if ids[i] == -lep]
        if len(minus) == 1 and len(plus) == 1:
            return minus[0], plus[0]
    return None


def lepton_neutrino(pdg: Sequence[int], n_in: int) -> tuple[int, int] | None:
    """Indices (ℓ, ν) of a final-state charged lepton and the neutrino of its generation that a W can
    produce (ℓ- with ν̄, ℓ+ with ν) in a process with coloured beams, else None.

    Parameters
    ----------
    pdg, n_in
        As for :func:`lepton_pair`.
    """
    ids = _hadronic_ids(pdg, n_in)
    if ids is None:
        return None
    out = range(n_in, len(ids))
    pairs = [
        (i, j)
        for i in out
        for j in out
        if abs(ids[i]) in _CHARGED_LEPTONS and ids[j] == -(ids[i] + (1 if ids[i] > 0 else -1))
    ]
    if len(pairs) != 1 or sum(abs(ids[k]) in _LEPTONS for k in out) != 2:
        return None  # no W-like pair, or more leptons than one W decays into
    return pairs[0]


def _flavours(pdg: Sequence[int]) -> list[int]:
    quarks = {abs(int(x)) for x in pdg if 1 <= abs(int(x)) <= 5}
    up = {q for q in quarks if q in (2, 4)}
    if quarks and (up == quarks or not up):
        return [min(quarks)]
    return [1, 2]


class LeptonPairPropagator(nn.Module):
    """F(m²) of the module docstring per event: γ*/Z for an ℓ+ℓ- pair, W for ℓν; ones for processes
    without either.

    Parameters
    ----------
    pdg : sequence of int
        PDG ids in the model's particle order, incoming first.
    n_in : int
        Number of incoming particles.
    params : EWParams, optional
        Electroweak parameters (default: Sherpa's, as in the reference data).

    Attributes
    ----------
    kind : str or None
        ``"Z"`` (γ*/Z, ``pair`` = (ℓ-, ℓ+)), ``"W"`` (``pair`` = (ℓ, ν)) or None (factor 1).
    coeff : Tensor, float64, shape (R, 3)
        Rows (a, Re b, Im b) of F(s) = s Σ_r |a_r/s + b_r/(s − μ²)|².
    mz2, mg : Tensor, float64, scalar
        The resonance's M² and M Γ in GeV² (M_Z, Γ_Z for γ*/Z; M_W, Γ_W for the W; the names are those of
        the stored buffers).
    """

    pair: tuple[int, int] | None
    kind: str | None
    coeff: Tensor
    mz2: Tensor
    mg: Tensor

    def __init__(self, pdg: Sequence[int], n_in: int = 2, params: EWParams | None = None) -> None:
        super().__init__()
        ew = params or EWParams()
        charged = lepton_pair(pdg, n_in)
        w_pair = lepton_neutrino(pdg, n_in) if charged is None else None
        self.pair = charged or w_pair
        self.kind = "Z" if charged is not None else "W" if w_pair is not None else None
        if self.kind == "W":
            rows, mass, width = _w_rows(ew), ew.mw, ew.gamma_w
        else:
            rows, mass, width = _z_rows(pdg, ew), ew.mz, ew.gamma_z
        # columns: a = Q_l Q_f, Re b, Im b for every row (γ*/Z: flavour × lepton × quark chirality)
        self.register_buffer("coeff", torch.tensor(rows, dtype=torch.float64))
        self.register_buffer("mz2", torch.tensor(mass**2, dtype=torch.float64))
        self.register_buffer("mg", torch.tensor(mass * width, dtype=torch.float64))

    @property
    def active(self) -> bool:
        """True when the process has a final-state lepton pair of either kind (else the factor is 1)."""
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
        s = msq(k)
        x = (s - self.mz2)[:, None]
        den = x * x + self.mg * self.mg
        a, br, bi = self.coeff[:, 0], self.coeff[:, 1], self.coeff[:, 2]
        re = a / s[:, None] + (br * x + bi * self.mg) / den
        im = (bi * x - br * self.mg) / den
        return s * torch.sum(re * re + im * im, dim=1)


def _z_rows(pdg: Sequence[int], ew: EWParams) -> list[list[float]]:
    """γ*/Z rows (Q_ℓ Q_f, Re b, Im b), b = g_ℓ g_f / (s_W² c_W²), per flavour and chiralities."""
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
    return rows


def _w_rows(ew: EWParams) -> list[list[float]]:
    """The W row (0, Re b, Im b), b = 1/(2 s_W²): g²/2 in units of e², left-handed, diagonal CKM."""
    b = 1.0 / (2.0 * ew.sw2)
    return [[0.0, b.real, b.imag]]
