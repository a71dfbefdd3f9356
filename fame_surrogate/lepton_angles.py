"""The decay angles of a final-state lepton pair, factorised exactly (pp → ℓ+ℓ- / ℓν + jets).

A massless lepton pair produced by vector currents (γ*/Z → ℓ+ℓ-, W → ℓν) enters |M|² only through the
lepton tensor, which is bilinear in the two lepton momenta.  With the pair's momentum q = p_1 + p_2 fixed,
p_1 = q/2 + k and p_2 = q/2 − k, so at fixed hadronic momenta |M|² is a quadratic form in the decay direction
n of lepton 1 in the pair's rest frame:

    |M|² = vᵀ M v,   v = (1, n_x, n_y, n_z),

the l ≤ 2 harmonics of the Drell–Yan angular coefficients, with M (4 × 4, symmetric) a function of the hadrons
and q alone.  |M|² ≥ 0 at every n, and by the S-lemma every quadratic form that is non-negative on the
sphere can be written with a positive semi-definite M.  Sherpa's |M|² of g u → e-e+ g g g u at 12 random
orientations of the pair per event is such a form to 3e-11, while it varies by a factor 4.5 over the
orientations of a typical event (``tests/fame_surrogate/test_lepton_angles.py`` checks stored Sherpa values).

With ``lepton_angles`` (off by default) the dipole model (:class:`~fame_surrogate.models.DipoleModel`)
reads the hadronic event alone, the pair's two slots each holding q/2 (:class:`PairReader`), and multiplies
its prediction by :func:`angular_factor`: ``vᵀ T Tᵀ v`` over its mean on the sphere, with T = 1 + the
lower triangle of ten network outputs, so that every output is positive semi-definite and the factor is 1
before training.  The network no longer spends itself on two of the event's dimensions, whose dependence is
known exactly.

The model reads the particles in :func:`pair_layout`'s order: the incoming ones, lepton 1, the first
final-state parton, lepton 2, the rest.  The canonical frame of :func:`~fame_surrogate._ops.partonic_frame`
then takes its azimuth from q (the slot of lepton 1 holds q/2) and its mirror from the first parton, both
hadronic, and n is measured in that frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._ops import _TINY, mirror_sign
from .dipoles import is_coloured
from .resonance import lepton_neutrino, lepton_pair

__all__ = ["N_ANGULAR", "PairReader", "angular_factor", "decay_direction", "pair_layout"]

#: the number of network outputs of :func:`angular_factor` (the lower triangle of a 4 × 4 matrix)
N_ANGULAR = 10


def _constants() -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The constant matrices of :func:`angular_factor` over the ten lower-triangle entries e = (i, j), i ≥ j,
    float64: δ (10, 1) (1 where i = j), the row picks of v = (1, n) split as (10, 1) + (10, 3) @ n (v_i of
    entry e), the column sums (4, 10) (entry e into component j) and the sphere weights (1, 10) (1 on row 0,
    1/3 on rows 1–3: ⟨n_i n_j⟩ = δ_ij/3)."""
    rows, cols = torch.tril_indices(4, 4)
    entries = torch.arange(N_ANGULAR)
    delta = (rows == cols).to(torch.float64)[:, None]
    pick = torch.zeros(N_ANGULAR, 4, dtype=torch.float64)
    pick[entries, rows] = 1.0
    into = torch.zeros(4, N_ANGULAR, dtype=torch.float64)
    into[cols, entries] = 1.0
    weight = torch.full((1, N_ANGULAR), 1.0 / 3.0, dtype=torch.float64)
    weight[0, rows == 0] = 1.0
    return delta, pick[:, :1].clone(), pick[:, 1:].clone(), into, weight


_DELTA, _PICK_ONE, _PICK_N, _INTO, _WEIGHT = _constants()


def pair_layout(pdg: Sequence[int], n_in: int) -> list[int] | None:
    """The particle order of a model with a factorised lepton pair, as indices into ``pdg``, or None.

    ``[incoming..., lepton 1, first final-state parton, lepton 2, the other final-state particles]`` for a
    process with coloured beams, a final-state ℓ+ℓ- pair (:func:`~fame_surrogate.resonance.lepton_pair`) or
    ℓν pair (:func:`~fame_surrogate.resonance.lepton_neutrino`), and at least two final-state partons; None
    otherwise (e+e- collisions, tt̄ + jets, ℓℓ + 0 or 1 jet).  With one parton the hadronic event is planar
    in the frame whose azimuth q fixes: the mirror would take its sign from rounding, and the p_y of every
    hadron would be rounding noise.
    """
    pair = lepton_pair(pdg, n_in) or lepton_neutrino(pdg, n_in)
    if pair is None:
        return None
    first, second = pair
    partons = [i for i in range(n_in, len(pdg)) if is_coloured(int(pdg[i]))]
    if len(partons) < 2:
        return None
    rest = [i for i in range(n_in, len(pdg)) if i not in (first, second, partons[0])]
    return [*range(n_in), first, partons[0], second, *rest]


def decay_direction(q: Tensor, p: Tensor) -> Tensor:
    """The unit direction (3, B) of ``p`` (4, B) in the rest frame of ``q`` (4, B), reached by a pure boost
    (component-major: rows E, px, py, pz in any common unit; q timelike; float64 in, float64 out)."""
    e_q, vec_q = torch.split(q, [1, 3], dim=0)
    e_p, vec_p = torch.split(p, [1, 3], dim=0)
    b = vec_q / e_q
    gamma = torch.rsqrt(1.0 - (b * b).sum(0, keepdim=True))
    bp = (b * vec_p).sum(0, keepdim=True)
    # p' = p + [(γ − 1)(b·p)/b² − γE] b, with (γ − 1)/b² = γ²/(γ + 1) (no division by a vanishing b²)
    rest = vec_p + (gamma * gamma / (gamma + 1.0) * bp - gamma * e_p) * b
    return rest * torch.rsqrt((rest * rest).sum(0, keepdim=True))


