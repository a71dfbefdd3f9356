"""The Dask tasks of ``fame train`` (on workers): train a group, or train replicas separately and merge them.

Every task catches its own exceptions and returns a :class:`TaskResult` with ``ok``; on failure it carries the
error and the traceback formatted on the worker, so the client can report it and carry on with the other
groups.  A finished group returns the ONNX file as bytes (:class:`GroupResult`): the client writes it, so
workers need no shared file system.  The results travel through Dask's own transport, never to disk.

With ``replicas > 1`` the replicas are independent tasks: each replica task holds out the same validation
split (``config.val_fraction``, seeded by ``config.seed``), trains one model (seed ``seed + r``) on all the
rest (early stopping on the held-out split, as ``train_surrogate`` does for its replicas), and a merge task
joins them into one :class:`~fame_surrogate.models.Ensemble`, measures it on the held-out split (never
trained on) and exports it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import numpy.typing as npt

from fame_surrogate.config import RESOLVED_FIELDS
from lhe_tools import EventBatch
from lhe_tools.groups import ReducedGroup

if TYPE_CHECKING:
    from fame_surrogate.config import TrainConfig
    from fame_surrogate.models import Surrogate

__all__ = [
    "GroupResult", "ReplicaResult", "TaskResult", "TrainingInputError", "merge_replicas_task",
    "split_validation", "stage1_temper_scan", "train_group_task", "train_replica_task", "usable_cores",
]


class TrainingInputError(ValueError):
    """The training inputs cannot be used (no files, no |M|², no events); names the file or group."""


@dataclass(frozen=True, kw_only=True)
class TaskResult:
    """What every training task returns: success or the error, formatted on the worker.

    Attributes
    ----------
    name : str
        The group (``"<group> replica <r>"`` for a failed replica).
    ok : bool
        Whether the task succeeded.
    seconds : float
        The task's time (a merge adds its replicas').
    worker : str
        The Dask worker's address ("" outside a worker or when the task could not run).
    error, traceback : str
        On failure: ``"<ExceptionType>: <message>"`` and the traceback ("" on success).
    """

    name: str
    ok: bool
    seconds: float = 0.0
    worker: str = ""
    error: str = ""
    traceback: str = ""

    @classmethod
    def failed(cls, name: str, err: BaseException, *, seconds: float = 0.0, worker: str = "") -> Self:
        """The result of a task that raised ``err``."""
        return cls(name=name, ok=False, seconds=seconds, worker=worker, error=f"{type(err).__name__}: {err}",
                   traceback="".join(traceback.format_exception(err)))


@dataclass(frozen=True, kw_only=True)
class GroupResult(TaskResult):
    """A group's surrogate (:func:`train_group_task`, :func:`merge_replicas_task`).

    Attributes
    ----------
    onnx : bytes
        The ``fame-onnx/1`` model file (b"" on failure).
    train : dict
        The training figures (JSON: sizes, epochs, accuracy on the held-out split, ...), as in the file's
        ``fame.train`` and the bundle manifest.
    threads : int
        Torch threads the task ran with (0 on failure).
    """

    onnx: bytes = b""
    train: dict[str, Any] = field(default_factory=dict)
    threads: int = 0


@dataclass(frozen=True, kw_only=True)
class ReplicaResult(TaskResult):
    """One trained replica (:func:`train_replica_task`).

    Attributes
    ----------
    model : Surrogate or None
        The torch replica (None on failure).
    metrics : dict
        Its training figures (JSON, ``TrainMetrics.to_json``).
    """

    model: Surrogate | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def usable_cores() -> int:
    """CPU cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _worker_threads(config: TrainConfig, slots_per_host: Mapping[str, int]) -> tuple[str, int]:
    """This worker's address and its torch thread count (its share of the host's cores); sets torch's."""
    import torch

    try:
        from distributed import get_worker

        worker = get_worker().address
    except ValueError:  # called outside a worker
        worker = ""
    host = worker.rsplit(":", 1)[0]
    threads = config.threads or max(1, usable_cores() // max(1, slots_per_host.get(host, 1)))
    torch.set_num_threads(threads)
    return worker, threads


def _check(group: ReducedGroup, batch: EventBatch) -> None:
    if batch.me2 is None:
        raise TrainingInputError(f"group {group.name}: the events have no me2, nothing to train on")
    if len(batch) == 0:
        raise TrainingInputError(f"group {group.name}: 0 events (sources: {batch.meta.get('source', '?')})")


def _plain(value: Any) -> Any:
    """JSON-able copy of metadata values (numpy scalars and arrays to Python)."""
    return json.loads(json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def _sqrt_shat_range(batch: EventBatch) -> list[float]:
    """[min, max] of the partonic sqrt(shat) of the training events (the domain checked at prediction)."""
    from .domain import sqrt_shat

    root_s = sqrt_shat(batch)
    return [float(root_s.min()), float(root_s.max())]


def stage1_temper_scan(batch: EventBatch, pred: npt.ArrayLike) -> dict[str, Any] | None:
    """The stage-1 temper scan of a surrogate on ``batch``'s events, as ``fame train`` records it
    (:func:`fame_surrogate.validation.scan_temper`; ``beta`` is the chosen β).

    Sherpa's recorded CPU times of the batch are used (wall where a dump has no CPU figure), with ``t_surr``
    = 0: it is small against ``t_PS`` where tempering matters, and a worker's timing would not be the host's.

    Parameters
    ----------
    batch : EventBatch
        Weighted events with Sherpa's |M|² (``me2``) and its recorded times in ``meta``.
    pred : array_like, shape (n_events,)
        The surrogate's |M|² at ``batch.momenta`` (same units as ``me2``).

    Returns
    -------
    dict or None
        ``TemperScan.to_json()`` with ``t_me_ms``, ``t_ps_ms``, ``t_surr_ms`` (0) and ``n_points`` (events
        of nonzero weight); None where the batch has no ``me2``, no recorded times or no event of nonzero
        weight.
    """
    meta = batch.meta
    t_me = meta.get("me_cpu_ms_per_point", meta.get("me_ms_per_point"))
    t_ps = meta.get("ps_cpu_ms_per_point", meta.get("ps_ms_per_point"))
    if batch.me2 is None or not isinstance(t_me, (int, float)) or not isinstance(t_ps, (int, float)):
        return None
    from fame_surrogate.validation import scan_temper

    w = np.abs(batch.weight)
    keep = w > 0.0
    if not keep.any():
        return None
    s = w[keep] * np.abs(np.asarray(pred, dtype=np.float64)[keep]) / np.abs(batch.me2[keep])
    scan = scan_temper(w[keep], np.maximum(s, np.finfo(np.float64).tiny), float(t_me), 0.0, float(t_ps))
    return {**scan.to_json(), "t_me_ms": float(t_me), "t_ps_ms": float(t_ps), "t_surr_ms": 0.0,
            "n_points": int(keep.sum())}


def _stage1_temper(model: Any, held_out: EventBatch, metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """:func:`stage1_temper_scan` of the trained ``model`` on the held-out events of its training run, or
    None where they are neither trained for unweighting nor weighted hadron-collider events (whatever the
    objective, a pp surrogate may serve two-stage unweighting), or where the dump records no Sherpa times.

    The held-out events, not the whole run: on the events it trained on, a surrogate fits the few heaviest
    ones that set ``x_max``, so that scan is flat near β = 1 and picks too large a β.  At Z+5 jets it gave
    β = 0.8–0.9 where an independent run peaks at 0.7–0.75 and loses up to 30% of the gain at 0.9
    (``examples/zjets/README.md``)."""
    from fame_surrogate.dipoles import coloured_beams

    hadronic_weighted = coloured_beams(held_out.pdg, held_out.n_in) and held_out.ps_weight is not None
    if not (metrics.get("objective") == "unweighting" or hadronic_weighted) or held_out.me2 is None:
        return None
    import torch

    with torch.no_grad():
        pred = np.concatenate([
            model(torch.from_numpy(held_out.momenta[i:i + 65536]))[0].double().numpy()
            for i in range(0, len(held_out), 65536)
        ])
    return stage1_temper_scan(held_out, pred)


def _export_bytes(model: Any, group: ReducedGroup, meta: Mapping[str, Any], config: TrainConfig,
                  metrics: Mapping[str, Any]) -> bytes:
    """The fame-onnx/1 file of ``model`` (SPEC §3.4 metadata) as bytes."""
    from fame_surrogate.export import export_onnx

    metadata = {
        "process": group.name,
        "members": [dataclasses.asdict(m) for m in group.members],
        "pdg": [int(x) for x in group.pdg],
        "sqrt_s": _plain(meta.get("sqrt_s")),
        "cuts": _plain(meta.get("cuts", {})),
        "train": {**metrics, "seed": int(config.seed), "events_per_member": _plain(meta.get("members"))},
    }
    with tempfile.TemporaryDirectory(prefix="fame-train-") as tmp:
        return export_onnx(model, Path(tmp) / "model.onnx", metadata).read_bytes()


def train_group_task(
    group: ReducedGroup, batch: EventBatch, config: TrainConfig, slots_per_host: Mapping[str, int]
) -> GroupResult:
    """Dask task: train (all replicas in one go) and export one group's surrogate (errors in the result)."""
    start, cpu, worker = time.perf_counter(), time.process_time(), ""
    try:
        worker, threads = _worker_threads(config, slots_per_host)
        _check(group, batch)
        from fame_surrogate.train import train_surrogate

        result = train_surrogate(batch, dataclasses.replace(config, threads=threads))
        metrics = {k: _plain(v) for k, v in result.metrics.to_json().items()}
        metrics["seconds"] = float(result.seconds)
        metrics["cpu_seconds"] = time.process_time() - cpu  # this worker process, all its threads
        metrics["sqrt_shat_range"] = _sqrt_shat_range(batch)
        metrics["stage1_temper"] = _stage1_temper(result.model, batch.take(result.val_index), metrics)
        blob = _export_bytes(result.model, group, batch.meta, config, metrics)
        return GroupResult(name=group.name, ok=True, onnx=blob, train=metrics,
                           seconds=time.perf_counter() - start, worker=worker, threads=threads)
    except Exception as err:
        return GroupResult.failed(group.name, err, seconds=time.perf_counter() - start, worker=worker)


def split_validation(batch: EventBatch, config: TrainConfig) -> tuple[EventBatch, EventBatch]:
    """(training part, held-out validation part) of ``batch``: the split of ``train_surrogate``
    (:func:`fame_surrogate.split.validation_split`, ``val_fraction`` of it, seeded by ``seed``)."""
    from fame_surrogate.split import validation_split

    train, val = validation_split(len(batch), config.val_fraction, config.seed)
    return batch.take(train), batch.take(val)


def train_replica_task(
    group: ReducedGroup,
    batch: EventBatch,
    config: TrainConfig,
    replica: int,
    slots_per_host: Mapping[str, int],
) -> ReplicaResult:
    """Dask task: train replica ``replica`` (seed ``config.seed + replica``) on ``batch``'s training split
    (errors in the result)."""
    start, worker = time.perf_counter(), ""
    try:
        worker, threads = _worker_threads(config, slots_per_host)
        _check(group, batch)
        from fame_surrogate.split import validation_split
        from fame_surrogate.train import train_surrogate

        _, held_out = validation_split(len(batch), config.val_fraction, config.seed)

        cfg = dataclasses.replace(config, replicas=1, seed=config.seed + replica, threads=threads)
        result = train_surrogate(batch, cfg, val_index=held_out)  # all the other points train
        (member,) = result.model.member_models()
        return ReplicaResult(name=group.name, ok=True, model=member, metrics=_plain(result.metrics.to_json()),
                             seconds=float(result.seconds), worker=worker)
    except Exception as err:
        name = f"{group.name} replica {replica}"
        return ReplicaResult.failed(name, err, seconds=time.perf_counter() - start, worker=worker)


def merge_replicas_task(
    group: ReducedGroup,
    replicas: Sequence[ReplicaResult],
    batch: EventBatch,
    config: TrainConfig,
    slots_per_host: Mapping[str, int],
) -> GroupResult:
    """Dask task: join the replica models into one ensemble, measure it on the held-out split, export it.

    The result is as :func:`train_group_task`'s; ``train`` holds the ensemble's accuracy on the held-out
    split.
    """
    bad = [r for r in replicas if not r.ok]
    if bad:
        return GroupResult(name=group.name, ok=False, seconds=bad[0].seconds, worker=bad[0].worker,
                           error=f"{len(bad)} of {len(replicas)} replicas failed; first: {bad[0].error}",
                           traceback=bad[0].traceback)
    start, worker = time.perf_counter(), ""
    try:
        worker, threads = _worker_threads(config, slots_per_host)
        train, val = split_validation(batch, config)
        n_train = len(train)
        import torch

        from fame_surrogate.models import Ensemble
        from fame_surrogate.validation import accuracy

        members = [r.model for r in replicas if r.model is not None]
        ensemble = Ensemble(members).eval()
        with torch.no_grad():
            pred = ensemble(torch.from_numpy(val.momenta))[0].numpy()
        assert val.me2 is not None
        acc = accuracy(pred, val.me2)
        seconds = float(sum(r.seconds for r in replicas))
        metrics = {
            "val_frac_within_1pct": acc.frac_within_1pct,
            "val_frac_within_0p1pct": acc.frac_within_0p1pct,
            "val_median_abs_rel_dev": acc.median_abs_rel_dev,
            "n_train": int(n_train),
            "n_val": len(val),
            "epochs": [e for r in replicas for e in r.metrics.get("epochs", [])],
            "seconds": seconds,
            "replica_tasks": len(replicas),
            "replica_workers": sorted({r.worker for r in replicas}),
            "sqrt_shat_range": _sqrt_shat_range(batch),
        }
        metrics.update({k: replicas[0].metrics[k] for k in RESOLVED_FIELDS})  # as the replicas resolved them
        metrics["stage1_temper"] = _stage1_temper(ensemble, val, metrics)
        metrics = _plain(metrics)
        blob = _export_bytes(ensemble, group, val.meta, config, metrics)
        return GroupResult(name=group.name, ok=True, onnx=blob, train=metrics,
                           seconds=time.perf_counter() - start + seconds, worker=worker, threads=threads)
    except Exception as err:
        return GroupResult.failed(group.name, err, seconds=time.perf_counter() - start, worker=worker)
