"""The Dask cluster of ``fame sherpa dump --jobs``: a batch system (:class:`ClusterSpec`), a running scheduler
or local worker processes, and the check that every worker can run fame's generation task.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .dump_runner import SherpaDumpError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["CLUSTER_KINDS", "ClusterSpec", "check_workers", "connect", "make_cluster"]

log = logging.getLogger("fame.sherpa")

#: ``--cluster`` kinds and their dask-jobqueue classes
CLUSTER_KINDS: dict[str, str] = {
    "slurm": "SLURMCluster",
    "pbs": "PBSCluster",
    "sge": "SGECluster",
    "lsf": "LSFCluster",
    "htcondor": "HTCondorCluster",
}


@dataclass(frozen=True)
class ClusterSpec:
    """A batch-system cluster for the generation jobs, built with ``dask-jobqueue``.

    Every batch job is one Dask worker with one core (a Sherpa job is single-threaded).

    Parameters
    ----------
    kind : str
        ``slurm``, ``pbs``, ``sge``, ``lsf`` or ``htcondor``.
    queue, account : str, optional
        Partition / queue and account (project) of the batch jobs.
    walltime : str
        Wall-time limit of each batch job (``HH:MM:SS``); it must cover one generation job.
    memory : str
        Memory of each batch job (Sherpa at Z+5 jets: about 1 GB).
    job_directives : tuple of str
        Extra scheduler directives, e.g. ``--constraint=avx2`` (``job_extra_directives``).
    prologue : tuple of str
        Shell lines run before the worker starts, e.g. ``source /path/to/fame/.venv/bin/activate``.
    python : str, optional
        The Python that runs the Dask worker on the batch nodes (default: this one, for shared file systems).
    local_directory : str, optional
        Scratch folder of the workers on the batch nodes.
    """

    kind: str
    queue: str | None = None
    account: str | None = None
    walltime: str = "24:00:00"
    memory: str = "2GB"
    job_directives: tuple[str, ...] = field(default_factory=tuple)
    prologue: tuple[str, ...] = field(default_factory=tuple)
    python: str | None = None
    local_directory: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in CLUSTER_KINDS:
            raise ValueError(f"cluster kind {self.kind!r}: expected one of {sorted(CLUSTER_KINDS)}")


def make_cluster(spec: ClusterSpec) -> Any:
    """The dask-jobqueue cluster for ``spec`` (no batch job submitted yet: call ``scale``)."""
    import dask_jobqueue

    cls = getattr(dask_jobqueue, CLUSTER_KINDS[spec.kind])
    kwargs: dict[str, Any] = {
        "cores": 1,
        "processes": 1,
        "memory": spec.memory,
        "walltime": spec.walltime,
        "python": spec.python or sys.executable,
        "job_extra_directives": list(spec.job_directives),
        "job_script_prologue": list(spec.prologue),
        "name": "fame-dump",
    }
    if spec.kind != "htcondor":  # HTCondor has no queue/account keywords
        kwargs["queue"] = spec.queue
        kwargs["account"] = spec.account
    elif spec.queue or spec.account:
        raise ValueError("--cluster htcondor takes no queue or account; give HTCondor settings as directives")
    if spec.local_directory:
        kwargs["local_directory"] = spec.local_directory
    return cls(**kwargs)


def connect(
    scheduler: str | None, workers: int | None, cluster: ClusterSpec | None, n_tasks: int
) -> tuple[Client, Any]:
    """A Dask client for ``n_tasks`` tasks and what to close after it (``None`` for a running scheduler).

    ``scheduler``: the address of a running scheduler; ``cluster``: batch jobs for ``workers`` (default
    ``n_tasks``) single-core workers; neither: a ``LocalCluster`` of ``workers`` single-threaded worker
    processes (default one per core, at most ``n_tasks``).
    """
    from distributed import Client, LocalCluster

    if scheduler is not None and cluster is not None:
        raise ValueError("give either --scheduler or --cluster, not both")
    if scheduler is not None:
        client = Client(scheduler, timeout="60s")  # type: ignore[no-untyped-call]
        try:
            client.wait_for_workers(n_workers=1, timeout=120)
        except TimeoutError:
            client.close()  # type: ignore[no-untyped-call]
            raise ValueError(f"no Dask worker joined the scheduler {scheduler} within 120 s") from None
        return client, None
    if cluster is not None:
        jq = make_cluster(cluster)
        jq.scale(jobs=workers or n_tasks)
        log.info("submitted %d %s batch jobs for the Dask workers:\n%s", workers or n_tasks, cluster.kind,
                 jq.job_script())
        return Client(jq), jq  # type: ignore[no-untyped-call]
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    local = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers or max(1, min(cores, n_tasks)),
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    )
    return Client(local), local  # type: ignore[no-untyped-call]


def _worker_probe(module: str) -> str:
    """On a worker: import the task's module (so the first task does not pay for it); where it runs."""
    importlib.import_module(module)
    return os.uname().nodename


def check_workers(client: Client, module: str) -> None:
    """Every worker there now imports ``module`` (the task's) once, or :class:`SherpaDumpError` says why."""
    try:
        client.run(_worker_probe, module)
    except Exception as err:
        raise SherpaDumpError(
            f"a Dask worker cannot run fame's generation task ({type(err).__name__}: {err}); every worker "
            "needs fame installed (the same version as here) and a Sherpa Python (see the README)"
        ) from None
