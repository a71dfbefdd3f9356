"""Ensembles of replicas (mean and spread), and the factory of fresh models."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..config import DEFAULT_HIDDEN, Activation, ModelKind, as_enum
from .base import Surrogate, export_copy
from .dipole import DipoleModel
from .mlp import MLPModel

__all__ = ["Ensemble", "build_model"]


class Ensemble(nn.Module):
    """R replicas of one model kind: ``me2`` = mean, ``me2_std`` = sample standard deviation (0 for R = 1,
    NaN where ``me2`` is not finite).

    The inputs (feature map, dipole basis) are evaluated once, by the first replica, and shared by all.
    """

    def __init__(self, members: Sequence[Surrogate]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an Ensemble needs at least one member model")
        kinds = {m.kind for m in members}
        pdgs = {tuple(m.pdg) for m in members}
        if len(kinds) != 1 or len(pdgs) != 1:
            raise ValueError(f"ensemble members differ: kinds {sorted(kinds)}, pdg lists {sorted(pdgs)}")
        self.members = nn.ModuleList(members)
        self.kind = members[0].kind
        self.pdg = list(members[0].pdg)
        self.n_in = members[0].n_in
        self.replicas = len(members)

    def member_models(self) -> list[Surrogate]:
        """The replicas."""
        return [m for m in self.members if isinstance(m, Surrogate)]

    def for_export(self) -> Ensemble:
        """A copy in evaluation mode with every replica's export-time rewrites (as
        :meth:`Surrogate.for_export`)."""
        return export_copy(self)

    def forward(self, momenta: Tensor) -> tuple[Tensor, Tensor]:
        members = self.member_models()
        inputs = members[0].evaluation_inputs(momenta)
        preds = [m.evaluate(inputs) for m in members]
        if self.replicas == 1:
            return preds[0], preds[0] * 0.0  # one graph node (zeros_like exports as two)
        stacked = torch.stack(preds, 0)  # (R, B)
        mean = stacked.mean(0)
        var = ((stacked - mean) ** 2).sum(0) / (self.replicas - 1)
        return mean, torch.sqrt(var)


def build_model(
    kind: ModelKind | str,
    pdg: Sequence[int],
    n_in: int = 2,
    hidden: Sequence[int] = DEFAULT_HIDDEN,
    activation: Activation | str = Activation.SILU,
    masses: Sequence[float] | None = None,
    canonical: bool = False,
    lepton_angles: bool = False,
    antenna: bool = False,
) -> Surrogate:
    """A fresh, untrained model of ``kind`` (``"dipole"`` or ``"mlp"``) for the process ``pdg`` (``masses``:
    per particle in GeV, default :func:`~fame_surrogate.dipoles.process_masses`; ``canonical``: identical
    final-state particles read in canonical order, :class:`~fame_surrogate.symmetry.CanonicalOrder`;
    ``lepton_angles``: the dipole model factorises a final-state lepton pair's decay angles, see
    :class:`~fame_surrogate.models.DipoleModel`; ``antenna``: the features include the antenna-chain column
    where the process has one quark line, :mod:`~fame_surrogate.antenna`)."""
    model_kind = as_enum(ModelKind, kind, "unknown model kind ")
    if model_kind is ModelKind.DIPOLE:
        return DipoleModel(
            pdg, n_in, hidden, activation, masses=masses, canonical=canonical, lepton_angles=lepton_angles,
            antenna=antenna,
        )
    return MLPModel(pdg, n_in, hidden, activation, masses=masses, canonical=canonical, antenna=antenna)
