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

The dipole model (:class:`~fame_surrogate.models.DipoleModel`) therefore reads the hadronic event alone, the
pair's two slots each holding q/2 (:func:`hadronic_event`), and multiplies its prediction by
:func:`angular_factor`: ``vᵀ T Tᵀ v`` over its mean on the sphere, with T = 1 + the lower triangle of ten
network outputs, so that every output is positive semi-definite and the factor is 1 before training.  The
network no longer spends itself on two of the event's dimensions, whose dependence is known exactly.

The model reads the particles in :func:`pair_layout`'s order: the incoming ones, lepton 1, the first
final-state parton, lepton 2, the rest.  The canonical frame of :func:`~fame_surrogate._ops.partonic_frame`
then takes its azimuth from q (the slot of lepton 1 holds q/2) and its mirror from the first parton, both
hadronic, and n is measured in that frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._ops import partonic_frame
from .dipoles import is_coloured
from .resonance import lepton_neutrino, lepton_pair

__all__ = ["N_ANGULAR", "angular_factor", "decay_direction", "hadronic_event", "pair_layout"]

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


def decay_direction(p: Tensor, q: Tensor) -> Tensor:
    """The unit direction (B, 3) of ``p`` (B, 4) in the rest frame of ``q`` (B, 4), reached by a pure boost;
    float64 in, float64 out (E, px, py, pz in any common unit; q timelike)."""
    b = q[:, 1:] / q[:, :1]
    gamma = torch.rsqrt(1.0 - (b * b).sum(-1, keepdim=True))
    bp = (b * p[:, 1:]).sum(-1, keepdim=True)
    # p' = p + [(γ − 1)(b·p)/b² − γE] b, with (γ − 1)/b² = γ²/(γ + 1) (no division by a vanishing b²)
    rest = p[:, 1:] + (gamma * gamma / (gamma + 1.0) * bp - gamma * p[:, :1]) * b
    return rest * torch.rsqrt((rest * rest).sum(-1, keepdim=True))


def hadronic_event(momenta: Tensor, n_in: int) -> tuple[Tensor, Tensor]:
    """The event as the factorised model reads it, and the decay direction.

    Parameters
    ----------
    momenta : Tensor, float64, shape (B, n, 4)
        In :func:`pair_layout`'s order (lab or any frame; E, px, py, pz in GeV).
    n_in : int
        Number of incoming particles.

    Returns
    -------
    hadronic : Tensor, float64, shape (B, n, 4)
        ``momenta`` with both lepton slots (``n_in`` and ``n_in + 2``) holding q/2, q = p_1 + p_2: every
        feature of it is independent of the decay angles.
    n : Tensor, float64, shape (B, 3)
        Lepton 1's direction in the rest frame of q, reached by a pure boost from the canonical frame of the
        hadronic event (:func:`~fame_surrogate._ops.partonic_frame`: azimuth from q, mirror from the first
        parton).
    """
    k = n_in
    q = momenta[:, k] + momenta[:, k + 2]
    refs = torch.stack([*(momenta[:, i] for i in range(k)), q, momenta[:, k + 1], momenta[:, k]], dim=1)
    framed = partonic_frame(refs, k, k + 3)
    n = decay_direction(framed[:, k + 2], framed[:, k])
    half = (0.5 * q)[:, None]
    hadronic = torch.cat([momenta[:, :k], half, momenta[:, k + 1 : k + 2], half, momenta[:, k + 3 :]], dim=1)
    return hadronic, n


def angular_factor(a: Tensor, n: Tensor) -> Tensor:
    """The normalised quadratic form ``vᵀ T Tᵀ v / ⟨vᵀ T Tᵀ v⟩_sphere`` (component-major layout).

    Parameters
    ----------
    a : Tensor, shape (10, B)
        The lower triangle of T − 1 (row-major: T_00, T_10, T_11, T_20, …, T_33), any float dtype.
    n : Tensor, shape (3, B)
        Unit decay directions (:func:`hadronic_event`, transposed), the same dtype.

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
