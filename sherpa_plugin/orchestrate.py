"""Train one surrogate per reduced group on Dask and write the bundle (``fame train``, issue 10).

Flow: scan the inputs on the client (:mod:`sherpa_plugin.train_inputs`: channel, size and sha256 of each fame
dump; other formats read in memory) → :func:`lhe_tools.groups.reduce_channels` → per group a load task that
reads only that group's files on a worker and maps every member into the representative's particle order →
one training task per group, or one per replica plus a merge task (:mod:`sherpa_plugin.train_tasks`; the
worker returns the ONNX bytes) → the client writes each finished model atomically with a sidecar record
(its sha256 and the fingerprint of config + data) → the manifest last.

Resuming: a group whose sidecar fingerprint matches and whose model file still has the recorded sha256 is
not trained again.  A failing group is reported with its worker traceback; the others finish."""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lhe_tools import atomic_path
from lhe_tools.groups import ReducedGroup

from .bundle import FORMAT as BUNDLE_FORMAT
from .bundle import MANIFEST, MODELS, BundleGroup, model_relpath, sha256_file, write_manifest
from .train_inputs import GroupInput, expand_inputs, load_group, plan_groups, read_inputs
from .train_tasks import (
    GroupResult,
    TrainingInputError,
    merge_replicas_task,
    train_group_task,
    train_replica_task,
    usable_cores,
)

__all__ = [
    "GroupReport", "GroupStatus", "TrainBundleResult", "TrainingInputError", "config_dict", "expand_inputs",
    "read_inputs", "train_bundle",
]

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

    from fame_surrogate.config import TrainConfig

log = logging.getLogger(__name__)

SIDECAR_FORMAT = "fame-bundle-group/1"


class GroupStatus(enum.StrEnum):
    """What :func:`train_bundle` did with a group."""

    TRAINED = "trained"
    SKIPPED = "skipped"  # its model was up to date
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class GroupReport:
    """The outcome of one reduced group in :func:`train_bundle`.

    Parameters
    ----------
    name : str
        The group's (representative) process name.
    members : tuple of str
        Its member process names.
    status : GroupStatus
        Trained, skipped (up to date) or failed.
    val_frac_within_1pct : float or None
        Fraction of held-out points within 1% (None when failed).
    seconds : float or None
        Training wall time in s (None when failed).
    error, traceback : str or None
        What went wrong, for a failed group.
    """

    name: str
    members: tuple[str, ...]
    status: GroupStatus
    val_frac_within_1pct: float | None = None
    seconds: float | None = None
    error: str | None = None
    traceback: str | None = None

    @classmethod
    def of(
        cls, group: ReducedGroup, status: GroupStatus, train: Mapping[str, Any], **extra: Any
    ) -> GroupReport:
        """The report of ``group`` from its training figures (``val_frac_within_1pct``, ``seconds``)."""
        return cls(name=group.name, members=tuple(m.process for m in group.members), status=status,
                   val_frac_within_1pct=train.get("val_frac_within_1pct"), seconds=train.get("seconds"),
                   **extra)

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``name``, ``members``, ``status``, figures; ``error``, ``traceback`` when failed."""
        out: dict[str, Any] = {"name": self.name, "members": list(self.members), "status": str(self.status),
                               "val_frac_within_1pct": self.val_frac_within_1pct, "seconds": self.seconds}
        if self.status is GroupStatus.FAILED:
            out.update(error=self.error, traceback=self.traceback)
        return out


@dataclasses.dataclass(frozen=True)
class TrainBundleResult:
    """What :func:`train_bundle` did.

    Parameters
    ----------
    bundle : str
        The bundle folder.
    manifest : str
        Its manifest file.
    groups : tuple of GroupReport
        Every group found in the data, in plan order.
    workers : int
        Dask workers used (0 when nothing had to be trained).
    seconds : float
        Wall time of the whole call.
    """

    bundle: str
    manifest: str
    groups: tuple[GroupReport, ...]
    workers: int
    seconds: float

    def _count(self, status: GroupStatus) -> int:
        return sum(g.status is status for g in self.groups)

    @property
    def trained(self) -> int:
        """Groups trained in this call."""
        return self._count(GroupStatus.TRAINED)

    @property
    def skipped(self) -> int:
        """Groups whose model was up to date."""
        return self._count(GroupStatus.SKIPPED)

    @property
    def failed(self) -> int:
        """Groups that failed."""
        return self._count(GroupStatus.FAILED)

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``bundle``, ``manifest``, ``groups``, ``trained``, ``skipped``, ``failed``,
        ``workers``, ``seconds``."""
        return {"bundle": self.bundle, "manifest": self.manifest,
                "groups": [g.to_json() for g in self.groups], "trained": self.trained,
                "skipped": self.skipped, "failed": self.failed,
                "workers": self.workers, "seconds": self.seconds}


