"""Training of surrogate models (SPEC §4.2): MSE in the standardised asinh space + factorisation penalty.

:func:`train_surrogate` trains ``config.replicas`` replicas of one model kind on an :class:`EventBatch` with
``me2``, holding out a seeded validation split, with Adam, early stopping on the validation loss and
ReduceLROnPlateau, and returns them as one :class:`~fame_surrogate.models.Ensemble`.

The features and dipole terms are evaluated once (float64) and reused by every epoch; training may run in
float32 for speed (``dtype="float32"``), the returned model is always float64.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lhe_tools import EventBatch

from .config import Clock, Loss, TrainConfig
from .dipoles import is_coloured, masses_from_meta
from .gain_loss import gain_loss
from .importance import importance_subsample, keep_probability
from .models import Ensemble, LossBatch, Surrogate, build_model, net_dtype
from .split import validation_split
from .symmetry import identical_particle_permutations
from .validation import accuracy

__all__ = ["TrainMetrics", "TrainResult", "train_surrogate"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainMetrics:
    """What :func:`train_surrogate` reports (``fame.train`` in the ONNX metadata, via :meth:`to_json`).

    Attributes
    ----------
    val_frac_within_1pct, val_frac_within_0p1pct : float
        Fractions of the held-out points whose |M|² the ensemble reproduces within 1% and 0.1%.
    val_median_abs_rel_dev : float
        Median |relative deviation| on the held-out points.
    n_train, n_train_augmented, n_val : int
        Training points, training points with their permuted copies, held-out points.
    penalty_j : float or None
        The factorisation penalty weight used.
    objective, loss : str
        What the training was for and its loss (``TrainConfig.objective`` and ``loss`` as resolved for the
        batch: ``unweighting``/``pointwise``, ``gain``/``mse``).
    importance_fraction : float or None
        The importance subsample's fraction (None: every training point was used).
    epochs : list of int
        Epochs run, per replica.
    stopped : list of str
        Why each replica stopped: ``early``, ``epochs`` or ``time``.
    seconds : float
        Wall time of the whole training.
    """

    val_frac_within_1pct: float
    val_frac_within_0p1pct: float
    val_median_abs_rel_dev: float
    n_train: int
    n_train_augmented: int
    penalty_j: float | None
    n_val: int
    epochs: list[int]
    stopped: list[str]
    seconds: float
    objective: str
    loss: str
    importance_fraction: float | None

    def to_json(self) -> dict[str, Any]:
        """The metrics as a JSON object (the keys are the attribute names)."""
        return asdict(self)


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train_surrogate`.

    Attributes
    ----------
    model : Ensemble
        The trained float64 surrogate, ``forward(momenta (B,n,4)) -> (me2 (B,), me2_std (B,))``.
    metrics : TrainMetrics
        The accuracy on the held-out points, the point counts, and how each replica ended.
    seconds : float
        Wall time of the whole training (all replicas, including feature evaluation).
    history : list of list of dict
        Per replica, per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``lr``.
    val_index : ndarray of int64
        Indices (into the batch as given) of the validation points.
    """

    model: Ensemble
    metrics: TrainMetrics
    seconds: float
    history: list[list[dict[str, float]]] = field(default_factory=list)
    val_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


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


def _clock(config: TrainConfig) -> Callable[[], float]:
    """The clock of ``max_seconds``: wall time, or this process's CPU time (fair on a shared machine)."""
    return time.process_time if config.clock is Clock.CPU else time.perf_counter


def _lr(config: TrainConfig, plateau_lr: float, progress: float) -> float:
    """Learning rate: the plateau cap, and the cosine warm-down over the last ``decay_fraction``."""
    lr = plateau_lr
    f = config.decay_fraction
    start = 1.0 - f
    if f > 0.0 and progress > start:
        u = min((progress - start) / f, 1.0)
        lr = min(lr, config.min_lr + (config.lr - config.min_lr) * 0.5 * (1.0 + math.cos(math.pi * u)))
    return max(config.min_lr, lr)


def _adam(model: Surrogate, lr: float) -> torch.optim.Adam:
    """Adam over the network's parameters, with the fused kernel (one pass over all parameters per step)."""
    return torch.optim.Adam(model.net.parameters(), lr=lr, fused=True)


