"""The factorisation-aware model: a positive-weighted Catani–Seymour dipole sum, learnt normalisation."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .._fused import FusedInputs
from .._ops import gram_index, gram_rows
from ..config import DEFAULT_HIDDEN, Activation, ModelKind
from ..dipoles import DipoleBasis, basis_pairs
from ..features import FeatureMap, feature_pairs
from ..lepton_angles import N_ANGULAR, PairReader, angular_factor, pair_layout
from ..resonance import LeptonPairPropagator
from . import scalers
from .base import FUSED_BATCH_MAX, LossBatch, ModelInputs, Surrogate, pointwise_loss
from .network import net_dtype, run_net_pair_major

__all__ = ["BRACKET_FLOOR", "LOG_WEIGHT_BOUND", "DipoleModel", "dipole_weights", "positive_bracket"]

#: the dipole weights are bounded above by e^LOG_WEIGHT_BOUND (:func:`dipole_weights`).  Without a bound a
#: network output that no training point constrains can run away: at Z+4 jets one replica of a
#: canonical-order run set NN_k = 31.6 for one dipole at a light validation event, which overestimated its
#: |M|² 2e15-fold and brought ε_2 of the 240k run to 8e-6 (examples/zjets/README.md).  Only the upper side
#: is bounded: the network switches dipoles off with NN_k down to ≈ −170, and an underestimate can only
#: matter at the heavy events that training covers densely.
LOG_WEIGHT_BOUND = 10.0
#: softplus(LOG_WEIGHT_BOUND): the largest log-weight, and the shift that makes the weight 1 at NN_k = 0
_LOG_WEIGHT_CAP = LOG_WEIGHT_BOUND + math.log1p(math.exp(-LOG_WEIGHT_BOUND))


#: the floor of :func:`positive_bracket`, relative to the weighted dipole sum
BRACKET_FLOOR = 1e-3


def positive_bracket(dipole_sum: Tensor, phi: Tensor) -> Tensor:
    """The bracket ``S + Φ = Σ_k w_k |D_k| + Σ_φ c_φ Φ_φ`` kept positive: ``max(S + Φ, δ S)``.

    ``dipole_sum`` S (positive) and ``phi`` Φ (signed), any matching shape and float dtype, in any common
    normalisation; δ = :data:`BRACKET_FLOOR`.  The signed azimuthal part can exceed the dipoles where a
    network output that no training point constrains runs away, and the plain sum then vanishes or turns
    negative (one such prediction in 240k at Z+4, examples/zjets/README.md); a surrogate weight near zero
    ruins the two-stage unweighter's x = w/s.  Physical spin correlations stay far above the floor (|Φ| ≤
    0.22 S for e+e- → 4 jets), where the result is S + Φ exactly.  Only evaluation and the exported graph
    floor the bracket.  In training it engaged at 9 of 56M point evaluations (Z+5), cutting their gradient
    to Φ, and Z+5's ε_2 came out 0.1 lower (three runs against one without), so training keeps the plain sum.
    At batch 1 the floor (a Max node, and the dipole and φ sums taken apart) costs 4–5% of the graph's time;
    a smooth floor cost 8–10% (examples/zjets/README.md).
    """
    return torch.maximum(dipole_sum + phi, BRACKET_FLOOR * dipole_sum)


def dipole_weights(logits: Tensor) -> Tensor:
    """The positive dipole weights ``w = exp(softplus(B) − softplus(B − z))`` (B = :data:`LOG_WEIGHT_BOUND`)
    of the network's outputs ``z`` (any shape, any float dtype).

    1 at z = 0; |log w − z| < 0.01 for z ≤ B/2, and → 0 as z → −∞; never above ``e^softplus(B)`` (≈ e^B).
    """
    return torch.exp(_LOG_WEIGHT_CAP - torch.nn.functional.softplus(LOG_WEIGHT_BOUND - logits))


class DipoleModel(Surrogate):
    """Factorisation-aware model: ``me2 = P · exp(L) · (Σ_k w_k |D_k| + Σ_φ c_φ Φ_φ)``.

    * ``D_k``: the Catani–Seymour dipoles (:class:`~fame_surrogate.dipoles.DipoleBasis`), exact in every soft
      and collinear limit, where they are positive (FI/IF kernels can dip below zero far from their limits,
      hence the magnitude); ``P`` the lepton-pair factor of :mod:`.resonance` (γ*/Z for ℓ+ℓ-, W for ℓν,
      1 without a lepton pair);
      ``ΣD`` below is Σ_k |D_k|.
    * ``w_k ≈ exp(NN_k)`` (:func:`dipole_weights`, bounded above by ≈ e^10): positive dipole weights of
      order one (all 1 before training), so the sum has no cancellations, no weight can change sign, and
      none can run away where no training point constrains it.
    * ``Φ_φ``: the azimuthal (spin-correlation) columns, with signed coefficients ``c_φ = NN_φ`` (0 before
      training).  Evaluation keeps the bracket above a floor far below its healthy range
      (:func:`positive_bracket`), so that no prediction is ever zero or negative.
    * ``A(n)`` (with ``lepton_angles``): for a final-state lepton pair (pp → ℓ+ℓ- / ℓν + jets), its decay
      angles factorised exactly (:mod:`~fame_surrogate.lepton_angles`): the network reads the hadronic
      event alone (the pair as q/2 + q/2) and ten more outputs give the quadratic form in the decay
      direction n, normalised to mean 1 over the sphere (1 before training).  Otherwise A = 1.
    * ``L = a·x_log + b + NN_0``: a scalar log-normalisation.  Its linear skip ``a·x_log + b`` over the
      standardised log-invariant features is the least-squares fit of log(|M|²/(P ΣD)) on them
      (:meth:`fit_scalers`), frozen; the network learns the non-linear remainder.  It carries the dimension
      and the hardness of |M|², which at pp → Z + 4 jets spans ~9 decades of |M|²/(P ΣD) (1–99%), 3 after
      the fit (``benchmarks/bench_pp_norm.py``), so the network starts in its useful range.

    Internally the basis is passed around as ``terms = [log(P ΣD), |D_k|/ΣD ..., Φ_φ/ΣD ..., n_x, n_y,
    n_z]`` (float64; n only with a factorised lepton pair), so that float32 training never forms the raw
    |M|² scale.

    Parameters
    ----------
    pdg, n_in
        The process, as :class:`~fame_surrogate.models.base.Surrogate`.
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
    canonical : bool
        Read identical final-state particles in canonical order (:class:`~.base.Surrogate`).
    lepton_angles : bool
        Factorise the decay angles of a final-state lepton pair (``A(n)`` above) where the process has one
        (:func:`~fame_surrogate.lepton_angles.pair_layout`); no effect otherwise.  Default off for a bare
        model; training turns it on by default (``TrainConfig.lepton_angles``, with the measurements).
    antenna : bool
        The features include the antenna-chain column where the process has one quark line
        (:mod:`~fame_surrogate.antenna`); default off for a bare model, on in training
        (``TrainConfig.antenna``).

    Attributes
    ----------
    layout : list of int or None
        The particle order the features, dipoles and lepton-pair factor read (indices into ``pdg``), None
        where they read the event as given (no factorised lepton pair).
    n_angular : int
        Network outputs of the angular factor: 10 with a factorised lepton pair, else 0.
    """

    kind = ModelKind.DIPOLE
    skip_weight: Tensor
    skip_bias: Tensor
    _gram_idx: Tensor

    def __init__(
        self,
        pdg: Sequence[int],
        n_in: int = 2,
        hidden: Sequence[int] = DEFAULT_HIDDEN,
        activation: Activation | str = Activation.SILU,
        alpha_s: float = 0.118,
        masses: Sequence[float] | None = None,
        canonical: bool = False,
        lepton_angles: bool = False,
        antenna: bool = False,
    ) -> None:
        super().__init__(pdg, n_in, masses, canonical)
        self.layout = pair_layout(self.pdg, self.n_in) if lepton_angles else None
        order = list(range(len(self.pdg))) if self.layout is None else self.layout
        self.pair_reader = PairReader(self.layout, self.n_in) if self.layout is not None else None
        pdg_read = [self.pdg[i] for i in order]
        masses_read = [self.masses[i] for i in order]
        # one Gram computation serves both: the pairs either of them reads
        self.pairs = sorted(
            set(feature_pairs(pdg_read, self.n_in, masses_read))
            | set(basis_pairs(pdg_read, self.n_in, masses_read))
        )
        self.features = FeatureMap(pdg_read, self.n_in, pairs=self.pairs, masses=masses_read, antenna=antenna)
        self.basis = DipoleBasis(pdg_read, self.n_in, alpha_s=alpha_s, pairs=self.pairs, masses=masses_read)
        self.register_buffer("_gram_idx", gram_index(self.pairs), persistent=False)
        # the Breit–Wigner of a final-state lepton pair (pp -> l+l- + jets) multiplies every dipole, so the
        # network learns only a smooth remainder (ones for e+e- and other processes without such a pair)
        self.propagator = LeptonPairPropagator(pdg_read, self.n_in)
        self.n_dipoles = int(self.basis.n_dipoles)
        self.n_terms = self.n_dipoles + 2 * int(self.basis.n_phi)
        self.n_angular = N_ANGULAR if self.layout is not None else 0
        n_features = int(self.features.n_features)
        # outputs: [NN_0 (log-normalisation), NN_k (dipole weights), c_φ (cos, sin), the angular factor's
        # lower triangle]; all ≈ 0 at the start
        self._build_network(hidden, 1 + self.n_terms + self.n_angular, activation)
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

    def read(self, momenta: Tensor) -> tuple[Tensor, Tensor | None]:
        """The event as the features and dipoles read it, and the lepton pair's decay direction.

        ``momenta`` (B, n, 4) float64 in the process's order → (momenta (B, n, 4) float64: identical particles
        in canonical order (:meth:`ordered`), then, with a factorised lepton pair, in :attr:`layout`'s order
        with the pair's slots holding q/2 each (:class:`~fame_surrogate.lepton_angles.PairReader`); the
        direction n (3, B) float64, or None without such a pair).
        """
        momenta = self.ordered(momenta)
        if self.pair_reader is None:
            return momenta, None
        hadronic, n = self.pair_reader(momenta)
        return hadronic, n

    def inputs(self, momenta: Tensor, feature_dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
        """Raw features (B, n_features) in ``feature_dtype`` and terms (B, 1 + n_terms [+ 3]) float64 of
        momenta (B, n, 4) float64.

        ``terms[:, 0] = log(P ΣD)`` (P: the lepton-pair factor, ΣD = Σ_k |D_k|), then the |D_k| and the φ
        columns divided by ΣD, then, with a factorised lepton pair, its decay direction n.  Evaluation
        computes the features in the network's dtype (:meth:`forward`), training in float64.
        """
        momenta, n = self.read(momenta)
        if self.fused is not None:
            x, basis, factor = self.pair_inputs(momenta, feature_dtype)
            x_raw, terms = x.transpose(0, 1), self._terms(basis, factor).transpose(0, 1)
        else:
            x_raw, terms = self._unfused_inputs(momenta, feature_dtype)
        return x_raw, terms if n is None else torch.cat([terms, n.transpose(0, 1)], dim=1)

    def _unfused_inputs(self, momenta: Tensor, feature_dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """:meth:`inputs` (without n) through FeatureMap, DipoleBasis and the propagator module (per dipole
        family), of :meth:`read`'s event."""
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
        """Pair-major inputs of :meth:`read`'s event from :class:`~fame_surrogate._fused.FusedInputs`:
        features (n_features, B) in ``feature_dtype``, the basis [|D_k| ..., Φ_φ ...] (n_terms, B) and the
        lepton-pair factor P (1, B) (None without a lepton pair), float64."""
        assert self.fused is not None
        x, dipoles, phi, factor = self.fused(momenta, feature_dtype)
        return x, torch.cat([torch.abs(dipoles), phi], dim=0), factor

    def me2_pair_major(self, x: Tensor, basis: Tensor, factor: Tensor | None) -> Tensor:
        """|M|^2 (B,) from :meth:`pair_inputs` (with a factorised lepton pair, the basis followed by the three
        rows of n): ``P exp(L) A(n) (Σ_k w_k |D_k| + Σ_φ c_φ Φ_φ)``, the function of :meth:`me2_from_inputs`
        without the normalisation by ΣD that training's terms carry (exp(log ΣD) and ΣD agree to rounding),
        in fewer graph nodes."""
        h = self.x_norm(x.transpose(0, 1)).transpose(0, 1)  # pair-major (once folded: x itself)
        dtype = self.skip_weight.dtype
        out = run_net_pair_major(self.net, h).to(dtype)  # (1 + n_terms + n_angular, B)
        n_phi = self.n_terms - self.n_dipoles
        head, w, c_phi, ang = torch.split(out, [1, self.n_dipoles, n_phi, self.n_angular], dim=0)
        # the skip and its bias as one (1, F) @ (F, B) + (1, 1) product (one Gemm) of the features in
        # their own dtype (float64 from pair_inputs, as in training): ONNX Runtime 1.32 fuses a Transpose
        # into a MatMul with a 1-D second operand wrongly (the (B, F) @ (F,) form of :meth:`_heads` came
        # out wrong at batch 16)
        skip = torch.addmm(self.skip_bias.reshape(1, 1), self.skip_weight[None, :], h.to(dtype))
        amp = torch.exp(head + skip)
        if factor is not None:
            amp = amp * factor
        if self.n_angular:
            basis, n = torch.split(basis, [self.n_terms, 3], dim=0)
            amp = amp * angular_factor(ang, n)
        if self.n_terms == self.n_dipoles:  # no azimuthal terms: the bracket is positive as it is
            # the overall factor inside the sum, which then yields (B,) directly (no Reshape node)
            return (dipole_weights(w) * basis * amp).sum(0)
        dip = (dipole_weights(w) * basis[: self.n_dipoles]).sum(0, keepdim=True)
        phi = (c_phi * basis[self.n_dipoles :]).sum(0, keepdim=True)
        return (positive_bracket(dip, phi) * amp).sum(0)

    def _terms(self, basis: Tensor, factor: Tensor | None) -> Tensor:
        """Training's terms (n_terms + 1, B) from :meth:`pair_inputs`: [log(P ΣD), |D_k|/ΣD, Φ_φ/ΣD]."""
        dsum = basis[: self.n_dipoles].sum(0, keepdim=True)
        log_base = torch.log(dsum)
        if factor is not None:
            log_base = log_base + torch.log(factor)
        return torch.cat([log_base, basis / dsum], dim=0)

    @torch.no_grad()
    def fit_scalers(
        self, x_raw: Tensor, terms: Tensor, me2: Tensor, me2_scale: Tensor | None = None
    ) -> None:
        """Set the input/target standardisation and the least-squares skip from training data.

        The skip is the float64 least-squares fit of ``log(|M|²) − log(P ΣD)`` on the standardised
        log-invariant features and a constant, over the points with positive |M|² (``me2_scale`` as in
        :meth:`Surrogate.fit_scalers`).
        """
        super().fit_scalers(x_raw, terms, me2, me2_scale)
        cols = torch.tensor(self.features.log_columns, dtype=torch.int64)
        # chunk by chunk (no full-size copies): each chunk's design A_i = Q_i R_i; the stacked R_i and
        # Q_iᵀ y_i have the same least-squares (and minimum-norm) solutions as the whole design, since
        # Σ ||A_i c − y_i||² = Σ ||R_i c − Q_iᵀ y_i||² + a constant (TSQR)
        r_parts: list[Tensor] = []
        qy_parts: list[Tensor] = []
        chunk = scalers.FIT_CHUNK
        for start in range(0, x_raw.shape[0], chunk):
            part = slice(start, start + chunk)
            m, t = me2[part].to(torch.float64), terms[part, 0].to(torch.float64)
            ok = (m > 0) & torch.isfinite(t)
            if not bool(ok.any()):
                continue
            xs = self.x_norm(x_raw[part][ok].to(torch.float64))[:, cols]
            y = torch.log(m[ok]) - t[ok]
            q, r = torch.linalg.qr(torch.cat([xs, torch.ones_like(y)[:, None]], dim=1))
            r_parts.append(r)
            qy_parts.append(q.T @ y)
        if not r_parts:
            raise ValueError("no training point with positive |M|^2 and a finite dipole sum")
        design, target = torch.cat(r_parts), torch.cat(qy_parts)
        coef = torch.linalg.lstsq(design, target[:, None], driver="gelsd").solution[:, 0]
        weight = torch.zeros_like(self.skip_weight)
        weight[cols] = coef[:-1]
        self.skip_weight.copy_(weight)
        self.skip_bias.copy_(coef[-1])

    def _heads(self, x_raw: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(log-normalisation L (B,), dipole weights w (B, n_dipoles), φ coefficients (B, 2 n_phi), the
        angular factor's outputs (B, n_angular)), float64 (the network's output cast up; the skip is float64
        on the standardised features)."""
        h = self.x_norm(x_raw)
        dtype = self.skip_weight.dtype  # float64, or float32 in a float32 training copy
        out = self.net(h.to(net_dtype(self.net))).to(dtype)
        log_norm = out[:, 0] + h.to(dtype) @ self.skip_weight + self.skip_bias
        nd, nt = self.n_dipoles, self.n_terms
        return log_norm, dipole_weights(out[:, 1 : 1 + nd]), out[:, 1 + nd : 1 + nt], out[:, 1 + nt :]

    def _factors(self, x_raw: Tensor, terms: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(P exp(L) A(n) ΣD (B,), the weighted dipoles w_k |D_k|/ΣD (B, n_dipoles), Σ_φ c_φ Φ_φ/ΣD (B,))."""
        log_norm, w, c_phi, ang = self._heads(x_raw)
        amp = torch.exp(log_norm + terms[:, 0])
        nd, nt = self.n_dipoles, self.n_terms
        if self.n_angular:
            amp = amp * angular_factor(ang.transpose(0, 1), terms[:, 1 + nt :].transpose(0, 1))
        return amp, w * terms[:, 1 : 1 + nd], (c_phi * terms[:, 1 + nd : 1 + nt]).sum(-1)

    def contributions(self, x_raw: Tensor, terms: Tensor) -> tuple[Tensor, Tensor]:
        """(the per-dipole parts P exp(L) w_k |D_k| (B, n_dipoles), the φ part (B,)), float64; |M|² is their
        total wherever it lies above the bracket's floor (:func:`positive_bracket`)."""
        amp, dip, phi = self._factors(x_raw, terms)
        return dip * amp[:, None], phi * amp

    def me2_from_inputs(self, x_raw: Tensor, terms: Tensor) -> Tensor:
        """|M|^2 (B,) from raw features and terms (float64): the total of :meth:`contributions`, as training
        sees it (the bracket without the floor that :meth:`evaluate` adds)."""
        amp, dip, phi = self._factors(x_raw, terms)
        return amp * (dip.sum(-1) + phi)

    def _bracket(self, dipole_sum: Tensor, phi: Tensor) -> Tensor:
        """S + Φ, through :func:`positive_bracket` where the model has azimuthal terms."""
        return dipole_sum + phi if self.n_terms == self.n_dipoles else positive_bracket(dipole_sum, phi)

    def losses(self, batch: LossBatch, penalty_j: float = 0.0, delta: float = 0.0) -> tuple[Tensor, Tensor]:
        """(the pointwise loss in the standardised target space (:func:`~.base.pointwise_loss` with
        ``delta``), that loss + ``penalty_j`` × the factorisation penalty).

        The penalty is Σ_i |C_i D_i| π_i / |M|² (batch mean, :func:`_penalty_weights`): each dipole's part
        is pushed to vanish where another dipole dominates.  One network pass serves both.
        """
        if penalty_j <= 0.0:
            return super().losses(batch, penalty_j, delta)
        parts, phi = self.contributions(batch.x_raw, batch.terms)
        loss = pointwise_loss(self.target.encode(parts.sum(-1) + phi) - batch.z, batch.weight, delta)
        pi = _penalty_weights(batch.terms[:, 1 : 1 + self.n_dipoles])
        return loss, loss + penalty_j * ((parts.abs() * pi).sum(-1) / batch.me2.abs()).mean()

    def evaluation_inputs(self, momenta: Tensor) -> ModelInputs:
        """Pair-major fused inputs for up to :data:`FUSED_BATCH_MAX` points (fewest graph nodes), the
        per-family ones (FeatureMap, DipoleBasis) above."""
        momenta, n = self.read(momenta)
        if self.fused is not None and momenta.shape[0] <= FUSED_BATCH_MAX:
            # float64 features: the skip reads them as they are, the network rounded to its dtype (one Cast)
            x, basis, factor = self.pair_inputs(momenta, self.skip_weight.dtype)
            if n is not None:
                basis = torch.cat([basis, n], dim=0)
            return ModelInputs(x, basis, factor, pair_major=True)
        x_raw, terms = self._unfused_inputs(momenta, net_dtype(self.net))
        return ModelInputs(x_raw, terms if n is None else torch.cat([terms, n.transpose(0, 1)], dim=1))

    def evaluate(self, inputs: ModelInputs) -> Tensor:
        if inputs.pair_major:
            return self.me2_pair_major(inputs.x, inputs.terms, inputs.factor)
        # evaluation (and the exported graph) floors the bracket; training does not (:func:`positive_bracket`)
        amp, dip, phi = self._factors(inputs.x, inputs.terms)
        return amp * self._bracket(dip.sum(-1), phi)

    def _apply_scale(self, factor: float) -> None:
        """:meth:`rescale`'s hook: the factor joins exp(L) through the skip's bias (the target transform
        serves only the training loss here)."""
        self.skip_bias.add_(math.log(factor))

    def _linear_readouts(self) -> tuple[Tensor, Tensor]:
        """The least-squares skip of the log-normalisation (folded with the standardisation)."""
        return self.skip_weight, self.skip_bias


def _penalty_weights(d: Tensor) -> Tensor:
    """π_i = D_i^-2 / Σ_j D_j^-2 (B, n_dipoles) of the dipoles (any common factor per event drops out)."""
    w = d.abs().clamp_min(torch.finfo(d.dtype).tiny).pow(-2)
    return w / w.sum(-1, keepdim=True)