def config_dict(config: Any) -> dict[str, Any]:
    """The training configuration as a JSON-able dict (``threads`` and ``max_seconds`` left out)."""
    d = dataclasses.asdict(config)
    d.pop("threads", None)
    return json.loads(json.dumps(d, default=str))  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------------------------- client


def scheduler_address(scheduler: str | None) -> str | None:
    """The Dask scheduler: ``scheduler``, else ``DASK_SCHEDULER_ADDRESS`` (announced on stderr), else None.

    fame exchanges pickled data (tasks, results) with the scheduler and its workers, so the scheduler and
    every worker must be trusted; an address taken from the environment is never used silently.
    """
    if scheduler:
        log.info("using the Dask scheduler %s (it and its workers must be trusted: they exchange pickles "
                 "with fame)", scheduler)
        return scheduler
    env = os.environ.get("DASK_SCHEDULER_ADDRESS")
    if env:
        log.warning("using the Dask scheduler %s from DASK_SCHEDULER_ADDRESS (it and its workers must be "
                    "trusted: they exchange pickles with fame; unset the variable for a local cluster)", env)
        return env
    return None


def dask_security(
    ca_file: str | None = None, cert: str | None = None, key: str | None = None
) -> Any:
    """A ``distributed.Security`` for TLS from these files, or None (Dask's own configuration applies).

    Parameters
    ----------
    ca_file : str, optional
        CA certificate that signed the scheduler's and workers' certificates.
    cert, key : str, optional
        This client's certificate and private key (``key`` may be omitted when ``cert`` holds both).

    Raises
    ------
    ValueError
        A file does not exist, or a certificate is given without a CA (or the other way round).
    """
    if not (ca_file or cert or key):
        return None
    from distributed.security import Security

    for what, path in (("--tls-ca-file", ca_file), ("--tls-cert", cert), ("--tls-key", key)):
        if path and not Path(path).is_file():
            raise ValueError(f"{what} {path}: no such file")
    if not (ca_file and cert):
        raise ValueError("TLS needs both a CA file (--tls-ca-file) and a client certificate (--tls-cert)")
    return Security(  # type: ignore[no-untyped-call]
        tls_ca_file=ca_file, tls_client_cert=cert, tls_client_key=key, require_encryption=True
    )


def _connect(
    scheduler: str | None, workers: int | None, n_tasks: int, security: Any = None
) -> tuple[Client, LocalCluster | None]:
    from distributed import Client, LocalCluster

    address = scheduler_address(scheduler)
    if address:
        if security is not None and not address.startswith("tls://"):
            raise ValueError(f"TLS settings were given but the scheduler address {address} is not tls://")
        kwargs: dict[str, Any] = {} if security is None else {"security": security}
        client = Client(address, **kwargs)  # type: ignore[no-untyped-call]
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


def check_bundle_dir(root: Path, *, force: bool = False) -> None:
    """Refuse to train into a folder that is neither new, empty, nor a (partial) bundle, unless ``force``.

    A bundle holds ``manifest.json`` of format ``fame-bundle/1``, or (an interrupted first run) only a
    ``models/`` folder of models and their sidecars.  Training writes ``manifest.json``,
    ``sherpa-snippet.yaml`` and ``models/``; it never deletes anything.
    """
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root}: exists and is not a folder; --out takes the bundle folder")
    if force or not root.is_dir() or not any(root.iterdir()):
        return
    manifest = root / MANIFEST
    if manifest.is_file():
        try:
            fmt = json.loads(manifest.read_text(encoding="utf-8")).get("format")
        except (ValueError, AttributeError, OSError):
            fmt = None
        if fmt == BUNDLE_FORMAT:
            return
    elif {p.name for p in root.iterdir()} <= {MODELS} and all(
        p.suffix in (".onnx", ".json", ".tmp") for p in (root / MODELS).iterdir()
    ):
        return
    raise ValueError(
        f"{root}: folder exists, is not empty and is not a fame bundle (no {MANIFEST} of format "
        f"{BUNDLE_FORMAT}); nothing was written.  Choose a new or empty folder, or pass --force to write "
        "the bundle into it (its other files are kept; manifest.json, sherpa-snippet.yaml and models/ are "
        "written)"
    )


