"""Settings of a surrogate: :class:`TrainConfig` and the enums of its fields, without torch.

The command line (``fame train --help``), bundles and the Dask orchestration build and read these settings
without paying for torch, which :mod:`fame_surrogate.train` and :mod:`fame_surrogate.models` import; only
:attr:`Precision.torch_dtype` imports torch, on first use.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from ._cpu import native_bf16

if TYPE_CHECKING:
    import torch

__all__ = [
    "DEFAULT_HIDDEN",
    "DEFAULT_OPTIMIZER",
    "DEFAULT_PENALTY_LEPTON_BEAMS",
    "HADRONIC_HIDDEN",
    "HADRONIC_HUBER_DELTA",
    "HADRONIC_WEIGHT_DECAY",
    "IMPORTANCE_FLOOR",
    "LARGE_SET_BATCH",
    "LARGE_SET_POINTS",
    "RESOLVED_FIELDS",
    "SMALL_SET_BATCH",
    "SMALL_SUBSAMPLE_FLOOR",
    "SMALL_SUBSAMPLE_POINTS",
    "UNWEIGHTING_IMPORTANCE",
    "Activation",
    "Clock",
    "Loss",
    "ModelKind",
    "Objective",
    "OptimizerKind",
    "Precision",
    "Symmetry",
    "TrainConfig",
    "as_enum",
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


class Loss(StrEnum):
    """Training losses: ``mse`` in the standardised target space (the mean square, or the pseudo-Huber loss
    where ``TrainConfig.huber_delta`` > 0), or ``gain`` (``mse``, then the gain loss)."""

    MSE = "mse"
    GAIN = "gain"


class Objective(StrEnum):
    """What a surrogate is trained for; it sets the loss and the training sample unless they are given.

    ``unweighting``: the surrogate is the first stage of two-stage unweighting (SPEC §5), so what counts is
    the gain on the events that carry the cross section: the ``gain`` loss on an importance subsample
    (``importance_fraction`` :data:`UNWEIGHTING_IMPORTANCE`).  ``pointwise``: every point counts the same
    (``mse`` on all points), as LHE reweighting needs.  ``auto``: ``pointwise`` for every kind of event.
    Until the thirty-fourth session ``auto`` meant ``unweighting`` for Sherpa's weighted pp dumps; with
    today's hadron-collider network (256 + 5 × 128, the antenna column) and β chosen on the held-out split,
    ``pointwise`` is ahead there in the gain too at Z+5 jets (ε_2 0.73–0.74 against 0.48–0.60, f_eff/f_ideal
    0.73–0.75 at β = 1 against 0.48–0.62, two seeds against five) and at Z+4 sits at the 2% median
    (0.0200–0.0205 in float32, 0.0193–0.0195 with ``bf16_hidden``, against 0.032) at a level tempered gain
    (``examples/zjets/README.md``, last two sections).
    """

    AUTO = "auto"
    UNWEIGHTING = "unweighting"
    POINTWISE = "pointwise"


class OptimizerKind(StrEnum):
    """The optimiser of a network's parameters (:mod:`fame_surrogate.optim`): ``adamw`` for all of them, or
    ``muon``: Muon for the hidden weight matrices and AdamW for the readout and the biases."""

    ADAMW = "adamw"
    MUON = "muon"


class Clock(StrEnum):
    """What ``TrainConfig.max_seconds`` counts: wall-clock time, or this process's CPU time."""

    WALL = "wall"
    CPU = "cpu"


class Precision(StrEnum):
    """Floating-point precision of training arithmetic or of a network."""

    FLOAT32 = "float32"
    FLOAT64 = "float64"

    @property
    def torch_dtype(self) -> torch.dtype:
        """The torch dtype (torch is imported here, on first use, so that this module stays torch-free)."""
        import torch

        return torch.float32 if self is Precision.FLOAT32 else torch.float64


class Symmetry(StrEnum):
    """How a model uses the exchange symmetry of identical final-state particles
    (:mod:`fame_surrogate.symmetry`).

    ``augment``: training sees each point in up to ``TrainConfig.augment`` orders of its identical particles.
    ``canonical``: the model reads every event with its identical particles in one canonical order (inside
    the exported graph too), and training sees each point once.
    ``auto``: ``canonical`` where the process has identical final-state particles and the augmented set's cap
    (``TrainConfig.augment_max_points``) leaves fewer than two orders per training point, so that copies
    would add nothing and the model would not be symmetric; ``augment`` otherwise
    (:meth:`TrainConfig.resolved`).
    """

    AUGMENT = "augment"
    CANONICAL = "canonical"
    AUTO = "auto"


#: hidden layer widths of a model's network unless given: the model constructors, and ``TrainConfig.hidden``
#: for lepton beams
DEFAULT_HIDDEN: tuple[int, ...] = (128, 128, 128)

