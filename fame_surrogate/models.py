"""Surrogate models of |M|^2: the factorisation-aware dipole model, the plain MLP baseline, ensembles.

Every model maps raw momenta to ``(me2, me2_std)`` (SPEC §3.4, §4.2); everything between (the feature map,
the standardisation of inputs and target, the Catani–Seymour dipole basis, the coefficient network and the
sum over dipoles) lives inside the module, so the same object trains in torch and exports to one ONNX graph.

* :class:`Surrogate`: the abstract base of one model (one replica).  It carries what every model family
  shares: the scalers (:meth:`Surrogate.fit_scalers`), ``forward`` (momenta → (me2, me2_std)), the training
  hooks (:meth:`Surrogate.inputs`, :meth:`Surrogate.losses`) and the export hook
  (:meth:`Surrogate.for_export`).
* :class:`DipoleModel`: ``me2 = exp(L(x)) Σ_k w_k(x) D_k(p)`` (+ azimuthal terms) with positive weights
  ``w = exp(NN)`` and a log-normalisation ``L`` = least-squares linear skip + network (the dipole ansatz of
  arXiv:2107.06625, normalised for hadron collisions); for a final-state lepton pair the D_k carry its γ*/Z
  or W factor (:mod:`.resonance`, chosen from the process).
* :class:`MLPModel`: the network predicts the standardised target ``(asinh(me2/scale) - mean)/std`` directly.
* :class:`Ensemble`: R replicas, ``me2`` = mean, ``me2_std`` = sample standard deviation (0 for R = 1).

The standardisation constants are buffers (float64), set once from training data by :meth:`fit_scalers`.
Evaluation mode (``model.eval()``, which the exporter sets) computes the ONNX form of every operation, so
torch and ONNX Runtime agree; no ``forward`` asks whether it is being exported.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Sequence
from enum import StrEnum
from typing import ClassVar, NamedTuple, Self, TypeVar

import torch
from torch import Tensor, nn

from ._fused import FusedInputs
from ._ops import gram_index, gram_rows, sinh
from .dipoles import DipoleBasis, basis_pairs, process_masses
from .features import FeatureMap, feature_pairs
from .resonance import LeptonPairPropagator

__all__ = [
    "FUSED_BATCH_MAX",
    "Activation",
    "DipoleModel",
    "Ensemble",
    "LossBatch",
    "MLPModel",
    "ModelInputs",
    "ModelKind",
    "Surrogate",
    "TargetTransform",
    "as_enum",
    "build_model",
    "fold_input_standardisation",
    "net_dtype",
    "run_net",
]


class ModelKind(StrEnum):
    """The model families of SPEC §4.2 (``fame.model`` in the ONNX metadata)."""

    DIPOLE = "dipole"
    MLP = "mlp"


class Activation(StrEnum):
    """Hidden-layer activations of the networks."""

    SILU = "silu"
    TANH = "tanh"
    GELU = "gelu"
    RELU = "relu"


E = TypeVar("E", bound=StrEnum)


def as_enum(enum_type: type[E], value: str, what: str) -> E:
    """``value`` (a member of ``enum_type`` or its string) as the member; else a ValueError that starts with
    ``what`` followed by the value and lists the allowed values (``what``: e.g. ``"TrainConfig.model="``)."""
    try:
        return enum_type(value)
    except ValueError:
        allowed = [str(m) for m in enum_type]
        raise ValueError(f"{what}{value!r}; expected one of {allowed}") from None


#: evaluation (``forward``) of at most this many points goes through FusedInputs (fewest graph nodes: a
#: generator's per-event calls), of more through FeatureMap and DipoleBasis (fewest bytes per point); the
#: exported graph branches the same way (``export.SMALL_BATCH_MAX``), so torch and ONNX Runtime agree at
#: every batch size.  Training reads :meth:`DipoleModel.inputs`, which is fused.  In ONNX Runtime the fused
#: graph is the faster one up to ~64 points per call (e+e- → 5 jets and Z+4, timed alternately), the
#: per-family one from ~128 on.
FUSED_BATCH_MAX = 32


class _SiLU(nn.SiLU):
    """SiLU whose evaluation form suits ONNX Runtime's CPU kernels of the network's dtype.

    float64: ``h + h·tanh(h)`` with ``h = x/2`` (the same function, x·sigmoid(x)).  ONNX Runtime's float64
    ``Sigmoid`` is slow (≈ 11 ns per element on this CPU); Mul + Tanh + Mul + Add costs ≈ 5 ns
    (x / (1 + exp(-x)) ≈ 6 ns).  The cancellation for x ≪ 0 costs only absolute accuracy (≈ 1e-16 |x|),
    which is what the next Linear layer sees.  float32: ``x·Sigmoid(x)``, two vectorised kernels (≈ 0.9 ns
    per element; the tanh form's four cost ≈ 1.7 ns).  Training uses torch's fused ``silu``; evaluation
    mode, the mode the exporter traces in (:meth:`Surrogate.for_export`), computes what the exported graph
    computes, so that torch and ONNX Runtime agree to the rounding of their matmul kernels, also for a
    float32 network.
    """

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            return super().forward(x)
        if x.dtype == torch.float32:
            return x * torch.sigmoid(x)
        h = 0.5 * x
        return h + h * torch.tanh(h)


_ACTIVATIONS: dict[Activation, type[nn.Module]] = {
    Activation.SILU: _SiLU,
    Activation.TANH: nn.Tanh,
    Activation.GELU: nn.GELU,
    Activation.RELU: nn.ReLU,
}


def _mlp(n_in: int, hidden: Sequence[int], n_out: int, activation: Activation | str) -> nn.Sequential:
    """Fully connected network ``n_in -> hidden... -> n_out`` (float64), last layer initialised small."""
    act = _ACTIVATIONS[as_enum(Activation, activation, "unknown activation ")]
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h, dtype=torch.float64), act()]
        width = h
    last = nn.Linear(width, n_out, dtype=torch.float64)
    with torch.no_grad():
        last.weight.mul_(0.1)
        last.bias.zero_()
    layers.append(last)
    return nn.Sequential(*layers)


def net_dtype(net: nn.Sequential) -> torch.dtype:
    """The dtype a coefficient/MLP network computes in (that of its first Linear layer)."""
    first = net[0]
    if not isinstance(first, nn.Linear):
        raise TypeError(f"expected a Linear first layer, got {first!r}")
    return first.weight.dtype


def run_net(net: nn.Sequential, h: Tensor) -> Tensor:
    """``net(h)`` in the network's own dtype, returned in float64.

    A float32 network (``TrainConfig.net_dtype="float32"``) gives fitted numbers good to ≈ 1e-7, far below
    the surrogate's error, while every physics quantity around it (invariants, dipoles, the sum Σ C D, the
    target transform) stays float64; only the network's inputs, the features, are then rounded to float32
    (at evaluation they are computed in float32 from float64 ratios).  ONNX Runtime's float32 Gemm and
    activations are 2.5–3.5× faster than their float64 twins on this CPU
    (``benchmarks/bench_inference.py --net-dtype``).
    """
    out: Tensor = net(h.to(net_dtype(net)))
    return out.to(torch.float64)


class _Standardise(nn.Module):
    """``(x - mean) / std`` per column, as buffers (columns without spread are centred, not scaled)."""

    mean: Tensor
    std: Tensor

    def __init__(self, n: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n, dtype=torch.float64))
        self.register_buffer("std", torch.ones(n, dtype=torch.float64))
        #: set by :func:`fold_input_standardisation` once the first Linear layer absorbed mean and std
        self.folded = False

    def fit(self, x: Tensor) -> None:
        """Set mean and std from ``x`` (B, n); non-finite columns are an error."""
        if not bool(torch.isfinite(x).all()):
            bad = (~torch.isfinite(x)).any(0).nonzero().flatten().tolist()
            raise ValueError(f"non-finite network inputs in feature columns {bad}")
        std = x.std(0)
        self.mean.copy_(x.mean(0))
        self.std.copy_(torch.where(std > 1e-12 * (1.0 + x.abs().amax(0)), std, torch.ones_like(std)))

    def forward(self, x: Tensor) -> Tensor:
        if self.folded:
            return x
        return (x - self.mean) / self.std


@torch.no_grad()
def fold_input_standardisation(
    x_norm: _Standardise, net: nn.Sequential, skip: tuple[Tensor, Tensor] | None = None
) -> None:
    """Absorb ``(x - mean)/std`` into the first Linear layer of ``net`` (in place; an export-time rewrite).

    ``W' = W / std`` (per input column) and ``b' = b - W' · mean``, computed in float64 and stored in the
    layer's dtype, so ``W' x + b' = W (x - mean)/std + b`` up to rounding; ``x_norm`` then passes its input
    through.  Saves a Sub and a Div over all features.  ``skip`` = (weight (n,), bias ()) of a linear
    read-out of the same standardised features is folded the same way.  A float32 network then reads
    float32 features (models compute them in the network's dtype): every feature is O(1–20) with an O(1)
    spread (momenta over √ŝ, logarithms), so rounding it before the centring moves the standardised input
    by ≲ 1e-6.
    """
    if x_norm.folded:
        return
    first = net[0]
    if not isinstance(first, nn.Linear):
        raise TypeError(f"expected a Linear first layer to fold the standardisation into, got {first!r}")
    weight = first.weight.to(x_norm.std.dtype) / x_norm.std[None, :]
    bias = first.bias.to(weight.dtype) - weight @ x_norm.mean
    first.weight.copy_(weight.to(first.weight.dtype))
    first.bias.copy_(bias.to(first.bias.dtype))
    if skip is not None:  # a linear read-out of the standardised features (DipoleModel's skip), in place
        skip_w, skip_b = skip
        folded_w = skip_w / x_norm.std
        skip_b.sub_(folded_w @ x_norm.mean)
        skip_w.copy_(folded_w)
    x_norm.folded = True


class TargetTransform(nn.Module):
    """The standardised target ``t = (asinh(me2/scale) - mean)/std`` and its inverse (SPEC §4.2).

    ``scale`` is set to a small quantile of the training |M|^2 so that ``asinh`` acts as a logarithm over
    the bulk of the data: an MSE in ``t`` is then an MSE in the relative error.
    """

    scale: Tensor
    mean: Tensor
    std: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("std", torch.ones((), dtype=torch.float64))

    def fit(self, me2: Tensor, scale_quantile: float = 0.01, scale_factor: float = 0.1) -> None:
        """Set the constants from training |M|^2 (B,) float64."""
        if not bool(torch.isfinite(me2).all()):
            raise ValueError("non-finite |M|^2 in the training target")
        positive = me2.abs()[me2.abs() > 0]
        if positive.numel() == 0:
            raise ValueError("all training |M|^2 are zero: nothing to learn")
        self.scale.copy_(scale_factor * torch.quantile(positive, scale_quantile))
        a = torch.asinh(me2 / self.scale)
        self.mean.copy_(a.mean())
        self.std.copy_(a.std().clamp_min(1e-12))

    def encode(self, me2: Tensor) -> Tensor:
        """|M|^2 -> standardised target (training only: uses torch.asinh)."""
        return (torch.asinh(me2 / self.scale) - self.mean) / self.std

    def decode(self, t: Tensor) -> Tensor:
        """Standardised target -> |M|^2 (ONNX-safe float64 sinh)."""
        return self.scale * sinh(t * self.std + self.mean)


class ModelInputs(NamedTuple):
    """What a model reads at evaluation, computed once per batch and shared by an ensemble's replicas.

    Attributes
    ----------
    x : Tensor
        Raw features in the network's dtype: (B, n_features), or (n_features, B) when ``pair_major``.
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


def _mean_square(residual: Tensor, weight: Tensor | None) -> Tensor:
    """``mean(residual²)``, each point weighted by ``weight`` (B,) when given."""
    sq = residual**2
    return torch.mean(sq if weight is None else weight * sq)


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
    """

    kind: ClassVar[ModelKind]
    #: one model is one replica (an :class:`Ensemble` has ``replicas`` of them)
    replicas: ClassVar[int] = 1
    features: FeatureMap
    fused: FusedInputs | None
    x_norm: _Standardise
    net: nn.Sequential

    def __init__(self, pdg: Sequence[int], n_in: int, masses: Sequence[float] | None) -> None:
        super().__init__()
        self.pdg = [int(p) for p in pdg]
        self.n_in = int(n_in)
        self.masses = process_masses(self.pdg) if masses is None else [float(m) for m in masses]
        self.target = TargetTransform()

    def _build_network(self, hidden: Sequence[int], n_out: int, activation: Activation | str) -> None:
        """The input standardisation and the network ``n_features -> hidden... -> n_out``."""
        n_features = int(self.features.n_features)
        self.x_norm = _Standardise(n_features)
        self.net = _mlp(n_features, hidden, n_out, activation)

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
    def fit_scalers(self, x_raw: Tensor, terms: Tensor, me2: Tensor) -> None:
        """Set the input and target standardisation from training data (:meth:`inputs`, |M|^2 (B,))."""
        self.x_norm.fit(x_raw)
        self.target.fit(me2)

    def losses(self, batch: LossBatch, penalty_j: float = 0.0) -> tuple[Tensor, Tensor]:
        """(MSE in the standardised target space, the total training loss) of one mini-batch (``penalty_j``:
        the weight of a model's own penalty; none here)."""
        mse = _mean_square(self.standardised(batch.x_raw, batch.terms) - batch.z, batch.weight)
        return mse, mse

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
        """A copy in evaluation mode (the form the ONNX graph computes) with the export-time rewrites, which
        keep the function up to rounding: the input standardisation folded into the first Linear layer."""
        out = copy.deepcopy(self).eval()
        for m in out.member_models():
            m.fold_standardisation()
        return out


class DipoleModel(Surrogate):
    """Factorisation-aware model: ``me2 = P · exp(L) · (Σ_k w_k |D_k| + Σ_φ c_φ Φ_φ)``.

    * ``D_k``: the Catani–Seymour dipoles (:class:`~fame_surrogate.dipoles.DipoleBasis`), exact in every soft
      and collinear limit, where they are positive (FI/IF kernels can dip below zero far from their limits,
      hence the magnitude); ``P`` the lepton-pair factor of :mod:`.resonance` (γ*/Z for ℓ+ℓ-, W for ℓν,
      1 without a lepton pair);
      ``ΣD`` below is Σ_k |D_k|.
    * ``w_k = exp(NN_k)``: positive dipole weights of order one (all 1 before training), so the sum has no
      cancellations and no weight can change sign.
    * ``Φ_φ``: the azimuthal (spin-correlation) columns, with signed coefficients ``c_φ = NN_φ`` (0 before
      training).
    * ``L = a·x_log + b + NN_0``: a scalar log-normalisation.  Its linear skip ``a·x_log + b`` over the
      standardised log-invariant features is the least-squares fit of log(|M|²/(P ΣD)) on them
      (:meth:`fit_scalers`), frozen; the network learns the non-linear remainder.  It carries the dimension
      and the hardness of |M|², which at pp → Z + 4 jets spans ~9 decades of |M|²/(P ΣD) (1–99%), 3 after
      the fit (``benchmarks/bench_pp_norm.py``), so the network starts in its useful range.

    Internally the basis is passed around as ``terms = [log(P ΣD), |D_k|/ΣD ..., Φ_φ/ΣD ...]`` (float64),
    so that float32 training never forms the raw |M|² scale.

    Parameters
    ----------
    pdg : sequence of int
        PDG ids in the representative's (Sherpa) order, incoming first.
    n_in : int
        Number of incoming particles.
    hidden : sequence of int
        Hidden layer widths of the coefficient network.
    activation : Activation or str
        ``"silu"``, ``"tanh"``, ``"gelu"`` or ``"relu"``.
    alpha_s : float
        Strong coupling inside the dipole kernels.
    masses : sequence of float, optional
        Per-particle masses in GeV that the dipoles and features use (default
        :func:`~fame_surrogate.dipoles.process_masses`: the top quark at 172.5 GeV; a Sherpa dump's own
        ``meta["masses"]`` via :func:`~fame_surrogate.dipoles.masses_from_meta`).
    """

    kind = ModelKind.DIPOLE
    skip_weight: Tensor
    skip_bias: Tensor
    _gram_idx: Tensor

    def __init__(
        self,
        pdg: Sequence[int],
        n_in: int = 2,
        hidden: Sequence[int] = (128, 128, 128),
        activation: Activation | str = Activation.SILU,
        alpha_s: float = 0.118,
        masses: Sequence[float] | None = None,
    ) -> None:
        super().__init__(pdg, n_in, masses)
        # one Gram computation serves both: the pairs either of them reads
        self.pairs = sorted(
            set(feature_pairs(self.pdg, self.n_in, self.masses))
            | set(basis_pairs(self.pdg, self.n_in, self.masses))
        )
        self.features = FeatureMap(self.pdg, self.n_in, pairs=self.pairs, masses=self.masses)
        self.basis = DipoleBasis(self.pdg, self.n_in, alpha_s=alpha_s, pairs=self.pairs, masses=self.masses)
        self.register_buffer("_gram_idx", gram_index(self.pairs), persistent=False)
        # the Breit–Wigner of a final-state lepton pair (pp -> l+l- + jets) multiplies every dipole, so the
        # network learns only a smooth remainder (ones for e+e- and other processes without such a pair)
        self.propagator = LeptonPairPropagator(self.pdg, self.n_in)
        self.n_dipoles = int(self.basis.n_dipoles)
        self.n_terms = self.n_dipoles + 2 * int(self.basis.n_phi)
        n_features = int(self.features.n_features)
        # outputs: [NN_0 (log-normalisation), NN_k (dipole weights), c_φ (cos, sin)]; all ≈ 0 at the start
        self._build_network(hidden, 1 + self.n_terms, activation)
        with torch.no_grad():  # untrained, the model is the least-squares skip times the plain dipole sum
            last = self.net[-1]
            assert isinstance(last, nn.Linear)
            last.weight.zero_()
        self.register_buffer("skip_weight", torch.zeros(n_features, dtype=torch.float64))
        self.register_buffer("skip_bias", torch.zeros((), dtype=torch.float64))
        # the same features, dipoles and lepton-pair factor in few graph nodes (ONNX Runtime pays per node)
        # (not for massive processes: FusedInputs.supports)
        self.fused = (
            FusedInputs(self.features, self.basis, self.propagator)
            if FusedInputs.supports(self.features, self.basis)
            else None
        )

    def inputs(self, momenta: Tensor, feature_dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
        """Raw features (B, n_features) in ``feature_dtype`` and terms (B, 1 + n_terms) float64 of momenta
        (B, n, 4) float64.

        ``terms[:, 0] = log(P ΣD)`` (P: the lepton-pair factor, ΣD = Σ_k |D_k|), then the |D_k| and the φ
        columns divided by ΣD.  Evaluation computes the features in the network's dtype (:meth:`forward`),
        training in float64.
        """
        if self.fused is not None:
            x, basis, factor = self.pair_inputs(momenta, feature_dtype)
            return x.transpose(0, 1), self._terms(basis, factor).transpose(0, 1)
        return self._unfused_inputs(momenta, feature_dtype)

    def _unfused_inputs(self, momenta: Tensor, feature_dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """:meth:`inputs` through FeatureMap, DipoleBasis and the propagator module (per dipole family)."""
        rows = gram_rows(momenta, self._gram_idx)  # shared by the basis and the feature map
        basis = self.basis(momenta, rows)
        # |D_k|: FI/IF kernels dip below zero far from their limits (where they are positive), so the sum
        # of magnitudes is the positive normaliser and every weighted term is positive
        dip = torch.abs(basis[:, : self.n_dipoles])
        dsum = dip.sum(-1, keepdim=True)
        log_base = torch.log(dsum)
        if self.propagator.active:
            log_base = log_base + torch.log(self.propagator(momenta))[:, None]
        terms = torch.cat([log_base, dip / dsum, basis[:, self.n_dipoles :] / dsum], dim=1)
        return self.features(momenta, rows, feature_dtype), terms

    def pair_inputs(
        self, momenta: Tensor, feature_dtype: torch.dtype
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Pair-major inputs from :class:`~fame_surrogate._fused.FusedInputs`: features (n_features, B) in
        ``feature_dtype``, the basis [|D_k| ..., Φ_φ ...] (n_terms, B) and the lepton-pair factor P (1, B)
        (None without a lepton pair), float64."""
        assert self.fused is not None
        x, dipoles, phi, factor = self.fused(momenta, feature_dtype)
        return x, torch.cat([torch.abs(dipoles), phi], dim=0), factor

    def me2_pair_major(self, x: Tensor, basis: Tensor, factor: Tensor | None) -> Tensor:
        """|M|^2 (B,) from :meth:`pair_inputs`: ``P exp(L) (Σ_k w_k |D_k| + Σ_φ c_φ Φ_φ)``, the function of
        :meth:`me2_from_inputs` without the normalisation by ΣD that training's terms carry (exp(log ΣD)
        and ΣD agree to rounding), in fewer graph nodes."""
        h = self.x_norm(x.transpose(0, 1))
        dtype = self.skip_weight.dtype
        out = self.net(h.to(net_dtype(self.net))).to(dtype).transpose(0, 1)  # (1 + n_terms, B)
        head, w, c_phi = torch.split(out, [1, self.n_dipoles, self.n_terms - self.n_dipoles], dim=0)
        # the skip as a (1, F) @ (F, B) product: ONNX Runtime 1.32 fuses a Transpose into a MatMul with a
        # 1-D second operand wrongly (the (B, F) @ (F,) form of :meth:`_heads` came out wrong at batch 16)
        skip = self.skip_weight[None, :] @ h.to(dtype).transpose(0, 1)
        shape = (torch.cat([torch.exp(w), c_phi], dim=0) * basis).sum(0, keepdim=True)
        me2 = torch.exp(head + skip + self.skip_bias) * shape
        if factor is not None:
            me2 = me2 * factor
        return me2.reshape(-1)

    def _terms(self, basis: Tensor, factor: Tensor | None) -> Tensor:
        """Training's terms (n_terms + 1, B) from :meth:`pair_inputs`: [log(P ΣD), |D_k|/ΣD, Φ_φ/ΣD]."""
        dsum = basis[: self.n_dipoles].sum(0, keepdim=True)
        log_base = torch.log(dsum)
        if factor is not None:
            log_base = log_base + torch.log(factor)
        return torch.cat([log_base, basis / dsum], dim=0)

    @torch.no_grad()
    def fit_scalers(self, x_raw: Tensor, terms: Tensor, me2: Tensor) -> None:
        """Set the input/target standardisation and the least-squares skip from training data.

        The skip is the float64 least-squares fit of ``log(|M|²) − log(P ΣD)`` on the standardised
        log-invariant features and a constant, over the points with positive |M|².
        """
        super().fit_scalers(x_raw, terms, me2)
        ok = (me2 > 0) & torch.isfinite(terms[:, 0])
        if int(ok.sum()) == 0:
            raise ValueError("no training point with positive |M|^2 and a finite dipole sum")
        cols = torch.tensor(self.features.log_columns, dtype=torch.int64)
        xs = self.x_norm(x_raw[ok].to(torch.float64))[:, cols]
        y = torch.log(me2[ok].to(torch.float64)) - terms[ok, 0].to(torch.float64)
        design = torch.cat([xs, torch.ones_like(y)[:, None]], dim=1)
        coef = torch.linalg.lstsq(design, y[:, None], driver="gelsd").solution[:, 0]
        weight = torch.zeros_like(self.skip_weight)
        weight[cols] = coef[:-1]
        self.skip_weight.copy_(weight)
        self.skip_bias.copy_(coef[-1])

    def _heads(self, x_raw: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(log-normalisation L (B,), dipole weights w (B, n_dipoles), φ coefficients (B, 2 n_phi)), float64
        (the network's output cast up; the skip is float64 on the standardised features)."""
        h = self.x_norm(x_raw)
        dtype = self.skip_weight.dtype  # float64, or float32 in a float32 training copy
        out = self.net(h.to(net_dtype(self.net))).to(dtype)
        log_norm = out[:, 0] + h.to(dtype) @ self.skip_weight + self.skip_bias
        return log_norm, torch.exp(out[:, 1 : 1 + self.n_dipoles]), out[:, 1 + self.n_dipoles :]

    def _factors(self, x_raw: Tensor, terms: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(P exp(L) ΣD (B,), the weighted dipoles w_k |D_k|/ΣD (B, n_dipoles), Σ_φ c_φ Φ_φ/ΣD (B,))."""
        log_norm, w, c_phi = self._heads(x_raw)
        amp = torch.exp(log_norm + terms[:, 0])
        return amp, w * terms[:, 1 : 1 + self.n_dipoles], (c_phi * terms[:, 1 + self.n_dipoles :]).sum(-1)

    def contributions(self, x_raw: Tensor, terms: Tensor) -> tuple[Tensor, Tensor]:
        """(the per-dipole parts P exp(L) w_k |D_k| (B, n_dipoles), the φ part (B,)), float64; |M|² is their
        total."""
        amp, dip, phi = self._factors(x_raw, terms)
        return dip * amp[:, None], phi * amp

    def me2_from_inputs(self, x_raw: Tensor, terms: Tensor) -> Tensor:
        """|M|^2 (B,) from raw features and terms (float64): the total of :meth:`contributions`."""
        amp, dip, phi = self._factors(x_raw, terms)
        return amp * (dip.sum(-1) + phi)

    def losses(self, batch: LossBatch, penalty_j: float = 0.0) -> tuple[Tensor, Tensor]:
        """(MSE in the standardised target space, MSE + ``penalty_j`` × the factorisation penalty).

        The penalty is Σ_i |C_i D_i| π_i / |M|² (batch mean, :func:`_penalty_weights`): each dipole's part
        is pushed to vanish where another dipole dominates.  One network pass serves both.
        """
        if penalty_j <= 0.0:
            return super().losses(batch, penalty_j)
        parts, phi = self.contributions(batch.x_raw, batch.terms)
        mse = _mean_square(self.target.encode(parts.sum(-1) + phi) - batch.z, batch.weight)
        pi = _penalty_weights(batch.terms[:, 1 : 1 + self.n_dipoles])
        return mse, mse + penalty_j * ((parts.abs() * pi).sum(-1) / batch.me2.abs()).mean()

    def evaluation_inputs(self, momenta: Tensor) -> ModelInputs:
        """Pair-major fused inputs for up to :data:`FUSED_BATCH_MAX` points (fewest graph nodes), the
        per-family ones (FeatureMap, DipoleBasis) above."""
        if self.fused is not None and momenta.shape[0] <= FUSED_BATCH_MAX:
            x, basis, factor = self.pair_inputs(momenta, net_dtype(self.net))
            return ModelInputs(x, basis, factor, pair_major=True)
        x_raw, terms = self._unfused_inputs(momenta, net_dtype(self.net))
        return ModelInputs(x_raw, terms)

    def evaluate(self, inputs: ModelInputs) -> Tensor:
        if inputs.pair_major:
            return self.me2_pair_major(inputs.x, inputs.terms, inputs.factor)
        return self.me2_from_inputs(inputs.x, inputs.terms)

    def _linear_readouts(self) -> tuple[Tensor, Tensor]:
        """The least-squares skip of the log-normalisation (folded with the standardisation)."""
        return self.skip_weight, self.skip_bias


def _penalty_weights(d: Tensor) -> Tensor:
    """π_i = D_i^-2 / Σ_j D_j^-2 (B, n_dipoles) of the dipoles (any common factor per event drops out)."""
    w = d.abs().clamp_min(torch.finfo(d.dtype).tiny).pow(-2)
    return w / w.sum(-1, keepdim=True)


class MLPModel(Surrogate):
    """Plain MLP baseline: the network predicts the standardised target directly (SPEC §4.2).

    Parameters as :class:`DipoleModel` (without ``alpha_s``).
    """

    kind = ModelKind.MLP

    def __init__(
        self,
        pdg: Sequence[int],
        n_in: int = 2,
        hidden: Sequence[int] = (128, 128, 128),
        activation: Activation | str = Activation.SILU,
        masses: Sequence[float] | None = None,
    ) -> None:
        super().__init__(pdg, n_in, masses)
        self.features = FeatureMap(self.pdg, self.n_in, masses=self.masses)
        self._build_network(hidden, 1, activation)
        self.fused = FusedInputs(self.features) if FusedInputs.supports(self.features) else None

    def inputs(self, momenta: Tensor, feature_dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
        """Raw features (B, n_features) in ``feature_dtype`` and an empty (B, 0) float64 term tensor (the MLP
        has no basis)."""
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


class Ensemble(nn.Module):
    """R replicas of one model kind: ``me2`` = mean, ``me2_std`` = sample standard deviation (0 for R = 1).

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
        out = copy.deepcopy(self).eval()
        for m in out.member_models():
            m.fold_standardisation()
        return out

    def forward(self, momenta: Tensor) -> tuple[Tensor, Tensor]:
        members = self.member_models()
        inputs = members[0].evaluation_inputs(momenta)
        preds = [m.evaluate(inputs) for m in members]
        if self.replicas == 1:
            return preds[0], torch.zeros_like(preds[0])
        stacked = torch.stack(preds, 0)  # (R, B)
        mean = stacked.mean(0)
        var = ((stacked - mean) ** 2).sum(0) / (self.replicas - 1)
        return mean, torch.sqrt(var)


_MODEL_CLASSES: dict[ModelKind, type[DipoleModel] | type[MLPModel]] = {
    ModelKind.DIPOLE: DipoleModel,
    ModelKind.MLP: MLPModel,
}


def build_model(
    kind: ModelKind | str,
    pdg: Sequence[int],
    n_in: int = 2,
    hidden: Sequence[int] = (128, 128, 128),
    activation: Activation | str = Activation.SILU,
    masses: Sequence[float] | None = None,
) -> Surrogate:
    """A fresh, untrained model of ``kind`` (``"dipole"`` or ``"mlp"``) for the process ``pdg`` (``masses``:
    per particle in GeV, default :func:`~fame_surrogate.dipoles.process_masses`)."""
    cls = _MODEL_CLASSES[as_enum(ModelKind, kind, "unknown model kind ")]
    return cls(pdg, n_in, hidden, activation, masses=masses)