@dataclasses.dataclass(frozen=True)
class Sidecar:
    """The record ``models/<group>.json`` written beside each trained model (format ``fame-bundle-group/1``).

    Parameters
    ----------
    name : str
        The group.
    key : str
        Fingerprint of the training configuration and the group's data (:meth:`GroupInput.fingerprint`).
    sha256 : str
        Hex sha256 of the model file.
    train : mapping
        Training figures.
    worker : str or None
        The Dask worker that trained it.
    threads : int or None
        torch threads it used.
    config : mapping
        The training configuration (:func:`config_dict`).
    """

    name: str
    key: str
    sha256: str
    train: Mapping[str, Any]
    worker: str | None = None
    threads: int | None = None
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the sidecar file."""
        return {"format": SIDECAR_FORMAT, "name": self.name, "key": self.key, "sha256": self.sha256,
                "train": dict(self.train), "worker": self.worker, "threads": self.threads,
                "config": dict(self.config)}

    @classmethod
    def load(cls, root: Path, name: str) -> Sidecar | None:
        """The sidecar of group ``name`` in bundle ``root``; None if missing, unreadable or another format."""
        path = root / f"{MODELS}/{name}.json"
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
            return None
        try:
            return cls(name=str(data["name"]), key=str(data["key"]), sha256=str(data["sha256"]),
                       train=dict(data.get("train") or {}), worker=data.get("worker"),
                       threads=data.get("threads"), config=dict(data.get("config") or {}))
        except (KeyError, TypeError, ValueError):
            return None


def train_bundle(
    data: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    config: TrainConfig,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    security: Any = None,
    force: bool = False,
) -> TrainBundleResult:
    """Train one surrogate per reduced group found in ``data`` on Dask and write the bundle ``out``.

    Parameters
    ----------
    data : sequence of paths
        Event files or folders: fame dumps (read lazily by the workers) or anything
        :func:`lhe_tools.reader.read_all` reads.  Groups whose events have no ``me2`` fail up front.
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
    security : distributed.Security, optional
        TLS settings for a remote scheduler (see :func:`dask_security`); default Dask's configuration.
    force : bool
        Write into a non-empty folder that is not a bundle (its other files are kept; without ``force`` such
        an ``out`` is refused before any work, see :func:`check_bundle_dir`).

    Returns
    -------
    TrainBundleResult
        Per group its :class:`GroupReport` (trained, skipped or failed), the workers and the wall time.
    """
    start = time.perf_counter()
    root = Path(out)
    check_bundle_dir(root, force=force)
    files = expand_inputs(data)
    plan = plan_groups(files)
    cfg = config_dict(config)
    (root / MODELS).mkdir(parents=True, exist_ok=True)

    done: dict[str, BundleGroup] = {}
    reports: dict[str, GroupReport] = {}
    todo: list[tuple[GroupInput, str]] = []
    for gi in plan:
        g = gi.group
        key = gi.fingerprint(cfg)
        side = Sidecar.load(root, g.name)
        model = root / model_relpath(g.name)
        if side and side.key == key and model.is_file() and sha256_file(model) == side.sha256:
            done[g.name] = BundleGroup(group=g, model=model_relpath(g.name), sha256=side.sha256,
                                       train=side.train)
            reports[g.name] = GroupReport.of(g, GroupStatus.SKIPPED, side.train)
            log.info("group %s: up to date (sha256 %s…), skipped", g.name, side.sha256[:12])
        elif not gi.has_me2:  # nothing to learn from: fail here, not on a worker
            err = (f"group {g.name}: the events of {[m.process for m in g.members]} have no me2 (LHE files "
                   "and ntuples without |M|^2 cannot train a surrogate; use fame sherpa dump or "
                   "fame generate)")
            reports[g.name] = GroupReport.of(g, GroupStatus.FAILED, {}, error=f"TrainingInputError: {err}",
                                             traceback="")
            log.error("%s", err)
        else:
            todo.append((gi, key))

    n_workers = 0
    if todo:
        # replicas are tasks of their own: a single group with R replicas can use R workers
        client, cluster = _connect(scheduler, workers, len(todo) * config.replicas, security)
        try:
            n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
            slots = _slots_per_host(client)
            _run(client, todo, config, slots, root, cfg, done, reports, progress)
        finally:
            client.close()  # type: ignore[no-untyped-call]
            if cluster is not None:
                cluster.close()

    entries = [done[gi.group.name] for gi in plan if gi.group.name in done]
    failed = [{"name": r.name, "error": r.error, "traceback": r.traceback}
              for r in reports.values() if r.status is GroupStatus.FAILED]
    manifest = write_manifest(
        root,
        entries,
        failed=failed,
        config=cfg,
        snippet_settings=_snippet_settings(plan),
        extra={
            "inputs": [str(f) for f in files],
            "events": {gi.group.name: gi.n_events for gi in plan},
        },
    )
    return TrainBundleResult(
        bundle=str(root),
        manifest=str(manifest),
        groups=tuple(reports[gi.group.name] for gi in plan),
        workers=n_workers,
        seconds=time.perf_counter() - start,
    )


def _run(
    client: Client,
    todo: Sequence[tuple[GroupInput, str]],
    config: TrainConfig,
    slots: Mapping[str, int],
    root: Path,
    cfg: Mapping[str, Any],
    done: dict[str, BundleGroup],
    reports: dict[str, GroupReport],
    progress: bool,
) -> None:
    """Submit per group a load task, then one training task (or one per replica plus a merge task)."""
    from distributed import as_completed
    from tqdm import tqdm

    by_key: dict[Any, tuple[ReducedGroup, str]] = {}
    futures = []
    for gi, key in todo:
        g = gi.group
        tag = f"{g.name}-{key[:16]}"
        batch = client.submit(load_group, gi, key=f"fame-load-{tag}", pure=False)  # read on the worker
        if config.replicas > 1:
            reps = [client.submit(train_replica_task, g, batch, config, r, slots,
                                  key=f"fame-replica-{r}-{tag}", pure=False) for r in range(config.replicas)]
            fut = client.submit(merge_replicas_task, g, reps, batch, config, slots,
                                key=f"fame-merge-{tag}", pure=False)
        else:
            fut = client.submit(train_group_task, g, batch, config, slots, key=f"fame-train-{tag}",
                                pure=False)
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
                res: GroupResult = fut.result()
            except Exception as err:  # the worker died or the task could not run at all
                res = GroupResult.failed(g.name, err)
            if res.ok:
                rel = model_relpath(g.name)
                with atomic_path(root / rel, suffix=".onnx") as tmp:
                    tmp.write_bytes(res.onnx)
                sha = sha256_file(root / rel)
                side = Sidecar(name=g.name, key=key, sha256=sha, train=res.train, worker=res.worker,
                               threads=res.threads, config=cfg)
                with atomic_path(root / f"{MODELS}/{g.name}.json") as tmp:
                    tmp.write_text(json.dumps(side.to_json(), indent=1) + "\n", encoding="utf-8")
                done[g.name] = BundleGroup(group=g, model=rel, sha256=sha, train=res.train)
                reports[g.name] = GroupReport.of(g, GroupStatus.TRAINED, res.train)
                n_ok += 1
            else:
                reports[g.name] = GroupReport.of(g, GroupStatus.FAILED, {}, error=res.error,
                                                 traceback=res.traceback)
                log.error("group %s failed on %s: %s\n%s", g.name, res.worker or "?", res.error,
                          res.traceback)
            bar.update(1)
            n_failed = sum(r.status is GroupStatus.FAILED for r in reports.values())
            bar.set_postfix(done=n_ok, running=min(len(futures) - bar.n, n_slots), failed=n_failed)


def _snippet_settings(plan: Sequence[GroupInput]) -> dict[str, Any]:
    """The run-card settings shared by all training dumps (a warning names the ones that disagree)."""
    found: dict[str, set[Any]] = {}
    for gi in plan:
        for _, part in gi.parts:
            for key, value in getattr(part, "settings", {}).items():
                found.setdefault(key, set()).add(value)
    mixed = {k: sorted(map(str, v)) for k, v in found.items() if len(v) > 1}
    if mixed:
        log.warning("training dumps disagree on %s; the snippet leaves these settings out", mixed)
    return {k: next(iter(v)) for k, v in found.items() if len(v) == 1}