#: ``TrainConfig.hidden`` for hadron collisions unless given: six layers, the first 256 wide and five of 128
#: (twice the depth of :data:`DEFAULT_HIDDEN`).  At Z+4 jets (720k events, one replica, 450 CPU-s, the
#: pointwise objective, Muon, an independent 240k Sherpa run; seed 0) the median |Δ| fell from 0.040 (3 × 128,
#: 29 epochs) to 0.035 (4 × 128), 0.032 (5 × 128) and 0.031 (6 × 128, 17 epochs), the cross-section-weighted
#: spread from 0.094 to 0.065 and ε_2 from 0.74 to 0.84; wider layers gained less (3 × 192: 0.035, 3 × 256:
#: 0.035).  A larger batch, bfloat16 matrix products, three Newton–Schulz steps, a longer warm-down and half
#: the learning rate moved it by at most 4%.  With the default recipe (2 × 900 CPU-s, seed 0, the same data)
#: ε_2 rose from 0.896 to 0.925 and the median |Δ| fell from 0.056 to 0.041; the pointwise model reached
#: 0.0226.  More depth or width costs more epochs than it buys (8 × 128: 0.033, 6 × 192: 0.031), and the
#: learning rate 4e-3 stays the best with six layers (2e-3: 0.037, 8e-3: 0.035).  The first layer reads 105
#: columns at Z+4; widening it alone to 256 gave 0.029 in that screening, and in the full recipes (2 × 900
#: CPU-s, seed 0) a median |Δ| of 0.036 against 0.041 with ε_2 level at 0.925 (default recipe) and 0.0207
#: against 0.0226 (pointwise; 0.0202 and 0.0200 in seeds 0 and 7 with the antenna column,
#: ``TrainConfig.antenna``).  At Z+5 (160k events, 2 × 450 CPU-s, seed 0) it gave, with the antenna column, a
#: median |Δ| of 0.113 against 0.156 and a tempered f_eff/f_ideal of 0.93 against 0.80
#: (examples/zjets/README.md)
HADRONIC_HIDDEN: tuple[int, ...] = (256, 128, 128, 128, 128, 128)

#: ``TrainConfig.weight_decay`` for hadron collisions unless given (lepton beams: 0).  At Z+4 jets the network
#: overfits: one replica trained on the MSE alone (450 CPU-s, 353k events × 4 gluon orders) ends at a
#: training loss of 6.5e-4 against 1.15e-3 held out, and 1.5× the budget moves neither.  Decay 1e-3, 1e-2,
#: 3e-2 and 1e-1 gave a held-out loss of 1.06e-3, 0.90e-3, 0.94e-3 and 1.25e-3.  With ``fame train``'s
#: defaults (2 × 900 CPU-s, the gain phase), 1e-2 raised ε_2 from 0.77 to 0.81 and 0.79 and cut the median
#: |Δ| from 0.11–0.13 to 0.096 and 0.092 (seeds 0 and 7); at Z+5 (320k events) the median |Δ| fell too (0.24
#: and 0.30 against 0.27–0.34), while ε_2 (0.54 and 0.55 against 0.53–0.59) and f_eff/f_ideal (0.57 and 0.60
#: against 0.60–0.64) came out a little lower, within the noise of single runs (examples/zjets/README.md)
HADRONIC_WEIGHT_DECAY = 1e-2

#: ``TrainConfig.huber_delta`` for hadron collisions unless given (lepton beams: 0, the plain mean square).
#: At Z+4 jets (720k events, one replica, 450 CPU-s, the pointwise objective, an independent 240k Sherpa run)
#: the median |Δ| fell from 0.052 to 0.045 (δ = 0.005, 0.02, 0.1; seed 0) and from 0.052 to 0.044 (δ =
#: 0.03; seed 7), with ε_2 and the cross-section-weighted spread level or better; with the default recipe
#: (the gain phase after it; 2 × 900 CPU-s, seed 0) from 0.064 to 0.059 at the same ε_2 (0.867) and
#: f_eff/f_ideal (0.86) (examples/zjets/README.md)
HADRONIC_HUBER_DELTA = 0.02

#: ``TrainConfig.optimizer`` unless given, for every beam.  At Z+4 jets (720k events, one replica, 450
#: CPU-s, the pointwise objective, an independent 240k Sherpa run) Muon on the hidden matrices cut the median
#: |Δ| from 0.045 to 0.041 and from 0.044 to 0.041 (seeds 0 and 7) in fewer epochs (26–28 against 39); with
#: the default recipe (2 × 900 CPU-s) from 0.059 to 0.054 and 0.057 while ε_2 rose from 0.867 and 0.873 to
#: 0.894 and 0.900.  On e+e- → 3/4/5 jets (2 replicas × 60/150/570 CPU-s, Sherpa's reference points; seeds 0
#: and 7) the median |Δ| fell by 4–37%, 22–27% and 19–27% (5 jets: 99.70% and 99.69% within 1% against 99.28%
#: and 98.90%).  Over the first few hundred optimiser steps AdamW is ahead (README, "Muon for lepton beams
#: too"; examples/zjets/README.md)
DEFAULT_OPTIMIZER = OptimizerKind.MUON

#: the factorisation penalty J for lepton beams (TrainConfig.penalty_j=None; hadron collisions get 0)
DEFAULT_PENALTY_LEPTON_BEAMS = 1e-3

#: ``importance_fraction`` of the ``unweighting`` objective: at Z+4 jets (Sherpa-integrated, 800k events)
#: the gain loss on this subsample reaches f_eff/f_ideal 0.75-0.86, at W+4 0.79-0.86 (examples/zjets,
#: examples/wjets READMEs)
UNWEIGHTING_IMPORTANCE = 0.99

#: ``importance_floor`` by ``symmetry`` unless given (it applies with ``importance_fraction``: the unweighting
#: objective).  At Z+4 jets (bench_gain_phase.py, one replica, 675 + 180 CPU-s, seeds 0 and 7) the canonical
#: order with the floor 0.02 overfits (early stop) and reaches f_eff/f_ideal 0.64 and 0.67; with 0.2, 0.83
#: and 0.79 (examples/zjets/README.md)
IMPORTANCE_FLOOR: dict[Symmetry, float] = {Symmetry.CANONICAL: 0.2, Symmetry.AUGMENT: 0.02}

