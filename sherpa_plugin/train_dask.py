"""The client side of Dask training: the scheduler (a running one, trusted, optionally over TLS, or a
``LocalCluster``), the task slots per host, and the submission of every group's load, training (or replica
and merge) tasks of :mod:`sherpa_plugin.train_tasks`, whose results come back as they finish.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lhe_tools.groups import ReducedGroup

from .train_inputs import GroupInput, load_group
from .train_tasks import GroupResult, merge_replicas_task, train_group_task, train_replica_task, usable_cores

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

    from fame_surrogate.config import TrainConfig

__all__ = ["connect", "dask_security", "run_groups", "scheduler_address", "slots_per_host"]

log = logging.getLogger(__name__)


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


def connect(
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


def slots_per_host(client: Client) -> dict[str, int]:
    """Task slots (sum of worker threads) per host, so each task can take its share of that host's cores."""
    slots: dict[str, int] = {}
    for addr, w in client.scheduler_info(n_workers=-1)["workers"].items():
        host = addr.rsplit(":", 1)[0]
        slots[host] = slots.get(host, 0) + int(w.get("nthreads", 1))
    return slots


def run_groups(
    client: Client,
    todo: Sequence[tuple[GroupInput, str]],
    config: TrainConfig,
    slots: Mapping[str, int],
    *,
    progress: bool,
    failed: int = 0,
) -> Iterator[tuple[ReducedGroup, str, GroupResult]]:
    """Submit per group a load task, then one training task (or one per replica plus a merge task).

    Parameters
    ----------
    client : distributed.Client
        The connected client.
    todo : sequence of (GroupInput, str)
        The groups to train and the fingerprint of each (it names the tasks).
    config : TrainConfig
        Training settings; ``replicas > 1`` makes every replica a task of its own.
    slots : mapping of str to int
        Task slots per host (:func:`slots_per_host`).
    progress : bool
        Show a tqdm bar (groups done/running/failed) on stderr.
    failed : int
        Groups that failed before any task ran (counted in the bar).

    Yields
    ------
    (ReducedGroup, str, GroupResult)
        Each group, its fingerprint and its result, as it finishes; a task that could not run at all (the
        worker died) yields a failed result.
    """
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
        bar.set_postfix(done=0, running=min(len(futures), n_slots), failed=failed)
        for fut in as_completed(futures):  # type: ignore[no-untyped-call]
            g, key = by_key[fut.key]
            try:
                res: GroupResult = fut.result()
            except Exception as err:  # the worker died or the task could not run at all
                res = GroupResult.failed(g.name, err)
            yield g, key, res
            n_ok += res.ok
            failed += not res.ok
            bar.update(1)
            bar.set_postfix(done=n_ok, running=min(len(futures) - bar.n, n_slots), failed=failed)
