"""Train one surrogate per reduced group on Dask and write the bundle (``fame train``, issue 10).

Flow: scan the inputs on the client (:mod:`sherpa_plugin.train_inputs`: channel, size and sha256 of each fame
dump; other formats read in memory) → :func:`lhe_tools.groups.reduce_channels` → per group a load task that
reads only that group's files on a worker and maps every member into the representative's particle order →
one training task per group, or one per replica plus a merge task (:mod:`sherpa_plugin.train_tasks`, submitted
by :mod:`sherpa_plugin.train_dask`; the worker returns the ONNX bytes) → the client writes each finished model
atomically with a sidecar record (:mod:`sherpa_plugin.train_sidecar`: its sha256 and the fingerprint of
config + data) → the manifest last.

Resuming: a group whose sidecar fingerprint matches and whose model file still has the recorded sha256 is
not trained again.  A failing group is reported with its worker traceback; the others finish
(:mod:`sherpa_plugin.train_result`)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bundle_manifest import MODELS, BundleGroup, write_manifest
from .snippet import SnippetSettings
from .train_dask import connect, run_groups, slots_per_host
from .train_inputs import DumpSource, GroupInput, expand_inputs, plan_groups
from .train_result import GroupReport, GroupStatus, TrainBundleResult
from .train_sidecar import check_bundle_dir, store_model, up_to_date

__all__ = ["config_dict", "train_bundle"]

if TYPE_CHECKING:
    from fame_surrogate.config import TrainConfig

log = logging.getLogger(__name__)


def config_dict(config: TrainConfig) -> dict[str, Any]:
    """The training configuration as the manifest records it: :meth:`TrainConfig.to_json` without ``threads``.

    ``threads`` is left out: it describes the machine that trained, not the model.
    """
    d = config.to_json()
    d.pop("threads", None)
    return d


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
        TLS settings for a remote scheduler (see :func:`sherpa_plugin.train_dask.dask_security`); default
        Dask's configuration.
    force : bool
        Write into a non-empty folder that is not a bundle (its other files are kept; without ``force`` such
        an ``out`` is refused before any work, see :func:`sherpa_plugin.train_sidecar.check_bundle_dir`).

    Returns
    -------
    TrainBundleResult
        Per group its :class:`~sherpa_plugin.train_result.GroupReport` (trained, skipped or failed), the
        workers and the wall time.
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
        previous = up_to_date(root, g, key)
        if previous is not None:
            done[g.name] = previous
            reports[g.name] = GroupReport.of(g, GroupStatus.SKIPPED, previous.train)
            log.info("group %s: up to date (sha256 %s…), skipped", g.name, previous.sha256[:12])
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
        client, cluster = connect(scheduler, workers, len(todo) * config.replicas, security)
        try:
            n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
            failed_early = sum(r.status is GroupStatus.FAILED for r in reports.values())
            results = run_groups(client, todo, config, slots_per_host(client), progress=progress,
                                 failed=failed_early)
            for g, key, res in results:
                if res.ok:
                    done[g.name] = store_model(root, g, key, res, cfg)
                    reports[g.name] = GroupReport.of(g, GroupStatus.TRAINED, res.train)
                else:
                    reports[g.name] = GroupReport.of(g, GroupStatus.FAILED, {}, error=res.error,
                                                     traceback=res.traceback)
                    log.error("group %s failed on %s: %s\n%s", g.name, res.worker or "?", res.error,
                              res.traceback)
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


def _snippet_settings(plan: Sequence[GroupInput]) -> SnippetSettings:
    """The run-card settings shared by all training dumps (a warning names the ones that disagree)."""
    common, mixed = SnippetSettings.common(
        part.settings for gi in plan for _, part in gi.parts if isinstance(part, DumpSource)
    )
    if mixed:
        log.warning("training dumps disagree on %s; the snippet leaves these settings out", mixed)
    return common