def _train_replica(
    model: Surrogate,
    data: dict[str, Tensor],
    config: TrainConfig,
    seed: int,
    deadline: float | None,
) -> tuple[list[dict[str, float]], str]:
    """Train ``model`` in place; returns the per-epoch history and why it stopped."""
    dtype = config.dtype.torch_dtype
    work: Surrogate = copy.deepcopy(model).to(dtype) if dtype != torch.float64 else model
    d = {k: v.to(dtype) for k, v in data.items()}
    opt = _adam(work, config.lr)
    clock = _clock(config)
    t_start = clock()
    with_gain = config.loss is Loss.GAIN  # MSE epochs, then gain_epochs of the gain loss
    budget = None if deadline is None else max(deadline - t_start, 1e-9)
    if budget is not None and with_gain:  # the MSE phase leaves time for the gain phase
        budget *= 1.0 - config.gain_fraction
    penalty_j = 0.0 if config.penalty_j is None else config.penalty_j
    plateau_lr, plateau_best, plateau_bad = config.lr, math.inf, 0
    gen = torch.Generator().manual_seed(seed)
    n = d["x"].shape[0]
    best = math.inf
    best_state = copy.deepcopy(work.net.state_dict())
    since_best = 0
    history: list[dict[str, float]] = []
    stopped = "epochs"
    total = config.epochs + (config.gain_epochs if with_gain else 0)
    gain_start: int | None = None
    bar: Any = None
    if config.verbose:
        from tqdm import tqdm

        bar = tqdm(total=total, file=sys.stderr, desc=f"{work.kind} seed {seed}", leave=False)
    for epoch in range(total):
        if (
            with_gain
            and gain_start is None
            and (epoch >= config.epochs or (budget is not None and clock() - t_start >= budget))
        ):
            gain_start = epoch
        elif gain_start is None and epoch >= config.epochs:
            break
        if gain_start is not None and epoch - gain_start >= config.gain_epochs:
            break
        gain_phase = gain_start is not None
        if gain_phase and epoch == gain_start:
            work.net.load_state_dict(best_state)
            best = math.inf
            opt = _adam(work, config.gain_lr)
        work.train()
        order = torch.randperm(n, generator=gen)
        run, count = 0.0, 0
        for start in range(0, n, config.batch_size):
            idx = order[start : start + config.batch_size]
            if not gain_phase:
                progress = (epoch + start / n) / config.epochs
                if budget is not None:
                    progress = max(progress, (clock() - t_start) / budget)
                opt.param_groups[0]["lr"] = _lr(config, plateau_lr, progress)
            if gain_phase:
                pred = work.me2_from_inputs(d["x"][idx], d["terms"][idx])
                loss = gain_loss(pred, d["me2"][idx], d["c"][idx] if "c" in d else None)
            else:
                lam = d["lam"][idx] if "lam" in d else None
                mini = LossBatch(d["x"][idx], d["terms"][idx], d["z"][idx], d["me2"][idx], lam)
                _, loss = work.losses(mini, penalty_j)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # torch's stubs leave Tensor.backward untyped
            opt.step()
            run += float(loss.detach()) * idx.numel()
            count += idx.numel()
        work.eval()
        with torch.no_grad():
            if gain_phase:
                pred = work.me2_from_inputs(d["x_val"], d["terms_val"])
                val = float(gain_loss(pred, d["me2_val"], d.get("c_val")))
            else:
                val_batch = LossBatch(d["x_val"], d["terms_val"], d["z_val"], d["me2_val"], d.get("lam_val"))
                val = float(work.losses(val_batch)[0])
        lr = float(opt.param_groups[0]["lr"])
        history.append({"epoch": float(epoch), "train_loss": run / count, "val_loss": val, "lr": lr})
        if bar is not None:
            bar.set_postfix(train=f"{run / count:.3g}", val=f"{val:.3g}", lr=f"{lr:.1e}")
            bar.update(1)
        if not gain_phase:  # LR on plateau: the cap drops by lr_factor after lr_patience bad epochs
            if val < plateau_best:
                plateau_best, plateau_bad = val, 0
            else:
                plateau_bad += 1
                if plateau_bad > config.lr_patience:
                    plateau_lr, plateau_bad = max(config.min_lr, plateau_lr * config.lr_factor), 0
        if math.isfinite(val) and val < best:
            best, since_best = val, 0
            best_state = copy.deepcopy(work.net.state_dict())
        else:
            since_best += 1
        if deadline is not None and clock() > deadline:
            stopped = "time"
            break
        if since_best > config.patience and not with_gain:
            stopped = "early"
            break
    if bar is not None:
        bar.close()
    # the returned network's dtype is config.net_dtype (models.run_net); everything around it is float64
    model.net.to(config.net_dtype.torch_dtype)
    model.net.load_state_dict({k: v.to(net_dtype(model.net)) for k, v in best_state.items()})
    return history, stopped


