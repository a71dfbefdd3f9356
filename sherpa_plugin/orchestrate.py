"""Train one surrogate per reduced group on Dask and write the bundle (``fame train``, issue 10).

Flow: read the inputs (fame dumps, or any file :mod:`lhe_tools.reader` reads) → one batch per channel in
canonical order → :func:`lhe_tools.groups.reduce_channels` → per group, every member's events mapped into
the representative's particle order and joined → one Dask task per group (training + ONNX export on the
worker; the worker returns the ONNX bytes, so workers need no shared file system) → the client writes each
finished model atomically with a sidecar record (its sha256 and the fingerprint of config + data) → the
manifest last.

Resuming: a group whose sidecar fingerprint matches and whose model file still has the recorded sha256 is
not trained again.  A failing group is reported with its worker traceback; the others finish.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lhe_tools import EventBatch, atomic_path, concatenate, read_dump
from lhe_tools.groups import ReducedGroup, reduce_channels
from lhe_tools.process import canonical_channel

from .bundle import MODELS, BundleGroup, model_relpath, sha256_file, write_manifest
from .train_tasks import (
    TrainingInputError,
    merge_replicas_task,
    split_validation,
    train_group_task,
    train_replica_task,
    usable_cores,
)

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

    from fame_surrogate.train import TrainConfig

log = logging.getLogger(__name__)

#: file suffixes picked up when a DATA argument is a folder
DATA_SUFFIXES = (".npz", ".lhe", ".lhe.gz", ".lheh5", ".hdf5", ".h5", ".root")
SIDECAR_FORMAT = "fame-bundle-group/1"


# ----------------------------------------------------------------------------------------------- inputs


def expand_inputs(data: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named by ``data``: files as given, folders expanded to their event files (sorted)."""
    files: list[Path] = []
    for item in data:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.name.lower().endswith(DATA_SUFFIXES))
            if not found:
                raise TrainingInputError(f"{p}: folder holds no event files ({', '.join(DATA_SUFFIXES)})")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise TrainingInputError(f"{p}: no such file or folder")
    if not files:
        raise TrainingInputError("no input files given")
    return files


def read_inputs(files: Sequence[Path]) -> list[EventBatch]:
    """One batch per channel, in canonical (Sherpa) particle order, joined across files.

    fame dumps are read with :func:`lhe_tools.read_dump`; every other format needs
    :func:`lhe_tools.reader.read_all`.
    """
    batches: list[EventBatch] = []
    others = [f for f in files if not f.name.lower().endswith(".npz")]
    for f in files:
        if f.name.lower().endswith(".npz"):
            batches.append(read_dump(f))
    if others:
        try:
            from lhe_tools.reader import read_all
        except ImportError as err:
            raise TrainingInputError(
                f"{others[0]}: only fame dumps (.npz) can be read by this installation ({err})"
            ) from err
        batches.extend(read_all(others))
    by_name: dict[str, list[EventBatch]] = {}
    for b in batches:
        cb = canonical_batch(b)
        by_name.setdefault(cb.process, []).append(cb)
    return [concatenate(bs) if len(bs) > 1 else bs[0] for bs in by_name.values()]


def canonical_batch(batch: EventBatch) -> EventBatch:
    """``batch`` reordered into its channel's canonical particle order, named by its canonical process."""
    name, order = canonical_channel([int(x) for x in batch.pdg], batch.n_in)
    order_arr = np.asarray(order, dtype=np.int64)
    if np.array_equal(order_arr, np.arange(batch.n_particles)):
        return batch if batch.process == name else batch.with_columns(process=name)
    return batch.permuted(order_arr, process=name)


def group_batches(batches: Sequence[EventBatch]) -> list[tuple[ReducedGroup, EventBatch]]:
    """Reduced groups of the channels in ``batches`` and each group's events in the representative's order.

    Every member's momenta are permuted with ``member.permutation`` and relabelled with the group's pdg
    and name; ``meta['members']`` of the joined batch counts the events per member.
    """
    by_name = {b.process: b for b in batches}
    groups = reduce_channels([(tuple(int(x) for x in b.pdg), b.n_in) for b in batches])
    out: list[tuple[ReducedGroup, EventBatch]] = []
    for g in groups:
        parts: list[EventBatch] = []
        counts: dict[str, int] = {}
        for m in g.members:
            b = by_name[m.process]
            mapped = b.permuted(np.asarray(m.permutation, dtype=np.int64), process=g.name)
            parts.append(mapped.with_columns(pdg=np.asarray(g.pdg, dtype=np.int32), meta={**b.meta}))
            counts[m.process] = len(b)
        joined = concatenate(parts) if len(parts) > 1 else parts[0]
        out.append((g, joined.with_columns(meta={**joined.meta, "members": counts})))
    return out