#: ``importance_floor`` unless given, with ``augment`` where its floor keeps fewer than
#: ``SMALL_SUBSAMPLE_POINTS`` training points (expected, before copies): such a run reaches its epoch cap
#: before its budget, and the light events it then keeps cost little.  At Z+5 jets (2 replicas × 450 CPU-s,
#: examples/zjets/README.md) on 160k events, where 0.02 keeps 28k, the floor 0.2 keeps 47k and reaches
#: f_eff/f_ideal 0.59, 0.53 and 0.57 against 0.44, 0.49 and 0.43 (seeds 0, 7, 3); on 320k, where 0.02 keeps
#: 57k and the runs stay below their epoch cap, 0.2 keeps 95k and ties (0.54 and 0.74 against 0.62 and
#: 0.63, seeds 0 and 7), as at Z+4 (353k kept; 900 CPU-s, seeds 0 and 3: 0.77 and 0.87 against 0.85 and
#: 0.86).  The threshold lies between 28k and 57k.
SMALL_SUBSAMPLE_FLOOR, SMALL_SUBSAMPLE_POINTS = 0.2, 40_000

#: the TrainConfig fields that training reports as it used them, in ``TrainMetrics`` and so in the ONNX
#: metadata and the bundle manifest: those that :meth:`TrainConfig.resolved` decides from the events, and the
#: optimiser
RESOLVED_FIELDS = (
    "objective", "loss", "importance_fraction", "importance_floor", "penalty_j", "symmetry", "batch_size",
    "weight_decay", "huber_delta", "optimizer", "hidden", "bf16_hidden",
)

#: ``batch_size`` unless given: ``LARGE_SET_BATCH`` from ``LARGE_SET_POINTS`` training points per epoch
#: (permuted copies counted), ``SMALL_SET_BATCH`` below.  Measured with 2 replicas at the same CPU budget
#: (README, examples/zjets/README.md): from a million points 1024 sees more points per CPU second and wins
#: (e+e- → 5 jets, 1.5M points, 570 CPU-s: 99.36% within 1% against 98.76%; Z+4, 1.4M points, 900 CPU-s:
#: ε_2 0.76-0.80 against 0.72, three seeds); below, the steps of 512 win (e+e- → 3 jets, 270k points:
#: 84.2% within 0.1% against 61.5%; 4 jets, 540k: 99.91% within 1% against 99.78%; Z+4, 86k: median |Δ|
#: 0.296 and 0.359 against 0.324 and 0.384)
SMALL_SET_BATCH, LARGE_SET_BATCH, LARGE_SET_POINTS = 512, 1024, 1_000_000


