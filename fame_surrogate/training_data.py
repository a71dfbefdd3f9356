"""What training runs on: the split, the importance subsample, the features and the scalers (SPEC §4.2).

:func:`prepare_training` sets up one :func:`fame_surrogate.train.train_surrogate` run: the held-out split,
the importance subsample of the ``unweighting`` objective, the untrained replicas with their scalers fitted,
and the features, dipole terms and standardised targets of the training points (in every permuted order of
their identical particles) and of the held-out points.  :func:`fame_surrogate.train.train_replica` then
trains one replica on them; benchmarks/bench_gain_phase.py runs training phases from one prepared set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lhe_tools import EventBatch

from .config import Symmetry, TrainConfig
from .dipoles import coloured_beams, masses_from_meta
from .importance import importance_subsample, keep_probability
from .models import Surrogate, build_model
from .split import validation_split
from .symmetry import identical_particle_permutations, n_orders

__all__ = ["PreparedTraining", "prepare_training", "training_points"]


@dataclass
class PreparedTraining:
    """The untrained replicas of one training run and the tensors they train on.

    Attributes
    ----------
    config : TrainConfig
        The settings, resolved for the batch (:meth:`TrainConfig.resolved`).
    models : list of Surrogate
        ``config.replicas`` untrained models (replica r initialised with seed ``config.seed + r``), their
        scalers fitted on the training points.
    data : dict of str to Tensor
        What :func:`fame_surrogate.train.train_replica` reads: ``x``, ``terms`` (features and dipole terms of
        the augmented training points, in ``config.dtype``), ``me2`` (float64), the same with ``_val`` for
        the held-out points, and where they apply ``c``/``c_val`` (the non-ME weight factor, mean 1),
        ``lam``/``lam_val`` (per-point loss weights).  ``z``/``z_val`` are set per replica from
        :attr:`targets`.
    targets : list of (Tensor, Tensor)
        Per replica, the standardised targets of the training and the held-out points (float64).
    train_index, val_index : ndarray of int64
        Indices into the batch of the training points (after any importance subsample) and of the held-out
        points.
    momenta : Tensor
        (N, n, 4) float64 momenta of the whole batch, GeV.
    """

    config: TrainConfig
    models: list[Surrogate]
    data: dict[str, Tensor]
    targets: list[tuple[Tensor, Tensor]]
    train_index: np.ndarray
    val_index: np.ndarray
    momenta: Tensor

    def replica_data(self, r: int) -> dict[str, Tensor]:
        """:attr:`data` with replica ``r``'s standardised targets as ``z`` and ``z_val`` (tensors shared)."""
        z, z_val = self.targets[r]
        return {**self.data, "z": z, "z_val": z_val}


def _evaluate_inputs(
    model: Surrogate, momenta: Tensor, perms: list[Tensor] | None = None, chunk: int = 16384
) -> tuple[Tensor, Tensor]:
    """Features and terms of ``momenta`` (B, n, 4), in each particle order of ``perms`` (one after the other:
    (len(perms) B, ·)); written into one preallocated pair of tensors, chunk by chunk, so the peak memory is
    the result's, not twice it."""
    orders = perms if perms is not None else [torch.arange(momenta.shape[1])]
    n = momenta.shape[0]
    x: Tensor | None = None
    t: Tensor | None = None
    with torch.no_grad():
        for k, perm in enumerate(orders):
            for start in range(0, n, chunk):
                xc, tc = model.inputs(momenta[start : start + chunk][:, perm])
                if x is None or t is None:
                    x = xc.new_empty((len(orders) * n, xc.shape[1]))
                    t = tc.new_empty((len(orders) * n, tc.shape[1]))
                x[k * n + start : k * n + start + xc.shape[0]] = xc
                t[k * n + start : k * n + start + tc.shape[0]] = tc
    if x is None or t is None:
        raise ValueError("no points to evaluate")
    return x, t



