"""The abstract surrogate model of |M|^2 (one replica), and what every model family shares.

Every model maps raw momenta to ``(me2, me2_std)`` (SPEC §3.4, §4.2); everything between (the feature map,
the standardisation of inputs and target, the Catani–Seymour dipole basis, the coefficient network and the
sum over dipoles) lives inside the module, so the same object trains in torch and exports to one ONNX graph.
:class:`Surrogate` carries what every family shares: the scalers (:meth:`Surrogate.fit_scalers`),
``forward`` (momenta → (me2, me2_std)), the training hooks (:meth:`Surrogate.inputs`,
:meth:`Surrogate.losses`) and the export hook (:meth:`Surrogate.for_export`, :func:`export_copy`).

The standardisation constants are buffers (float64), set once from training data by :meth:`fit_scalers`.
Evaluation mode (``model.eval()``, which the exporter sets) computes the ONNX form of every operation, so
torch and ONNX Runtime agree; no ``forward`` asks whether it is being exported.
"""

from __future__ import annotations

import abc
import copy
import math
from collections.abc import Sequence
from typing import ClassVar, NamedTuple, Self, TypeVar

import torch
from torch import Tensor, nn

from .._fused import FusedInputs
from ..config import Activation, ModelKind
from ..dipoles import process_masses
from ..features import FeatureMap
from ..symmetry import CanonicalOrder
from .network import build_net, net_dtype
from .scalers import Standardise, TargetTransform, fold_input_standardisation

__all__ = ["FUSED_BATCH_MAX", "LossBatch", "ModelInputs", "Surrogate", "export_copy", "pointwise_loss"]


#: evaluation (``forward``) of at most this many points goes through FusedInputs (fewest graph nodes: a
#: generator's per-event calls), of more through FeatureMap and DipoleBasis (fewest bytes per point); the
#: exported graph branches the same way (``export.SMALL_BATCH_MAX``), so torch and ONNX Runtime agree at
#: every batch size.  Training reads :meth:`DipoleModel.inputs`, which is fused.  In ONNX Runtime the fused
#: graph is the faster one up to ~64 points per call (e+e- → 5 jets and Z+4, timed alternately), the
#: per-family one from ~128 on.
FUSED_BATCH_MAX = 32


class ModelInputs(NamedTuple):
    """What a model reads at evaluation, computed once per batch and shared by an ensemble's replicas.

    Attributes
    ----------
    x : Tensor
        Raw features in the network's dtype, (B, n_features); when ``pair_major``, (n_features, B) in
        float64 (the dipole model's skip reads them as they are, its network rounds them once).
    terms : Tensor, float64
        The model's terms (B, 1 + n_terms) (:meth:`Surrogate.inputs`; (B, 0) for the MLP), or the
        pair-major basis (n_terms, B) when ``pair_major``.
    factor : Tensor or None
        Pair-major only: the lepton-pair factor (1, B) float64, None without a lepton pair.
    pair_major : bool
        Whether the inputs come from :class:`~fame_surrogate._fused.FusedInputs` (pair-major layout).
    """

    x: Tensor
    terms: Tensor
    factor: Tensor | None = None
    pair_major: bool = False


class LossBatch(NamedTuple):
    """One mini-batch of training data, as :meth:`Surrogate.losses` reads it.

    Attributes
    ----------
    x_raw : Tensor
        Raw features (B, n_features) (:meth:`Surrogate.inputs`).
    terms : Tensor
        The model's terms (B, ·) (:meth:`Surrogate.inputs`).
    z : Tensor
        The standardised target (B,) (:meth:`TargetTransform.encode` of ``me2``).
    me2 : Tensor
        |M|^2 (B,).
    weight : Tensor or None
        Per-point weights (B,) of the squared errors (mean 1 over the training set), or None.
    """

    x_raw: Tensor
    terms: Tensor
    z: Tensor
    me2: Tensor
    weight: Tensor | None = None


