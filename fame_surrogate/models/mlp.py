"""The plain MLP baseline: the network predicts the standardised target directly."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .._fused import FusedInputs
from ..config import DEFAULT_HIDDEN, Activation, ModelKind
from ..features import FeatureMap
from .base import FUSED_BATCH_MAX, Surrogate
from .network import run_net

__all__ = ["MLPModel"]


class MLPModel(Surrogate):
    """Plain MLP baseline: the network predicts the standardised target directly (SPEC §4.2).

    Parameters as :class:`DipoleModel` (without ``alpha_s`` and ``lepton_angles``), ``canonical`` as
    :class:`~.base.Surrogate`.
    """

    kind = ModelKind.MLP

    def __init__(
        self,
        pdg: Sequence[int],
        n_in: int = 2,
        hidden: Sequence[int] = DEFAULT_HIDDEN,
        activation: Activation | str = Activation.SILU,
        masses: Sequence[float] | None = None,
        canonical: bool = False,
        antenna: bool = False,
    ) -> None:
        super().__init__(pdg, n_in, masses, canonical)
        self.features = FeatureMap(self.pdg, self.n_in, masses=self.masses, antenna=antenna)
        self._build_network(hidden, 1, activation)
        self.fused = FusedInputs(self.features) if FusedInputs.supports(self.features) else None

    def inputs(self, momenta: Tensor, feature_dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
        """Raw features (B, n_features) in ``feature_dtype`` and an empty (B, 0) float64 term tensor (the MLP
        has no basis)."""
        momenta = self.ordered(momenta)
        if self.fused is not None and momenta.shape[0] <= FUSED_BATCH_MAX:
            x_raw = self.fused(momenta, feature_dtype)[0].transpose(0, 1)  # features only
        else:
            x_raw = self.features(momenta, dtype=feature_dtype)
        return x_raw, momenta.new_zeros((x_raw.shape[0], 0))

    def standardised(self, x_raw: Tensor, terms: Tensor) -> Tensor:
        """The network output, i.e. the predicted standardised target (B,) (``terms`` is unused)."""
        return run_net(self.net, self.x_norm(x_raw)).squeeze(-1)

    def me2_from_inputs(self, x_raw: Tensor, terms: Tensor) -> Tensor:
        """|M|^2 (B,) from raw features (``terms`` is unused)."""
        return self.target.decode(self.standardised(x_raw, terms))