def _training_data(
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
    n_orders = max(1, min(config.augment, config.augment_max_points // max(1, train_index.size)))
    perms = identical_particle_permutations(
        batch.pdg.tolist(), batch.n_in, n_orders, np.random.default_rng(config.seed)
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


def _training_points(
    batch: EventBatch, config: TrainConfig, val_index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(training indices, held-out indices, the training split before the importance subsample, the keep
    probabilities or None) of ``batch`` under the resolved ``config`` (see :func:`train_surrogate`)."""
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


def train_surrogate(
    batch: EventBatch, config: TrainConfig | None = None, *, val_index: np.ndarray | None = None
) -> TrainResult:
    """Train a surrogate (an :class:`Ensemble` of ``config.replicas`` replicas) on ``batch``.

    Parameters
    ----------
    batch : EventBatch
        Points of one process (the representative's particle order) with ``me2`` (N,) float64.
    config : TrainConfig, optional
        Settings; what they leave to the events (objective, loss, importance subsample, penalty) is decided
        by the batch's beams and weights (:meth:`TrainConfig.resolved`).
    val_index : array of int, optional
        The points of ``batch`` to hold out (early stopping and the reported accuracy) instead of the seeded
        ``val_fraction`` split; all others train (``max_points`` then caps the training points).  The Dask
        replica tasks pass their common held-out split, so every replica trains on all the rest.

    Returns
    -------
    TrainResult
    """
    hadronic = any(is_coloured(int(p)) for p in batch.pdg[: batch.n_in])
    config = (config or TrainConfig()).resolved(hadronic=hadronic, weighted=batch.ps_weight is not None)
    if batch.me2 is None:
        raise ValueError(f"batch of process {batch.process!r} has no me2 column: nothing to train on")
    try:  # the masses the exact ME used (a Sherpa dump records them), else the dipoles' defaults
        masses = masses_from_meta(batch.pdg.tolist(), batch.meta)
    except ValueError as err:
        raise ValueError(f"batch of process {batch.process!r}: {err}") from None
    train_index, val_index, candidates, keep = _training_points(batch, config, val_index)

    clock = _clock(config)
    t0 = clock()
    wall0 = time.perf_counter()
    deadline = None if config.max_seconds is None else t0 + config.max_seconds
    with _torch_threads(config.threads):
        momenta = torch.from_numpy(np.ascontiguousarray(batch.momenta, dtype=np.float64))
        me2 = torch.from_numpy(np.ascontiguousarray(batch.me2, dtype=np.float64))
        members: list[Surrogate] = []
        histories: list[list[dict[str, float]]] = []
        stops: list[str] = []
        models: list[Surrogate] = []
        for r in range(config.replicas):
            torch.manual_seed(config.seed + r)
            models.append(
                build_model(
                    config.model, batch.pdg.tolist(), batch.n_in, config.hidden, config.activation, masses
                )
            )
        data = _training_data(models[0], batch, momenta, me2, train_index, val_index, config, keep)
        targets: list[tuple[Tensor, Tensor]] = []
        me2_scale = None if keep is None else me2[torch.from_numpy(candidates)]
        for model in models:  # every replica's scalers from the float64 set
            model.fit_scalers(data["x"], data["terms"], data["me2"], me2_scale)
            with torch.no_grad():
                targets.append((model.target.encode(data["me2"]), model.target.encode(data["me2_val"])))
        for key in ("x", "terms", "x_val", "terms_val"):  # then one copy in training precision for all
            data[key] = data[key].to(config.dtype.torch_dtype)
        for r, model in enumerate(models):
            data["z"], data["z_val"] = targets[r]
            replica_deadline = None
            if deadline is not None:
                left = deadline - clock()
                replica_deadline = clock() + left / (config.replicas - r)
            hist, stop = _train_replica(model, data, config, config.seed + r, replica_deadline)
            model.eval()
            members.append(model)
            histories.append(hist)
            stops.append(stop)
        ensemble = Ensemble(members).eval()
        with torch.no_grad():
            pred, _ = ensemble(momenta[torch.from_numpy(val_index)])
    seconds = time.perf_counter() - wall0
    acc = accuracy(pred.numpy(), batch.me2[val_index])
    metrics = TrainMetrics(
        val_frac_within_1pct=float(acc.frac_within_1pct),
        val_frac_within_0p1pct=float(acc.frac_within_0p1pct),
        val_median_abs_rel_dev=float(acc.median_abs_rel_dev),
        n_train=int(train_index.size),
        n_train_augmented=int(data["x"].shape[0]),
        penalty_j=config.penalty_j,
        n_val=int(val_index.size),
        epochs=[len(h) for h in histories],
        stopped=stops,
        seconds=seconds,
        objective=str(config.objective),
        loss=str(config.loss),
        importance_fraction=config.importance_fraction,
    )
    log.info(
        "trained %s x%d on %s: %.2f%% of validation points within 1%% (%.1f s)",
        config.model,
        config.replicas,
        batch.process,
        100 * acc.frac_within_1pct,
        seconds,
    )
    return TrainResult(ensemble, metrics, seconds, histories, val_index)