def fingerprint(group: ReducedGroup, batch: EventBatch, config: Mapping[str, Any]) -> str:
    """sha256 over the training configuration, the group definition and the training arrays."""
    h = hashlib.sha256()
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    h.update(json.dumps(dataclasses.asdict(group), sort_keys=True, default=str).encode())
    h.update(np.ascontiguousarray(batch.momenta).tobytes())
    if batch.me2 is not None:
        h.update(np.ascontiguousarray(batch.me2).tobytes())
    return h.hexdigest()


def config_dict(config: Any) -> dict[str, Any]:
    """The training configuration as a JSON-able dict (``threads`` and ``max_seconds`` left out)."""
    d = dataclasses.asdict(config)
    d.pop("threads", None)
    return json.loads(json.dumps(d, default=str))  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------------------------- client


def _connect(
    scheduler: str | None, workers: int | None, n_tasks: int
) -> tuple[Client, LocalCluster | None]:
    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        client = Client(address)  # type: ignore[no-untyped-call]
        client.wait_for_workers(n_workers=max(1, workers or 1), timeout=120)
        return client, None
    n = workers or max(1, min(usable_cores(), n_tasks))
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",  # a free port: never collide with another cluster's 8787
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster  # type: ignore[no-untyped-call]


def _slots_per_host(client: Client) -> dict[str, int]:
    """Task slots (sum of worker threads) per host, so each task can take its share of that host's cores."""
    slots: dict[str, int] = {}
    for addr, w in client.scheduler_info(n_workers=-1)["workers"].items():
        host = addr.rsplit(":", 1)[0]
        slots[host] = slots.get(host, 0) + int(w.get("nthreads", 1))
    return slots


def _load_sidecar(root: Path, name: str) -> dict[str, Any] | None:
    side = root / f"{MODELS}/{name}.json"
    if not side.is_file():
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) and data.get("format") == SIDECAR_FORMAT else None