@dataclass(frozen=True)
class TrainConfig:
    """Settings of :func:`fame_surrogate.train.train_surrogate`; the defaults are the tuned ones
    (benchmarks/bench_accuracy.py).

    Parameters
    ----------
    model : ModelKind
        ``"dipole"`` (factorisation-aware) or ``"mlp"`` (baseline).
    replicas : int
        Ensemble size R (``me2`` = mean, ``me2_std`` = spread).  Default 2: two replicas of half the budget
        each beat one of the whole budget (e+e- → 5 jets: 97.99% within 1% against 95.5% for either alone;
        pp → Z + 4 jets: median |Δ| 0.130 against 0.172), and ``fame train`` runs them side by side.
    epochs : int
        Maximum number of epochs per replica.
    batch_size : int or None
        Mini-batch size.  None (the default): decided by the number of training points per epoch, permuted
        copies counted (:meth:`resolved`): 1024 from a million points (``LARGE_SET_POINTS``), where the
        larger batch's throughput wins; 512 below, where the steps of the smaller one win (with ``lr``
        4e-3 and ``decay_fraction`` 0.5; see the README's accuracy table).
    lr : float
        Initial learning rate (AdamW's, and Muon's at AdamW's update size; see ``optimizer``).
    weight_decay : float or None
        Decoupled weight decay (AdamW) of the network's parameters in both training phases: every step
        scales each parameter by 1 − lr·``weight_decay`` before Adam's update, pulling an output that the
        data do not constrain back to the model's prior (dipole weights 1, no azimuthal term, the linear
        skip alone).  0: plain Adam.  None (default): :data:`HADRONIC_WEIGHT_DECAY` for hadron collisions,
        where it cuts the Z+4 error by 15–30% and raises ε_2; 0 for lepton beams, whose e+e- → 4 jets fit
        did not gain from it (99.83% within 1% at 150 CPU-s against 99.91% without).
    huber_delta : float or None
        δ (0, or from 1e-9) of the pointwise loss (the MSE phase's, its validation loss, and
        ``gain_mse_weight``'s term), in units of ln|M|²: 0 is the mean square of the standardised target's
        residual r; δ > 0 the pseudo-Huber loss 2δ_z²(√(1 + (r/δ_z)²) − 1), δ_z = δ over the target's
        standard deviation in ln|M|², which is r² for |r| ≪ δ_z and grows as 2δ_z|r| beyond.  Relative
        errors of |M|² above about δ then count linearly, so that the fit is not spent on the few points it
        cannot reach and its typical (median) error falls.  None (default): :data:`HADRONIC_HUBER_DELTA`
        for hadron collisions; 0 for lepton beams.
    optimizer : OptimizerKind
        ``muon`` (default, :data:`DEFAULT_OPTIMIZER`: Muon on the hidden weight matrices, AdamW on the
        readout and the biases; :mod:`fame_surrogate.optim`) or ``adamw`` (AdamW on every parameter), in
        both training phases; ``lr``, ``gain_lr``, the schedule and ``weight_decay`` apply to both.  None
        (which meant "decided by the beams" before Muon became the default for lepton beams too) is taken
        as the default.
    hidden : tuple of int or None
        Hidden layer widths.  None (default): :data:`HADRONIC_HIDDEN` (256 then 5 × 128) for hadron
        collisions, :data:`DEFAULT_HIDDEN` (3 × 128) for lepton beams (:meth:`hidden_for`).
    activation : Activation
        Hidden activation (``silu``, ``tanh``, ``gelu``, ``relu``).
    seed : int
        Seed of the split, the initialisation and the shuffling (replica r uses seed + r).
    val_fraction : float
        Fraction of the points held out for validation, early stopping and the reported metrics.
    patience : int
        Early stopping: epochs without validation improvement before stopping.
    lr_patience, lr_factor, min_lr : int, float, float
        LR on plateau: after ``lr_patience`` epochs without a better validation loss the learning rate
        drops by ``lr_factor`` (never below ``min_lr``).
    decay_fraction : float
        Warm-down: over the last ``decay_fraction`` of the run's progress (the fraction of ``epochs`` done
        or of ``max_seconds`` used, whichever is larger) the learning rate falls by a cosine to ``min_lr``,
        so that a run cut by its time budget still ends at a low learning rate (0 disables; default: the
        second half of the run).
    penalty_j : float or None
        Factorisation penalty weight J (dipole model only).  None (default): 1e-3 for lepton beams (tuned on
        e+e- → jets), 0 for hadron collisions, where it only fights the fit (as the FAME pp study found).
    objective : Objective
        What the surrogate is for (:class:`Objective`): ``unweighting`` (the ``gain`` loss on an importance
        subsample), ``pointwise`` (``mse`` on every point), or ``auto`` (default): ``pointwise`` (see
        :class:`Objective`).  ``loss`` and ``importance_fraction``, when given, win over the objective.
    loss : Loss or None
        ``"mse"``, or ``"gain"``: MSE first, then ``gain_epochs`` epochs of :mod:`fame_surrogate.gain_loss`
        (for weighted events, e.g. Sherpa's pp dumps, with the batch's ``ps_weight`` as the non-ME factor,
        so that the loss is the unweighting gain of those events).  None (default): set by ``objective``.
    weight_power : float
        Weighted events: the squared error of each point is weighted by ``(|w|/⟨|w|⟩)^weight_power``
        (normalised to mean 1 over the training points), so that the points carrying the cross section,
        the ones that unweighting keeps, count more.  0 (default): every point counts the same.  At
        Z+4/5 jets (Sherpa's weights spanning 10–20 decades) 0.2 keeps ≈ 20% of the points effective.
    importance_fraction : float or None
        Weighted events: train on an importance subsample (:mod:`fame_surrogate.importance`).  The heaviest
        points that carry this fraction of Σ|w| are always kept, lighter ones with probability ∝ |w|, at
        least ``importance_floor``; the validation loss weights its points by the same probabilities.
        None (default): set by ``objective`` (:data:`UNWEIGHTING_IMPORTANCE`, or every point trains).
    importance_floor : float or None
        The smallest keep probability with ``importance_fraction``.  None (default): set by ``symmetry``
        (:data:`IMPORTANCE_FLOOR`, as resolved): 0.2 with ``canonical`` (an epoch then costs one order of the
        points, and the larger subsample keeps the network from overfitting), 0.02 with ``augment``, or 0.2
        (:data:`SMALL_SUBSAMPLE_FLOOR`) where 0.02 would keep fewer than :data:`SMALL_SUBSAMPLE_POINTS`
        training points.
    gain_epochs : int
        At most this many epochs of the gain loss after the MSE phase (``loss="gain"`` only; with
        ``max_seconds`` the phase also ends with the budget).  With ``symmetry="canonical"`` an epoch is
        cheaper: at Z+4 jets its 180 CPU-s gain phase runs 37–39 epochs, the best validation gain loss fell
        at epochs 15, 20 and 35 (three seeds), and the runs of examples/zjets used 40.
    gain_lr : float
        The learning rate through the gain phase (``loss="gain"``).  Default 1e-4: at Z+4 jets (an MSE
        phase of 675 CPU-s, then 180 CPU-s of each setting from it, scored on an independent 240k Sherpa
        run; two seeds) f_eff/f_ideal 0.85 and 0.89, ε_2 0.71 and 0.68, against 0.77, 0.77 and 0.67, 0.64
        at 4e-4, whose larger steps also undo more of the MSE phase's pointwise accuracy (median |Δ| 0.18,
        0.16 against 0.13, 0.12) (benchmarks/bench_gain_phase.py, examples/zjets/README.md).
    gain_mse_weight : float
        μ ≥ 0: the gain phase minimises the gain loss plus μ × the MSE of the standardised target (the MSE
        phase's loss).  0 (default): the gain loss alone.  A larger μ keeps more of the MSE phase's pointwise
        accuracy and less of the gain phase's ε_2: at Z+4 jets (one MSE-trained replica per seed, 180 CPU-s
        of each gain phase from it, seeds 0 and 7) μ = 0, 30, 100, 300, 1000 gave a median |Δ| of 0.11,
        0.087, 0.081, 0.077, 0.074 and f_eff/f_ideal 0.73, 0.62, 0.63, 0.59, 0.57 (means; the MSE phase
        alone 0.073 and 0.51), so no μ > 0 beats the gain loss alone for unweighting
        (``benchmarks/bench_gain_phase.py``, examples/zjets/README.md).
    gain_time_ratio : float
        r ≥ 0 of the gain loss, ``log[r/(ε_1 ε_2) + 1/ε_2]`` (:func:`fame_surrogate.gain_loss.gain_loss`),
        on each mini-batch of the gain phase: the weight of ε_1 against ε_2 (0: −log ε_2 alone).  Default
        0.01 (0.1 before 2026-12-06).  A mini-batch of the importance subsample is much flatter than a whole
        run (in-batch ε_1 ≈ 0.02 at Z+4 against 1e-3), so in-batch log ε_1 weighs r/(r + ε_1): 0.82 at r =
        0.1, 0.31 at 0.01.  Chosen by paired runs with the lepton angles and the held-out rescaling
        (2 replicas, independent Sherpa runs; the figures and commands are in examples/zjets/README.md and
        examples/wjets/README.md, last sections): at Z+4 and W + 4 jets r = 0.01 beat r = 0.1 in ε_2 and
        the median |Δ|, with the gain higher at Z+4 (ε_2 0.853–0.869, f_eff/f_ideal 0.86–0.95 in three
        seeds) and level within the seed scatter at W + 4; at Z+5 it was level with r = 0.1 in the gain
        and more accurate in every seed.  r = 0 is more accurate still at Z+4 but lowered the gain at Z+5.
    gain_rescale : bool
        After the gain phase (``loss="gain"``, ``gain_mse_weight`` 0), rescale each replica so that the
        median of ln(s/|M|²) over the held-out points is 0 (:func:`fame_surrogate.train.median_log_ratio`).
        The gain loss fixes the surrogate's shape but not its scale (ε_1 and ε_2 do not change under
        s → λs), so the scale drifts in that phase; rescaling changes no efficiency or gain, only the
        pointwise error.  With ``gain_mse_weight`` > 0 the MSE term sets the scale, and nothing is
        rescaled.  Default on (examples/zjets/README.md).
    lepton_angles : bool
        The dipole model factorises the decay angles of a final-state lepton pair exactly (pp → ℓ+ℓ- / ℓν +
        jets with two or more jets; :mod:`fame_surrogate.lepton_angles`): its network reads the hadronic
        event alone and gives the quadratic form in the decay direction.  No effect on processes without
        such a pair or on the MLP.  Default on, by paired runs at ``gain_time_ratio`` 0.1, the default
        then (2 × 900 CPU-s, independent 240k-event Sherpa runs; examples/zjets/README.md,
        examples/wjets/README.md):
        at Z+4 jets (800k events, seeds 0 and 7) it gave ε_2 0.82 and 0.815 against 0.81 and 0.795,
        f_eff/f_ideal 0.84 and 0.90 against 0.81 and 0.78, and a median |Δ| of 0.078 and 0.082 against
        0.083 and 0.087; at W + 4 jets (600k events) it was level in seed 0 (ε_2 0.795 against 0.797,
        median |Δ| 0.093 against 0.091; f_eff/f_ideal 0.90 against 0.79 over the run, 0.80 against 0.86 on
        the mean of its thirds) and ahead in seed 7 (ε_2 0.760 against 0.723, f_eff/f_ideal 0.85 against
        0.73, median |Δ| 0.086 against 0.095).  With ``gain_time_ratio`` 0 at Z+4, ε_2 0.88–0.89
        and a median |Δ| of 0.058–0.061 (three seeds).  It costs +46% per call at batch 1 (Z+4: 95 → 139
        µs, 3% of Sherpa's ME).  At Z+5 it is part of the defaults measured there (examples/zjets/README.md).
    antenna : bool
        The network (dipole model and MLP) reads one more feature where the process is a hadron collision
        with one quark line (pp → Z/W + jets): log(A ŝ^(k+1)) of the antenna chain A = Σ_σ Π 1/|s_ab| over
        the orderings of its k gluons (:mod:`fame_surrogate.antenna`).  No effect on other processes.
        Default on: at Z+4 jets (720k events, the pointwise objective, seed 0) it cut the held-out median
        |Δ| from 0.0308 to 0.0294 (one replica, 450 CPU-s) and, with a 256-wide first layer, from 0.0207 to
        0.0202 (2 × 900 CPU-s; seed 7: 0.0200); with the default recipe 0.032 against 0.036 at a level gain
        (ε_2 0.931, tempered f_eff/f_ideal 1.10).  At Z+5 (160k events, three seeds) it cut the median |Δ|
        from 0.137 to 0.114 on average, but lowered ε_2 by 0.04 and f_eff/f_ideal at β = 1 by 0.05
        (examples/zjets/README.md).
    gain_fraction : float
        With ``loss="gain"`` and ``max_seconds``: the share of the time budget kept for the gain phase (1:
        only the gain phase, from the model as given; benchmarks/bench_gain_phase.py compares gain phases
        from one MSE-trained model).
    ema_decay : float
        Polyak averaging (:mod:`fame_surrogate.averaging`): validation, early stopping and the returned
        model use the exponential moving average of the parameters, updated after every optimiser step
        with this decay (it averages over ≈ 1/(1 − ema_decay) steps; restarted where the gain phase
        starts).  0 (default): the parameters as trained.  At Z+4 jets 0.999 leaves f_eff/f_ideal where it
        was (paired runs, gain phase: 0.78 against 0.77 over four seeds; examples/zjets/README.md).
    threads : int or None
        torch intra-op threads during training (None: leave torch's setting).
    max_seconds : float or None
        Wall-clock budget for all replicas together (features, training, final evaluation); training stops
        after the epoch that exceeds it.  None: only ``epochs`` and early stopping end the training.
    clock : Clock
        ``"wall"``: ``max_seconds`` is wall-clock time; ``"cpu"``: CPU time of this process (all threads),
        which makes budgets comparable on a machine shared with other jobs.
    dtype : Precision
        ``"float32"`` or ``"float64"`` arithmetic during training (float32 is 1.4–2.3× faster per point on
        this CPU at the same accuracy).
    bf16_hidden : bool or None
        Train the network's hidden layers in bfloat16 (``torch.autocast``; their weights, the readout and
        everything around the network stay in ``dtype``): bfloat16 products run about twice as fast as
        float32 on this CPU, so a CPU budget buys more epochs.  Training only: evaluation and the exported
        graph use ``net_dtype``.  None (default): on for hadron collisions where the CPU multiplies
        bfloat16 in hardware (:func:`fame_surrogate._cpu.native_bf16`; without, autocast converts, and
        the speed-up below is not to be expected), where at Z+4 (2 × 900 CPU-s, the pointwise default,
        the independent 240k Sherpa run) a batch-1024 step costs 15.4 ms against 18.7 and the run trains
        36–38 epochs against 29–31: median |Δ| 0.0193 and 0.0195 (seeds 0, 7) against 0.0202 and 0.0205,
        ε_2 0.911 and 0.904 against 0.901 and 0.901, the tempered gain level; off for lepton beams,
        whose e+e- fits reach 0.1% and were not measured with it (examples/zjets/README.md, last
        section).
    net_dtype : Precision
        dtype of the returned model's network: ``"float64"`` (default: the exported graph is float64
        throughout and ONNX Runtime reproduces torch to ≈ 1e-15), or ``"float32"`` (the network and its
        inputs, the features, in float32; momenta, invariants, dipoles, the sum Σ C D and the target
        transform stay float64): 2–3× faster in ONNX Runtime (e+e- → 5 jets: 5.4 → 1.8–2.4 µs per point),
        the same accuracy (the weights are trained in float32 anyway), agreement with torch only to
        float32 rounding (≤ 1.1e-6 relative on 20k held-out points of trained 4- and 5-jet models; see
        :func:`fame_surrogate.models.run_net`).
    max_points : int or None
        Use at most this many points (a seeded random subset) before the split.
    symmetry : Symmetry
        How the model uses the exchange of identical final-state particles (:class:`Symmetry`):
        ``augment`` (training sees each point in up to ``augment`` orders), ``canonical`` (the model sorts
        them, :class:`~fame_surrogate.symmetry.CanonicalOrder`; ``augment`` is then not used) or ``auto``
        (default: ``canonical`` where the cap ``augment_max_points`` leaves fewer than two orders per
        training point, ``augment`` otherwise).  At Z+4 jets on 720k Sherpa-integrated training events
        (gain loss; 4 orders fit) the canonical order cuts the median |Δ| by ≈ 20% (0.090–0.104 against
        0.118–0.142), at an f_eff/f_ideal of 0.73–0.81 against 0.80–0.89 augmented; on 2.16M events
        (1.06M kept: one order fits, so ``augment`` trains on Sherpa's order only) it is better in both:
        median |Δ| 0.104–0.120 against 0.119–0.131, ε_2 0.75–0.77 against 0.72–0.73, f_eff/f_ideal
        0.83–0.86 against 0.80–0.87 (examples/zjets/README.md).  On small samples the copies are the
        better data (1 500 Z+4 events, the same number of steps: median |log ratio| 0.53 augmented, 0.65
        canonical).
    augment : int
        With ``symmetry="augment"``: each training point is also used with its identical final-state
        particles exchanged, in up to this many orders (the identity included;
        :mod:`fame_surrogate.symmetry`): exact, free training data where the surrogate is data-limited (6× at
        three identical gluons).  1 disables.  The augmented set is capped at ``augment_max_points``.
    augment_max_points : int
        Cap on the number of augmented training points (memory: ≈ 1.4 kB per point at Z+4 jets).
    verbose : bool
        tqdm progress bar on stderr.

    The enum-typed fields (``model``, ``activation``, ``objective``, ``loss``, ``clock``, ``dtype``,
    ``net_dtype``, ``symmetry``, ``optimizer``) also take their string values (a bundle's JSON
    configuration, the command line); they are ``StrEnum`` members, so they compare equal to, and
    serialise as, those strings.
    """

    model: ModelKind = ModelKind.DIPOLE
    replicas: int = 2
    epochs: int = 300
    batch_size: int | None = None
    lr: float = 4e-3
    weight_decay: float | None = None
    huber_delta: float | None = None
    optimizer: OptimizerKind = DEFAULT_OPTIMIZER
    hidden: tuple[int, ...] | None = None
    activation: Activation = Activation.SILU
    seed: int = 0
    val_fraction: float = 0.1
    patience: int = 30
    lr_patience: int = 8
    lr_factor: float = 0.5
    min_lr: float = 1e-6
    decay_fraction: float = 0.5
    penalty_j: float | None = None
    objective: Objective = Objective.AUTO
    loss: Loss | None = None
    weight_power: float = 0.0
    importance_fraction: float | None = None
    importance_floor: float | None = None
    gain_epochs: int = 20
    gain_lr: float = 1e-4
    gain_fraction: float = 0.2
    gain_mse_weight: float = 0.0
    gain_time_ratio: float = 0.01
    gain_rescale: bool = True
    lepton_angles: bool = True
    antenna: bool = True
    ema_decay: float = 0.0
    threads: int | None = None
    max_seconds: float | None = 480.0
    clock: Clock = Clock.WALL
    dtype: Precision = Precision.FLOAT32
    net_dtype: Precision = Precision.FLOAT64
    bf16_hidden: bool | None = None
    max_points: int | None = None
    symmetry: Symmetry = Symmetry.AUTO
    augment: int = 6
    augment_max_points: int = 1_500_000
    verbose: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):  # strings (JSON, the command line) to the enum members; others refused
            if f.name == "optimizer" and getattr(self, f.name) is None:  # None meant "by the beams" before
                object.__setattr__(self, f.name, DEFAULT_OPTIMIZER)
            enum_type = _ENUM_FIELDS.get(f.name)
            if enum_type is not None and getattr(self, f.name) is not None:
                value = getattr(self, f.name)
                object.__setattr__(self, f.name, as_enum(enum_type, value, f"TrainConfig.{f.name}="))
        if self.replicas < 1 or self.epochs < 1 or (self.batch_size is not None and self.batch_size < 1):
            raise ValueError(
                f"TrainConfig needs replicas, epochs, batch_size >= 1, got {self.replicas}, {self.epochs}, "
                f"{self.batch_size}"
            )
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"TrainConfig.val_fraction={self.val_fraction}; expected 0 < val_fraction < 1")
        if self.augment < 1 or self.augment_max_points < 1:
            raise ValueError(
                f"TrainConfig.augment={self.augment}, augment_max_points={self.augment_max_points}: "
                "expected >= 1"
            )
        if not 0.0 <= self.gain_fraction <= 1.0:
            raise ValueError(f"TrainConfig.gain_fraction={self.gain_fraction}; expected 0 <= fraction <= 1")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"TrainConfig.ema_decay={self.ema_decay}; expected 0 <= decay < 1")
        if not 0.0 < self.gain_lr < math.inf:
            raise ValueError(f"TrainConfig.gain_lr={self.gain_lr}; expected a finite value > 0")
        if not 0.0 <= self.gain_mse_weight < math.inf:
            raise ValueError(
                f"TrainConfig.gain_mse_weight={self.gain_mse_weight}; expected a finite value >= 0"
            )
        if not 0.0 <= self.gain_time_ratio < math.inf:
            raise ValueError(
                f"TrainConfig.gain_time_ratio={self.gain_time_ratio}; expected a finite value >= 0"
            )
        if self.weight_decay is not None and not 0.0 <= self.weight_decay < math.inf:
            raise ValueError(f"TrainConfig.weight_decay={self.weight_decay}; expected a finite value >= 0")
        delta = self.huber_delta
        if delta is not None and not (delta == 0.0 or 1e-9 <= delta < math.inf):
            raise ValueError(
                f"TrainConfig.huber_delta={self.huber_delta}; expected 0 (the mean square) or a finite value "
                ">= 1e-9"  # smaller ones would underflow in float32 training
            )
        if not 0.0 <= self.weight_power < math.inf:
            raise ValueError(f"TrainConfig.weight_power={self.weight_power}; expected a finite value >= 0")
        if self.importance_fraction is not None and not 0.0 < self.importance_fraction <= 1.0:
            raise ValueError(
                f"TrainConfig.importance_fraction={self.importance_fraction}; expected 0 < fraction <= 1"
            )
        if self.importance_floor is not None and not 0.0 < self.importance_floor <= 1.0:
            raise ValueError(f"TrainConfig.importance_floor={self.importance_floor}; expected 0 < floor <= 1")
        if self.importance_fraction is not None and self.weight_power != 0.0:
            raise ValueError(
                "TrainConfig: importance_fraction and weight_power both emphasise heavy events; set one"
            )

    def resolved(
        self,
        *,
        hadronic: bool,
        too_many_for_copies: bool = False,
        n_points: float = 0.0,
        n_kept: float | None = None,
    ) -> TrainConfig:
        """These settings with what is left to the events decided: ``objective``, ``loss``,
        ``importance_fraction``, ``penalty_j``, ``weight_decay``, ``huber_delta``, ``hidden``, ``symmetry``,
        ``importance_floor``, ``batch_size`` and ``bf16_hidden``.

        Parameters
        ----------
        hadronic : bool
            The initial state is coloured (hadron collisions): no factorisation penalty by default, weight
            decay :data:`HADRONIC_WEIGHT_DECAY`, the pseudo-Huber δ :data:`HADRONIC_HUBER_DELTA`, the
            network :data:`HADRONIC_HIDDEN`, its hidden layers trained in bfloat16 where the CPU has
            bfloat16 products.
        too_many_for_copies : bool
            The process has identical final-state particles, and the cap ``augment_max_points`` leaves
            fewer than two orders of them per training point: ``symmetry="auto"`` becomes ``canonical``,
            else ``augment``.
        n_points : float
            Training points per epoch, permuted copies counted (an expectation with an importance
            subsample): ``batch_size=None`` becomes 1024 from ``LARGE_SET_POINTS``, else 512.
        n_kept : float or None
            Training points of the importance subsample under ``augment``'s floor (expected, before copies),
            where known: below ``SMALL_SUBSAMPLE_POINTS``, ``importance_floor=None`` with ``augment`` becomes
            ``SMALL_SUBSAMPLE_FLOOR``.  None: ``augment``'s floor.

        Returns
        -------
        TrainConfig
            ``objective`` is ``unweighting`` or ``pointwise`` and ``loss`` and ``penalty_j`` are set;
            ``importance_fraction`` is None only where every point trains; ``weight_decay``,
            ``huber_delta``, ``hidden`` and ``bf16_hidden`` are set;
            ``symmetry`` is ``augment`` or ``canonical``, and ``importance_floor`` and ``batch_size`` are
            set.
        """
        objective = self.objective
        if objective is Objective.AUTO:
            objective = Objective.POINTWISE
        unweighting = objective is Objective.UNWEIGHTING
        loss = self.loss if self.loss is not None else (Loss.GAIN if unweighting else Loss.MSE)
        importance = self.importance_fraction
        if importance is None and unweighting and self.weight_power == 0.0:
            importance = UNWEIGHTING_IMPORTANCE
        penalty = self.penalty_j
        if penalty is None:
            penalty = 0.0 if hadronic else DEFAULT_PENALTY_LEPTON_BEAMS
        decay = self.weight_decay
        if decay is None:
            decay = HADRONIC_WEIGHT_DECAY if hadronic else 0.0
        delta = self.huber_delta
        if delta is None:
            delta = HADRONIC_HUBER_DELTA if hadronic else 0.0
        bf16 = (hadronic and native_bf16()) if self.bf16_hidden is None else self.bf16_hidden
        hidden = self.hidden_for(hadronic)
        symmetry = self.symmetry
        if symmetry is Symmetry.AUTO:
            symmetry = Symmetry.CANONICAL if too_many_for_copies else Symmetry.AUGMENT
        floor = self.importance_floor
        if floor is None:
            floor = IMPORTANCE_FLOOR[symmetry]
            small = n_kept is not None and n_kept < SMALL_SUBSAMPLE_POINTS
            if importance is not None and symmetry is Symmetry.AUGMENT and small:
                floor = SMALL_SUBSAMPLE_FLOOR
        batch_size = self.batch_size
        if batch_size is None:
            batch_size = LARGE_SET_BATCH if n_points >= LARGE_SET_POINTS else SMALL_SET_BATCH
        return replace(
            self,
            batch_size=batch_size,
            objective=objective,
            loss=loss,
            importance_fraction=importance,
            importance_floor=floor,
            penalty_j=penalty,
            weight_decay=decay,
            huber_delta=delta,
            hidden=hidden,
            symmetry=symmetry,
            bf16_hidden=bf16,
        )

    def hidden_for(self, hadronic: bool) -> tuple[int, ...]:
        """``hidden``, or where None the default of the beams: :data:`HADRONIC_HIDDEN` for hadron
        collisions (``hadronic``: the initial state is coloured), :data:`DEFAULT_HIDDEN` for lepton beams."""
        if self.hidden is not None:
            return self.hidden
        return HADRONIC_HIDDEN if hadronic else DEFAULT_HIDDEN

    def _resolved_field(self, name: str) -> Any:
        """The field ``name``, which :meth:`resolved` sets; a ValueError where it is still None (the config
        was not resolved)."""
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"TrainConfig.{name} is None: resolve the config for the events first "
                             "(TrainConfig.resolved)")
        return value

    @property
    def resolved_batch_size(self) -> int:
        """``batch_size`` of a config resolved for its events (:meth:`resolved`).

        Raises
        ------
        ValueError
            Where it is still None (the config was not resolved).
        """
        return int(self._resolved_field("batch_size"))

    @property
    def resolved_hidden(self) -> tuple[int, ...]:
        """``hidden`` of a config resolved for its events (:meth:`resolved`); a ValueError where it is still
        None."""
        return tuple(self._resolved_field("hidden"))

    @property
    def resolved_weight_decay(self) -> float:
        """``weight_decay`` of a config resolved for its events (:meth:`resolved`); a ValueError where it is
        still None."""
        return float(self._resolved_field("weight_decay"))

    @property
    def resolved_huber_delta(self) -> float:
        """``huber_delta`` of a config resolved for its events (:meth:`resolved`); a ValueError where it is
        still None."""
        return float(self._resolved_field("huber_delta"))

    def augment_orders(self, n_points: int) -> int:
        """How many orders of its identical particles each of ``n_points`` training points gets with
        ``symmetry="augment"``: ``augment``, fewer where the cap ``augment_max_points`` says so, at least 1
        (the identity).  A process with fewer orders, ∏ n_f!, gets those only."""
        return max(1, min(self.augment, self.augment_max_points // max(1, n_points)))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready settings (enum members as their strings, ``hidden`` as a list)."""
        d = asdict(self)
        d["hidden"] = None if self.hidden is None else list(self.hidden)
        return {k: str(v) if isinstance(v, StrEnum) else v for k, v in d.items()}


#: the enum-typed fields of TrainConfig (``__post_init__`` coerces their strings)
_ENUM_FIELDS: dict[str, type[StrEnum]] = {
    "model": ModelKind,
    "activation": Activation,
    "objective": Objective,
    "loss": Loss,
    "clock": Clock,
    "dtype": Precision,
    "net_dtype": Precision,
    "symmetry": Symmetry,
    "optimizer": OptimizerKind,
}