def _training_tensors(
    model: Surrogate,
    batch: EventBatch,
    momenta: Tensor,
    me2: Tensor,
    train_index: np.ndarray,
    val_index: np.ndarray,
    config: TrainConfig,
    keep: np.ndarray | None = None,
) -> dict[str, Tensor]:
    """Features, terms and labels (float64) of the training points, in every permuted order of their
    identical particles, and of the validation points; with the event weights the loss options use
    (``keep``: the importance subsample's keep probabilities, which weight the validation loss)."""
    tr, va = torch.from_numpy(train_index), torch.from_numpy(val_index)
    x_val, terms_val = _evaluate_inputs(model, momenta[va])
    count = config.augment_orders(train_index.size)
    if config.symmetry is Symmetry.CANONICAL:  # the model reorders: every order gives the same inputs
        count = 1
    perms = identical_particle_permutations(
        batch.pdg.tolist(), batch.n_in, count, np.random.default_rng(config.seed)
    )
    # the training points in every permuted order (identity first); labels are unchanged
    x, terms = _evaluate_inputs(model, momenta[tr], [torch.from_numpy(p) for p in perms])
    tr = tr.repeat(len(perms))
    data = {
        "x": x,
        "terms": terms,
        "me2": me2[tr],
        "x_val": x_val,
        "terms_val": terms_val,
        "me2_val": me2[va],
    }
    if batch.ps_weight is not None:
        # weighted events (Sherpa's pp dumps): the gain loss sees w = c·|M|², c = phase space × PDFs × flux,
        # scaled to mean 1 (the loss is scale invariant; float32 keeps its range)
        c = torch.from_numpy(np.ascontiguousarray(batch.ps_weight, dtype=np.float64))
        c = c / c[tr].abs().mean().clamp_min(1e-300)
        data["c"], data["c_val"] = c[tr], c[va]
    if config.weight_power != 0.0 and batch.weight is not None:
        # emphasise the points that carry the cross section (the ones unweighting keeps)
        aw = torch.from_numpy(np.abs(np.ascontiguousarray(batch.weight, dtype=np.float64)))
        lam = (aw / aw[tr].mean().clamp_min(1e-300)) ** config.weight_power
        norm = lam[tr].mean().clamp_min(1e-300)
        data["lam"], data["lam_val"] = lam[tr] / norm, lam[va] / norm
    if keep is not None:  # the kept points train with the plain loss; validation weighs in the same way
        p = torch.from_numpy(keep)[va]
        data["lam_val"] = p / p.mean().clamp_min(1e-300)
    return data