def train_bundle(
    data: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    config: TrainConfig,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train one surrogate per reduced group found in ``data`` on Dask and write the bundle ``out``.

    Parameters
    ----------
    data : sequence of paths
        Event files or folders (fame dumps; LHE/LHEH5/ntuples once :mod:`lhe_tools.reader` reads them).
        Events need ``me2``.
    out : path
        Bundle folder; models of a previous run that match (sha256 + fingerprint) are reused.
    config : TrainConfig
        Training settings, the same for every group.  With ``replicas > 1`` every replica is its own
        task (see :mod:`sherpa_plugin.train_tasks`) and a merge task builds the ensemble.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``); default ``DASK_SCHEDULER_ADDRESS``,
        else a ``LocalCluster`` with one single-threaded worker process per core (at most one per group).
    workers : int, optional
        Number of local workers (with ``scheduler``: wait for this many workers).
    progress : bool
        Show a tqdm bar (groups done/running/failed) on stderr.

    Returns
    -------
    dict
        ``bundle``, ``groups`` (per group ``name``, ``members``, ``status`` trained/skipped/failed,
        ``val_frac_within_1pct``, ``seconds``, and ``error``/``traceback`` when failed), ``trained``,
        ``skipped``, ``failed``, ``seconds``, ``workers``, ``manifest``.
    """
    start = time.perf_counter()
    root = Path(out)
    files = expand_inputs(data)
    batches = read_inputs(files)
    grouped = group_batches(batches)
    cfg = config_dict(config)
    (root / MODELS).mkdir(parents=True, exist_ok=True)

    done: dict[str, BundleGroup] = {}
    reports: dict[str, dict[str, Any]] = {}
    todo: list[tuple[ReducedGroup, EventBatch, str]] = []
    for g, b in grouped:
        key = fingerprint(g, b, cfg)
        side = _load_sidecar(root, g.name)
        model = root / model_relpath(g.name)
        if side and side.get("key") == key and model.is_file() and sha256_file(model) == side.get("sha256"):
            done[g.name] = BundleGroup(group=g, model=model_relpath(g.name), sha256=side["sha256"],
                                       train=side.get("train", {}))
            reports[g.name] = _report(g, "skipped", side.get("train", {}))
            log.info("group %s: up to date (sha256 %s…), skipped", g.name, side["sha256"][:12])
        else:
            todo.append((g, b, key))

    failed: list[dict[str, Any]] = []
    for g, b, _ in [t for t in todo if t[1].me2 is None]:  # nothing to learn from: fail here, not on a worker
        err = (f"group {g.name}: the events of {sorted(set(b.meta.get('members', {})))} have no me2 "
               "(LHE files and ntuples without |M|^2 cannot train a surrogate; use fame sherpa dump or "
               "fame generate)")
        failed.append({"name": g.name, "error": f"TrainingInputError: {err}", "traceback": ""})
        reports[g.name] = _report(g, "failed", {}, error=failed[-1]["error"], traceback="")
        log.error("%s", err)
    todo = [t for t in todo if t[1].me2 is not None]
    n_workers = 0
    if todo:
        client, cluster = _connect(scheduler, workers, len(todo))
        try:
            n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
            slots = _slots_per_host(client)
            _run(client, todo, config, slots, root, cfg, done, reports, failed, progress)
        finally:
            client.close()  # type: ignore[no-untyped-call]
            if cluster is not None:
                cluster.close()

    entries = [done[g.name] for g, _ in grouped if g.name in done]
    manifest = write_manifest(
        root,
        entries,
        failed=failed,
        config=cfg,
        extra={
            "inputs": [str(f) for f in files],
            "events": {g.name: len(b) for g, b in grouped},
        },
    )
    return {
        "bundle": str(root),
        "manifest": str(manifest),
        "groups": [reports[g.name] for g, _ in grouped],
        "trained": sum(r["status"] == "trained" for r in reports.values()),
        "skipped": sum(r["status"] == "skipped" for r in reports.values()),
        "failed": len(failed),
        "workers": n_workers,
        "seconds": time.perf_counter() - start,
    }


def _report(group: ReducedGroup, status: str, train: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": group.name,
        "members": [m.process for m in group.members],
        "status": status,
        "val_frac_within_1pct": train.get("val_frac_within_1pct"),
        "seconds": train.get("seconds"),
        **extra,
    }


def _run(
    client: Client,
    todo: Sequence[tuple[ReducedGroup, EventBatch, str]],
    config: TrainConfig,
    slots: Mapping[str, int],
    root: Path,
    cfg: Mapping[str, Any],
    done: dict[str, BundleGroup],
    reports: dict[str, dict[str, Any]],
    failed: list[dict[str, Any]],
    progress: bool,
) -> None:
    """Submit the tasks (one per group, or one per replica plus a merge), write each model as it arrives."""
    from distributed import as_completed
    from tqdm import tqdm

    by_key: dict[Any, tuple[ReducedGroup, str]] = {}
    futures = []
    for g, b, key in todo:
        tag = f"{g.name}-{key[:16]}"
        if config.replicas > 1:
            train, val = split_validation(b, config)
            train_f = client.scatter(train)  # type: ignore[no-untyped-call] # shipped once to the cluster, shared by the replica tasks
            reps = [client.submit(train_replica_task, g, train_f, config, r, slots,
                                  key=f"fame-replica-{r}-{tag}", pure=False) for r in range(config.replicas)]
            fut = client.submit(merge_replicas_task, g, reps, val, len(train), config, slots,
                                key=f"fame-merge-{tag}", pure=False)
        else:
            fut = client.submit(train_group_task, g, b, config, slots, key=f"fame-train-{tag}", pure=False)
        by_key[fut.key] = (g, key)
        futures.append(fut)
    n_slots = sum(slots.values())
    bar = tqdm(total=len(futures), desc="groups", unit="group", file=sys.stderr, disable=not progress)
    n_ok = 0
    with bar:
        bar.set_postfix(done=0, running=min(len(futures), n_slots), failed=0)
        for fut in as_completed(futures):  # type: ignore[no-untyped-call]
            g, key = by_key[fut.key]
            try:
                res = fut.result()
            except Exception as err:  # the worker died or the task could not run at all
                res = {"name": g.name, "ok": False, "error": f"{type(err).__name__}: {err}",
                       "traceback": "".join(traceback.format_exception(err))}
            if res["ok"]:
                rel = model_relpath(g.name)
                with atomic_path(root / rel, suffix=".onnx") as tmp:
                    tmp.write_bytes(res["onnx"])
                sha = sha256_file(root / rel)
                side = {"format": SIDECAR_FORMAT, "name": g.name, "key": key, "sha256": sha,
                        "train": res["train"], "worker": res["worker"], "threads": res["threads"],
                        "config": dict(cfg)}
                with atomic_path(root / f"{MODELS}/{g.name}.json") as tmp:
                    tmp.write_text(json.dumps(side, indent=1) + "\n", encoding="utf-8")
                done[g.name] = BundleGroup(group=g, model=rel, sha256=sha, train=res["train"])
                reports[g.name] = _report(g, "trained", res["train"])
                n_ok += 1
            else:
                failed.append({"name": g.name, "error": res["error"], "traceback": res["traceback"]})
                reports[g.name] = _report(g, "failed", {}, error=res["error"], traceback=res["traceback"])
                log.error("group %s failed on %s: %s\n%s", g.name, res.get("worker") or "?", res["error"],
                          res["traceback"])
            bar.update(1)
            bar.set_postfix(done=n_ok, running=min(len(futures) - bar.n, n_slots), failed=len(failed))