class PairReader(nn.Module):
    """The event as the factorised model reads it, and the pair's decay direction, in few graph nodes.

    Parameters
    ----------
    layout : list of int
        :func:`pair_layout` of the process (not None).
    n_in : int
        Number of incoming particles.

    The hadronic event and the momenta the frame needs are constant matrix products of the flattened
    momenta (one MatMul each, no gathers); the frame is :func:`~fame_surrogate._ops.partonic_frame`'s,
    written out for the two vectors that need it (q and lepton 1): the boost along z into the partonic
    frame, the rotation about z that gives q p_y = 0 and p_x > 0, and the mirror p_y → −p_y where the first
    parton's p_y would be negative.  Rotations and the mirror commute with the pure boost into q's rest
    frame, so n is measured in the canonical frame of the hadronic event.
    """

    _hadronic: Tensor
    _rows: Tensor

    def __init__(self, layout: Sequence[int], n_in: int) -> None:
        super().__init__()
        n = len(layout)
        first, parton, second = (int(layout[n_in + k]) for k in range(3))
        self.n_particles = n
        hadronic = torch.zeros(4 * n, 4 * n, dtype=torch.float64)  # flat (B, 4n) @ hadronic
        for slot, src in enumerate(layout):
            for c in range(4):
                if slot in (n_in, n_in + 2):  # both lepton slots hold q/2
                    hadronic[4 * first + c, 4 * slot + c] = 0.5
                    hadronic[4 * second + c, 4 * slot + c] = 0.5
                else:
                    hadronic[4 * int(src) + c, 4 * slot + c] = 1.0
        # rows: E_in, p_z,in, then (q, lepton 1) for E, p_x, p_y, p_z, then the parton's p_x, p_y
        rows = torch.zeros(12, 4 * n, dtype=torch.float64)
        for a in range(n_in):
            rows[0, 4 * a] = rows[1, 4 * a + 3] = 1.0
        for c in range(4):
            rows[2 + 2 * c, [4 * first + c, 4 * second + c]] = 1.0
            rows[3 + 2 * c, 4 * first + c] = 1.0
        rows[10, 4 * parton + 1] = rows[11, 4 * parton + 2] = 1.0
        self.register_buffer("_hadronic", hadronic, persistent=False)
        self.register_buffer("_rows", rows, persistent=False)

    def forward(self, momenta: Tensor) -> tuple[Tensor, Tensor]:
        """``momenta`` (B, n, 4) float64 in the process's order → (the hadronic event (B, n, 4) float64 in
        the layout's order, both lepton slots holding q/2 = (p_1 + p_2)/2, so that none of its features
        depends on the decay angles; lepton 1's direction n (3, B) float64 in q's rest frame)."""
        flat = momenta.reshape(-1, 4 * self.n_particles)
        hadronic = (flat @ self._hadronic).reshape(-1, self.n_particles, 4)
        e_in, pz_in, e, x, y, z, ref = torch.split(self._rows @ flat.transpose(0, 1), [1, 1, 2, 2, 2, 2, 2])
        root = torch.rsqrt((e_in - pz_in) * (e_in + pz_in))
        g, gb = e_in * root, pz_in * root  # γ and γβ of the boost along z
        e, z = g * e - gb * z, g * z - gb * e
        inv = torch.rsqrt(torch.clamp(x[:1] * x[:1] + y[:1] * y[:1], min=_TINY))
        cos, sin = x[:1] * inv, y[:1] * inv
        x, y = cos * x + sin * y, cos * y - sin * x
        y = y * mirror_sign(cos * ref[1:] - sin * ref[:1])
        both = torch.cat([e, x, y, z], dim=0)  # rows E_q, E_1, p_x,q, p_x,1, ...
        return hadronic, decay_direction(both[0::2], both[1::2])


def angular_factor(a: Tensor, n: Tensor) -> Tensor:
    """The normalised quadratic form ``vᵀ T Tᵀ v / ⟨vᵀ T Tᵀ v⟩_sphere`` (component-major layout).

    Parameters
    ----------
    a : Tensor, shape (10, B)
        The lower triangle of T − 1 (row-major: T_00, T_10, T_11, T_20, …, T_33), any float dtype.
    n : Tensor, shape (3, B)
        Unit decay directions (:class:`PairReader`), the same dtype.

    Returns
    -------
    Tensor, shape (B,)
        Non-negative; its mean over the sphere is 1 at every point (⟨n_i n_j⟩ = δ_ij/3, so the mean of
        vᵀ M v is M_00 + (M_11 + M_22 + M_33)/3), and it is 1 at a = 0.
    """
    # in few graph nodes (ONNX Runtime pays per node at batch 1): the entries T_e = a_e + δ_e, then
    # (Tᵀ v)_j = Σ_{e = (i, j)} T_e v_i and the mean Σ_i M_ii w_i = Σ_e w_e T_e² as constant matrix products
    t = a + _DELTA.to(a)
    u = _INTO.to(a) @ (t * torch.addmm(_PICK_ONE.to(a), _PICK_N.to(a), n))
    mean = _WEIGHT.to(a) @ (t * t)
    return ((u * u).sum(0, keepdim=True) / mean)[0]