def pointwise_loss(residual: Tensor, weight: Tensor | None, delta: float = 0.0) -> Tensor:
    """The mean of ρ(r) over the residuals r (B,), each point weighted by ``weight`` (B,) when given.

    ρ(r) = r² for ``delta`` 0 (the mean square), else the pseudo-Huber loss 2δ²(√(1 + (r/δ)²) − 1), δ =
    ``delta`` (in the units of r): r² − r⁴/(4δ²) + … for |r| ≪ δ, 2δ|r| − 2δ² + O(δ³/|r|) for |r| ≫ δ.
    It is evaluated as 2r²/(1 + √(1 + (r/δ)²)), which has no cancellation for |r| ≪ δ in float32 and is
    r² exactly, with the gradient 2r, when (r/δ)² underflows.
    """
    sq = residual**2
    rho = 2.0 * sq / (1.0 + torch.sqrt(1.0 + sq / (delta * delta))) if delta > 0.0 else sq
    return torch.mean(rho if weight is None else weight * rho)


class Surrogate(nn.Module, abc.ABC):
    """One surrogate model (one replica): ``forward(momenta (B, n, 4)) -> (me2 (B,), me2_std (B,))``.

    The base of :class:`DipoleModel` and :class:`MLPModel`.  A subclass builds its feature map
    (``features``), the optional fused inputs (``fused``), and calls :meth:`_build_network`; it implements
    :meth:`inputs` and :meth:`me2_from_inputs`, and overrides the hooks where its family differs.

    * scalers: :meth:`fit_scalers` sets the input and target standardisation from training data;
    * training: :meth:`inputs` (features and terms, evaluated once per training set) and :meth:`losses`;
    * evaluation: :meth:`evaluation_inputs` then :meth:`evaluate` (an :class:`Ensemble` shares the first);
    * export: :meth:`for_export`, an evaluation-mode copy with the export-time rewrites.

    Parameters
    ----------
    pdg : sequence of int
        PDG ids in the representative's (Sherpa) order, incoming first.
    n_in : int
        Number of incoming particles.
    masses : sequence of float, optional
        Per-particle masses in GeV (default :func:`~fame_surrogate.dipoles.process_masses`).
    canonical : bool
        Put identical final-state particles into canonical order (:class:`~fame_surrogate.symmetry.
        CanonicalOrder`) before the features and terms, in training and in the exported graph, so that the
        model is symmetric under their exchange by construction (``TrainConfig.symmetry="canonical"``).
    """

    kind: ClassVar[ModelKind]
    #: one model is one replica (an :class:`Ensemble` has ``replicas`` of them)
    replicas: ClassVar[int] = 1
    features: FeatureMap
    fused: FusedInputs | None
    x_norm: Standardise
    net: nn.Sequential

    def __init__(
        self, pdg: Sequence[int], n_in: int, masses: Sequence[float] | None, canonical: bool = False
    ) -> None:
        super().__init__()
        self.pdg = [int(p) for p in pdg]
        self.n_in = int(n_in)
        self.masses = process_masses(self.pdg) if masses is None else [float(m) for m in masses]
        self.target = TargetTransform()
        order = CanonicalOrder(self.pdg, self.n_in) if canonical else None
        #: the reordering of identical particles, None where the model reads them as given (or has none)
        self.canonical_order = order if order is not None and order.active else None

    def ordered(self, momenta: Tensor) -> Tensor:
        """``momenta`` (B, n, 4) as the model reads them: identical final-state particles in canonical order
        when the model was built with ``canonical=True``, unchanged otherwise."""
        return momenta if self.canonical_order is None else self.canonical_order(momenta)

    def _build_network(self, hidden: Sequence[int], n_out: int, activation: Activation | str) -> None:
        """The input standardisation and the network ``n_features -> hidden... -> n_out``."""
        n_features = int(self.features.n_features)
        self.x_norm = Standardise(n_features)
        self.net = build_net(n_features, hidden, n_out, activation)

    # ------------------------------------------------------------------------------------------ training

    @abc.abstractmethod
    def inputs(self, momenta: Tensor, feature_dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
        """Raw features (B, n_features) in ``feature_dtype`` and the model's terms (B, ·) float64 of momenta
        (B, n, 4) float64: what training evaluates once and reuses every epoch."""

    @abc.abstractmethod
    def me2_from_inputs(self, x_raw: Tensor, terms: Tensor) -> Tensor:
        """|M|^2 (B,) float64 from :meth:`inputs`."""

    def standardised(self, x_raw: Tensor, terms: Tensor) -> Tensor:
        """The predicted standardised target (B,) from :meth:`inputs`."""
        return self.target.encode(self.me2_from_inputs(x_raw, terms))

    @torch.no_grad()
    def fit_scalers(
        self, x_raw: Tensor, terms: Tensor, me2: Tensor, me2_scale: Tensor | None = None
    ) -> None:
        """Set the input and target standardisation from training data (:meth:`inputs`, |M|^2 (B,));
        ``me2_scale`` (M,), optional: the |M|^2 that set the target's ``asinh`` scale
        (:meth:`TargetTransform.fit`'s ``scale_from``)."""
        self.x_norm.fit(x_raw)
        self.target.fit(me2, scale_from=me2_scale)

    def losses(self, batch: LossBatch, penalty_j: float = 0.0, delta: float = 0.0) -> tuple[Tensor, Tensor]:
        """(the pointwise loss in the standardised target space, the total training loss) of one mini-batch
        (``penalty_j``: the weight of a model's own penalty, none here; ``delta``: :func:`pointwise_loss`'s
        δ in the standardised target's units, 0 for the mean square)."""
        loss = pointwise_loss(self.standardised(batch.x_raw, batch.terms) - batch.z, batch.weight, delta)
        return loss, loss

    @torch.no_grad()
    def rescale(self, factor: float) -> None:
        """Multiply every prediction of this replica by ``factor`` (a finite float > 0), in torch and in the
        exported graph (:meth:`_apply_scale`)."""
        if not (math.isfinite(factor) and factor > 0.0):
            raise ValueError(f"rescale factor {factor!r}; expected a finite value > 0")
        self._apply_scale(factor)

    def _apply_scale(self, factor: float) -> None:
        """The hook of :meth:`rescale`: here the target's ``asinh`` scale, with which :meth:`me2_from_inputs`
        decodes (:class:`~.scalers.TargetTransform`); a family with another read-out overrides it."""
        self.target.scale.mul_(factor)

    # ---------------------------------------------------------------------------------------- evaluation

    def evaluation_inputs(self, momenta: Tensor) -> ModelInputs:
        """What :meth:`evaluate` reads, in the network's dtype (shared by an ensemble's replicas)."""
        x_raw, terms = self.inputs(momenta, net_dtype(self.net))
        return ModelInputs(x_raw, terms)

    def evaluate(self, inputs: ModelInputs) -> Tensor:
        """|M|^2 (B,) float64 from :meth:`evaluation_inputs`."""
        return self.me2_from_inputs(inputs.x, inputs.terms)

    def forward(self, momenta: Tensor) -> tuple[Tensor, Tensor]:
        me2 = self.evaluate(self.evaluation_inputs(momenta))
        return me2, torch.zeros_like(me2)

    # -------------------------------------------------------------------------------------------- export

    def _linear_readouts(self) -> tuple[Tensor, Tensor] | None:
        """A linear read-out (weight (n_features,), bias ()) of the standardised features, or None."""
        return None

    def fold_standardisation(self) -> None:
        """Export-time rewrite: the input standardisation folded into the first layer (and a read-out)."""
        fold_input_standardisation(self.x_norm, self.net, self._linear_readouts())

    def member_models(self) -> list[Surrogate]:
        """The replicas: this model alone."""
        return [self]

    def for_export(self) -> Self:
        """A copy in evaluation mode with the export-time rewrites (:func:`export_copy`)."""
        return export_copy(self)


ModuleT = TypeVar("ModuleT", bound=nn.Module)


def export_copy(model: ModuleT) -> ModuleT:
    """A copy of ``model`` (a :class:`Surrogate` or a module of them, e.g. an ensemble) in evaluation mode
    (the form the ONNX graph computes) with every surrogate's export-time rewrites, which keep the function
    up to rounding: the input standardisation folded into the first Linear layer."""
    out = copy.deepcopy(model).eval()
    for m in out.modules():
        if isinstance(m, Surrogate):
            m.fold_standardisation()
    return out