def training_points(
    batch: EventBatch, config: TrainConfig, val_index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(training indices, held-out indices, the training split before the importance subsample, the keep
    probabilities or None) of ``batch`` under the resolved ``config``
    (see :func:`fame_surrogate.train.train_surrogate`)."""
    n_total = batch.momenta.shape[0]
    if val_index is not None:
        val_index = np.unique(np.asarray(val_index, dtype=np.int64))
        if val_index.size == 0 or val_index[0] < 0 or val_index[-1] >= n_total:
            raise ValueError(f"val_index must hold indices into the batch of {n_total} points, at least one")
        train_index = np.setdiff1d(np.arange(n_total), val_index)
        if config.max_points is not None and config.max_points < train_index.size:
            rng = np.random.default_rng(config.seed)
            train_index = np.sort(rng.choice(train_index, size=config.max_points, replace=False))
        if train_index.size < 2:
            raise ValueError(f"batch of process {batch.process!r}: {train_index.size} to train on: too few")
    else:
        train_index, val_index = validation_split(
            n_total, config.val_fraction, config.seed, max_points=config.max_points
        )
        if train_index.size < 2:
            n_used = train_index.size + val_index.size
            raise ValueError(f"batch of process {batch.process!r} has {n_used} points: too few to train")

    keep: np.ndarray | None = None
    candidates = train_index  # the training split, before any importance subsample (the target's scale)
    if config.importance_fraction is not None:  # the events that carry the cross section (importance.py)
        if config.importance_floor is None:
            raise ValueError("training_points needs the config resolved for the batch (TrainConfig.resolved)")
        used = np.union1d(train_index, val_index)
        keep = np.ones(n_total)
        try:
            keep[used] = keep_probability(
                batch.weight[used], config.importance_fraction, config.importance_floor
            )
        except ValueError as err:
            raise ValueError(f"batch of process {batch.process!r}: importance subsample: {err}") from None
        train_index = importance_subsample(keep, train_index, config.seed)
        if train_index.size < 2:
            raise ValueError(
                f"batch of process {batch.process!r}: {train_index.size} kept to train on: too few"
            )
    return train_index, val_index, candidates, keep


def _expected_kept(batch: EventBatch, config: TrainConfig, val_index: np.ndarray | None) -> float:
    """The training points of ``batch`` under the resolved ``config``, before any permuted copies: with an
    importance subsample their expectation, Σ keep probability, so that replicas with other seeds decide
    alike."""
    _, _, candidates, keep = training_points(batch, config, val_index)
    return float(candidates.size) if keep is None else float(keep[candidates].sum())


def _resolved_for(
    batch: EventBatch, config: TrainConfig, hadronic: bool, val_index: np.ndarray | None = None
) -> TrainConfig:
    """``config`` resolved for ``batch`` (:meth:`TrainConfig.resolved`).  ``symmetry="auto"`` is decided by
    the number of training points ``augment`` would keep: ``canonical`` where the process has identical
    final-state particles and the cap ``augment_max_points`` leaves fewer than two orders of them per point,
    ``augment`` otherwise.  The same number decides ``augment``'s importance floor (a small subsample gets
    ``SMALL_SUBSAMPLE_FLOOR``).  ``batch_size=None`` is then decided by the training points per epoch,
    copies counted.  All counts are expectations (:func:`_expected_kept`)."""
    orders = n_orders(batch.pdg.tolist(), batch.n_in)
    # "auto" resolves to augment here (and so to augment's floor); an explicit symmetry keeps its own
    as_augment = config.resolved(hadronic=hadronic)
    auto = config.symmetry is Symmetry.AUTO and orders > 1
    floor_open = as_augment.importance_fraction is not None and config.importance_floor is None
    n_kept: float | None = None  # under augment's floor, where auto or the floor needs it
    if auto or floor_open:
        n_kept = _expected_kept(batch, as_augment, val_index)
    too_many = auto and n_kept is not None and config.augment_max_points < 2 * n_kept
    resolved = config.resolved(
        hadronic=hadronic, too_many_for_copies=too_many, n_kept=n_kept
    )
    if config.batch_size is not None:
        return resolved
    augment = resolved.symmetry is Symmetry.AUGMENT
    if n_kept is not None and resolved.importance_floor == as_augment.importance_floor:
        n_trained = n_kept  # the subsample counted above is the one trained
    else:
        n_trained = _expected_kept(batch, resolved, val_index)
    n_points = n_trained * (min(orders, resolved.augment_orders(round(n_trained))) if augment else 1)
    return config.resolved(
        hadronic=hadronic, too_many_for_copies=too_many, n_points=n_points, n_kept=n_kept
    )


def prepare_training(
    batch: EventBatch, config: TrainConfig | None = None, *, val_index: np.ndarray | None = None
) -> PreparedTraining:
    """The replicas and training tensors of :func:`fame_surrogate.train.train_surrogate` on ``batch``.

    Parameters
    ----------
    batch : EventBatch
        Points of one process with ``me2`` (N,) float64.
    config : TrainConfig, optional
        Settings, resolved here for the batch's beams and weights.
    val_index : array of int, optional
        The points to hold out instead of the seeded ``val_fraction`` split.

    Returns
    -------
    PreparedTraining

    Raises
    ------
    ValueError
        Without ``me2``, with masses the dipoles cannot use, or with too few points to train on; the message
        names the batch's process.
    """
    hadronic = coloured_beams(batch.pdg, batch.n_in)
    if batch.me2 is None:
        raise ValueError(f"batch of process {batch.process!r} has no me2 column: nothing to train on")
    config = _resolved_for(batch, config or TrainConfig(), hadronic, val_index)
    try:  # the masses the exact ME used (a Sherpa dump records them), else the dipoles' defaults
        masses = masses_from_meta(batch.pdg.tolist(), batch.meta)
    except ValueError as err:
        raise ValueError(f"batch of process {batch.process!r}: {err}") from None
    train_index, val_index, candidates, keep = training_points(batch, config, val_index)
    momenta = torch.from_numpy(np.ascontiguousarray(batch.momenta, dtype=np.float64))
    me2 = torch.from_numpy(np.ascontiguousarray(batch.me2, dtype=np.float64))
    models: list[Surrogate] = []
    pdg = batch.pdg.tolist()
    canonical = config.symmetry is Symmetry.CANONICAL
    for r in range(config.replicas):
        torch.manual_seed(config.seed + r)
        models.append(
            build_model(
                config.model, pdg, batch.n_in, config.resolved_hidden, config.activation, masses, canonical,
                config.lepton_angles, config.antenna,
            )
        )
    data = _training_tensors(models[0], batch, momenta, me2, train_index, val_index, config, keep)
    targets: list[tuple[Tensor, Tensor]] = []
    me2_scale = None if keep is None else me2[torch.from_numpy(candidates)]
    for model in models:  # every replica's scalers from the float64 set
        model.fit_scalers(data["x"], data["terms"], data["me2"], me2_scale)
        with torch.no_grad():
            targets.append((model.target.encode(data["me2"]), model.target.encode(data["me2_val"])))
    for key in ("x", "terms", "x_val", "terms_val"):  # then one copy in training precision for all
        data[key] = data[key].to(config.dtype.torch_dtype)
    return PreparedTraining(config, models, data, targets, train_index, val_index, momenta)
