"""``fame sherpa dump --jobs N``: one Sherpa integration, then N generation jobs as Dask tasks (issue 18).

Flow (hadron beams, Sherpa's weighted events):

1. **integrate once** on the client: the Sherpa-side dumper in mode ``integrate`` writes Sherpa's grids to
   ``OUT/.sherpa/Results.zip`` (or takes them from ``--integration-from``);
2. **generate**: job ``j`` of ``N`` asks for ``points // N`` events (the first ``points % N`` jobs one more)
   with the seed :func:`job_seeds` derives from ``--seed`` and ``j``, and runs as one Dask task: the
   dumper, started from the integration (whose bytes travel with the task), writes its chunks into
   ``OUT/.jobs/job-<j>/`` (resumable per chunk) when the worker sees ``OUT`` (a shared file system), else
   into a scratch folder on the worker, and the task returns the finished dumps;
3. **merge**: ``OUT/<channel>.npz`` concatenates the jobs' dumps of each channel in job order (temporary
   name, then rename), and ``OUT/dump.json`` records per job its seed and events, σ = Σ weight / Σ trials
   over all jobs, and the times.  Only then are the jobs' copies removed.

Rerunning the same command finishes only what is missing: a complete job is not run again, an unfinished
one resumes from its finished chunks.  A job whose Sherpa process dies by a signal is retried once in place
(it resumes); a job whose Dask worker dies is rescheduled by Dask; a job that still fails is reported with
the dumper's message and Sherpa's last words, after the other jobs have finished.  One progress bar (events
done / requested, events/s, ETA) on stderr follows all jobs through Dask's event log.

The cluster: a ``LocalCluster`` with one single-threaded worker process per core (at most ``N``), a running
scheduler (``--scheduler ADDR``), or a batch system through ``dask-jobqueue`` (:mod:`sherpa_plugin.cluster`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lhe_tools import atomic_path

from .cluster import ClusterSpec, check_workers, connect
from .dump import (
    _JOB,
    _RESULTS,
    _WORK,
    JOBS,
    SUMMARY,
    DumpSettings,
    _integration_source,
    check_job_file,
    clear_outputs,
    execute_job,
    install_results,
    write_job_file,
)
from .dump_merge import drop_job_copies, merge_jobs
from .dump_result import DumpResult, GenerationResult, Integration
from .dump_runner import SherpaDumpError, integrated_xs, log_tail, run_dumper
from .sherpa_env import dumper_environment, find_sherpa_python, probe_sherpa
from .sherpa_side.job import DumperResult, DumpJob

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["GenerationSpec", "dump_with_jobs", "generation_task", "job_seeds", "split_points"]

log = logging.getLogger("fame.sherpa")

TOPIC = "fame-dump-progress"
_TASK = ".fame-task.json"
_LOCK = ".fame-lock"
_INTEGRATION = "integration.json"
#: the dumper's progress lines: "events: chunk 3, 1234/5000 events, …" and "events: 1500/5000 done, …"
_PROGRESS = re.compile(r"fame-dumper: events: (?:chunk \d+, )?(\d+)/(\d+)")
#: a job whose Sherpa process was killed (by a signal) is run again this many times, resuming its chunks
SIGNAL_RETRIES = 1

#: environment variables holding the batch job id of a worker started by a batch system
_BATCH_IDS = ("SLURM_JOB_ID", "PBS_JOBID", "JOB_ID", "LSB_JOBID", "CONDOR_JOB_ID")


def job_seeds(seed: int, jobs: int) -> list[int]:
    """Sherpa's ``RANDOM_SEED`` of each job: numpy's ``SeedSequence([seed, j])``, in [1, 10^8).

    The same ``seed`` and ``jobs`` give the same seeds on every machine; other ``seed`` values give
    unrelated ones.  (The dumper adds 7919 per finished chunk on a resume, so they stay small.)
    """
    return [int(np.random.SeedSequence([int(seed), j]).generate_state(1)[0]) % 99_999_999 + 1
            for j in range(jobs)]


def split_points(points: int, jobs: int) -> list[int]:
    """``points`` events over ``jobs`` jobs: ``points // jobs`` each, the first ``points % jobs`` one more."""
    if jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs}")
    if points < jobs:
        raise ValueError(f"{points} events cannot be split over {jobs} jobs; ask for at least one per job")
    base, extra = divmod(points, jobs)
    return [base + (j < extra) for j in range(jobs)]


def _job_dir(out: Path, j: int) -> Path:
    return out / JOBS / f"job-{j:03d}"


# ----------------------------------------------------------------------------------------------- worker


@contextlib.contextmanager
def _locked(folder: Path, what: str, wait_s: float = 60.0) -> Iterator[None]:
    """An exclusive lock on ``folder`` (one dumper per job folder); waits for a dying holder."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / _LOCK).open("a") as fh:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SherpaDumpError(
                        f"{what}: another process has been generating in {folder} for {wait_s:.0f} s "
                        f"(lock {folder / _LOCK} held); stop it or wait for it"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _publisher(token: str, j: int) -> Any:
    """A dumper-line callback that publishes job ``j``'s event count to the client (Dask's event log)."""
    try:
        from distributed import get_worker

        worker: Any = get_worker()
    except ValueError:  # not on a Dask worker (called directly): no client to tell
        worker = None

    def on_line(line: str) -> None:
        m = _PROGRESS.match(line)
        if m and worker is not None:
            worker.log_event(TOPIC, {"token": token, "job": j, "done": int(m.group(1))})
        elif not m:
            log.debug("job %d: %s", j, line)

    return on_line


@dataclass(frozen=True)
class GenerationSpec:
    """One generation job as :func:`dump_with_jobs` hands it to a Dask worker.

    Parameters
    ----------
    job : DumpJob
        The dumper job (its own ``points`` and ``seed``).
    index : int
        The job's index ``j``.
    folder : str
        The job's folder in ``OUT``.
    token : str
        The run's token (also in ``folder/.fame-task.json``, so that a worker that sees ``OUT`` knows it).
    results_zip : bytes
        The integration's ``Results.zip``.
    sherpa_python : str, optional
        The Sherpa Python; ``None``: the worker's own, found as
        :func:`sherpa_plugin.sherpa_env.find_sherpa_python` does.
    settings : dict
        The :class:`sherpa_plugin.dump.DumpSettings`, recorded in the summary.
    """

    job: DumpJob
    index: int
    folder: str
    token: str
    results_zip: bytes
    sherpa_python: str | None
    settings: dict[str, Any]


def generation_task(spec: GenerationSpec) -> GenerationResult:
    """One generation job on a Dask worker: run the dumper from the integration, return its summary.

    Returns
    -------
    GenerationResult
        ``index``, ``summary`` (the job's ``dump.json``), ``worker``, ``host``, ``batch_job`` (the batch
        system's job id when the worker runs in one), ``attempts``, ``seconds``,
        ``shared`` (whether it wrote into ``OUT`` itself) and, when not, ``files``: ``{name: bytes}`` of the
        job's dumps and summary for the client to store.
    """
    t0 = time.perf_counter()
    j, token = spec.index, spec.token
    folder = Path(spec.folder)
    worker_name = "(no Dask worker)"
    with contextlib.suppress(ValueError, ImportError):
        from distributed import get_worker

        worker_name = get_worker().address
    what = f"job {j} (seed {spec.job.seed}, {spec.job.points} events) on {worker_name}"
    marker = folder / _TASK
    shared = marker.is_file() and json.loads(marker.read_text()).get("token") == token
    run_dir = folder if shared else Path(tempfile.gettempdir()) / f"fame-dump-{token}-job{j:03d}"
    try:
        install = probe_sherpa(find_sherpa_python(spec.sherpa_python))
    except Exception as err:
        raise SherpaDumpError(f"{what}: no Sherpa Python on this worker: {err}") from None
    attempts = 0
    with _locked(run_dir, what):
        while True:
            attempts += 1
            try:
                summary = execute_job(run_dir, spec.job, install, settings=spec.settings,
                                      results_zip=spec.results_zip, on_line=_publisher(token, j))
                break
            except SherpaDumpError as err:
                killed = err.exit_code is not None and err.exit_code < 0
                if killed and attempts <= SIGNAL_RETRIES:
                    log.warning("%s: Sherpa was killed (%s); resuming from its finished chunks", what,
                                str(err).splitlines()[0])
                    continue
                tries = f" (attempt {attempts} of {SIGNAL_RETRIES + 1})" if killed else ""
                raise SherpaDumpError(f"{what} failed{tries}: {err}", exit_code=err.exit_code) from None
    res = GenerationResult(
        index=j,
        summary=summary,
        worker=worker_name,
        host=os.uname().nodename,
        batch_job=next((os.environ[v] for v in _BATCH_IDS if os.environ.get(v)), None),
        attempts=attempts,
        seconds=time.perf_counter() - t0,
        shared=shared,
    )
    if not shared:  # the client cannot see this folder: send the finished dumps back
        names = [c.file for c in summary.channels] + [_JOB, SUMMARY]  # the job file: a rerun skips it
        res.files = {name: (run_dir / name).read_bytes() for name in names}
        shutil.rmtree(run_dir, ignore_errors=True)
    return res


# ----------------------------------------------------------------------------------------------- client


def _integrate(out: Path, job: DumpJob, python: Path, env: dict[str, str]) -> Integration:
    """Run the dumper in mode ``integrate`` in ``OUT/.sherpa`` (reading grids there if present)."""
    workdir = out / _WORK
    result = workdir / _INTEGRATION
    runner_file = workdir / "integrate.json"
    runner_file.write_text(job.for_run(workdir, out, result, mode="integrate").dumps())
    t0 = time.perf_counter()
    run_dumper(python, runner_file, workdir, env, out)
    if not result.is_file():
        raise SherpaDumpError(
            f"the Sherpa-side dumper integrated but wrote no summary {result}; Sherpa's last words: "
            f"{' | '.join(log_tail(workdir / 'sherpa.log', 5))}"
        )
    res = Integration(DumperResult.from_json(json.loads(result.read_text())), time.perf_counter() - t0,
                      integrated_xs(workdir / "sherpa.log"))
    with atomic_path(result) as tmp:
        tmp.write_text(json.dumps(res.to_json(), indent=1))
    return res


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dump_with_jobs(
    out: str | os.PathLike[str],
    job: DumpJob,
    settings: DumpSettings,
    *,
    jobs: int,
    scheduler: str | None = None,
    workers: int | None = None,
    cluster: ClusterSpec | None = None,
    sherpa_python: str | os.PathLike[str] | None = None,
    fresh: bool = False,
    integration_from: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> DumpResult:
    """Integrate once, generate in ``jobs`` Dask tasks, merge into one dump per channel in ``out``.

    Called by :func:`sherpa_plugin.dump.sherpa_dump` (``jobs``, ``scheduler``, ``cluster``); ``job`` is
    :func:`sherpa_plugin.dump.build_job`'s.  See the module docstring for the flow and the layout.

    Returns
    -------
    DumpResult
        The summary (``OUT/dump.json``): as a single dump's, plus ``jobs`` (per job ``job``, ``seed``,
        ``events``, ``seconds``, ``sherpa_cpu_seconds``, ``worker``, ``host``, ``batch_job``, ``attempts``),
        ``sum_weights``, ``sum_trials``, ``sigma_pb`` = Σ weight / Σ trials and ``sigma_err_pb`` (all jobs),
        ``sherpa_integrated_pb`` (Sherpa's integration), ``integration_seconds``, ``cluster_start_seconds``,
        ``generation_seconds`` (tasks submitted → all back), ``events_generated`` (this call) and
        ``events_per_second`` (``events_generated / generation_seconds``).

    Raises
    ------
    SherpaDumpError
        Some jobs failed (each with the dumper's message and Sherpa's last words); the others' work is kept
        and a rerun finishes only what is missing.
    """
    t_start = time.perf_counter()
    out = Path(out).resolve()
    if job.mode != "events":
        raise ValueError(
            "--jobs, --workers, --scheduler and --cluster apply to hadron-beam event dumps (Sherpa's "
            f"weighted events); this job's mode is {job.mode!r} (lepton beams: RAMBO points are cheap, "
            "use one process)"
        )
    shares = split_points(job.points, jobs)
    top = dataclasses.replace(job, jobs=int(jobs))
    source = None
    if integration_from is not None:
        source, top = _integration_source(integration_from, top)
    if fresh and out.exists():
        clear_outputs(out)
    done = check_job_file(out, top)
    if done is not None:
        return done
    install = probe_sherpa(find_sherpa_python(sherpa_python))
    write_job_file(out, top)  # first: it marks everything fame then writes into out as the job's (--fresh)
    workdir = out / _WORK
    workdir.mkdir(parents=True, exist_ok=True)

    # 1. one integration
    integration_file = workdir / _INTEGRATION
    if integration_file.is_file() and (workdir / _RESULTS).is_file():
        reused = Integration.from_json(json.loads(integration_file.read_text()))
        integration = dataclasses.replace(reused, seconds=0.0)
    else:
        if source is not None:
            install_results(workdir, source / _WORK / _RESULTS)
        integration = _integrate(out, job, install.python, dumper_environment(install))
    results_zip = (workdir / _RESULTS).read_bytes()

    # 2. the generation jobs
    seeds = job_seeds(job.seed, jobs)
    token = _sha256(f"{out}\n{json.dumps(top.to_json(), sort_keys=True)}".encode())[:16]
    job_settings = asdict(settings)
    finished: dict[int, GenerationResult] = {}
    specs: list[GenerationSpec] = []
    already = 0
    for j in range(jobs):
        folder = _job_dir(out, j)
        job_j = dataclasses.replace(job, points=shares[j], seed=seeds[j], timing_points=0, job=j, jobs=jobs,
                                    base_seed=job.seed, integration_sha256=_sha256(results_zip))
        folder.mkdir(parents=True, exist_ok=True)
        summary = check_job_file(folder, job_j)
        if summary is not None:
            finished[j] = GenerationResult(index=j, summary=summary, worker="(earlier run)", attempts=0,
                                           seconds=0.0, shared=True)
            already += summary.points
            continue
        with atomic_path(folder / _TASK) as tmp:
            tmp.write_text(json.dumps({"token": token, "job": j}))
        already += _chunk_events(folder)
        python = str(install.python.absolute()) if sherpa_python is not None else None
        specs.append(GenerationSpec(job=job_j, index=j, folder=str(folder), token=token,
                                    results_zip=results_zip, sherpa_python=python, settings=job_settings))

    failures: list[str] = []
    n_workers = 0
    t_connect = time.perf_counter()
    gen_seconds = connect_seconds = 0.0
    if specs:
        client, closer = connect(scheduler, workers, cluster, len(specs))
        try:
            n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
            if cluster is None:  # workers that are there now: each imports this module (once) or says why not
                check_workers(client, __name__)
            t_gen = time.perf_counter()
            connect_seconds = t_gen - t_connect
            _run_tasks(client, specs, token, finished, failures, job.points, already, progress, out)
            gen_seconds = time.perf_counter() - t_gen
        finally:
            client.close()  # type: ignore[no-untyped-call]
            if closer is not None:
                closer.close()
    if failures:
        complete = sorted(finished)
        raise SherpaDumpError(
            f"{len(failures)} of {jobs} generation jobs failed; finished jobs {complete} and the failed "
            f"jobs' finished chunks are kept in {out / JOBS}, and rerunning the same command finishes only "
            "what is missing.\n" + "\n".join(failures)
        )

    # 3. merge
    ordered = [finished[j] for j in range(jobs)]
    folders = [_job_dir(out, j) for j in range(jobs)]
    res = merge_jobs(out, ordered, folders, integration, seeds, job.seed)
    res.n_jobs = jobs
    res.workers = n_workers
    res.integration_seconds = integration.seconds
    res.cluster_start_seconds = connect_seconds
    res.generation_seconds = gen_seconds
    res.events_generated = res.points - already
    res.events_per_second = (res.points - already) / gen_seconds if gen_seconds > 0 else None
    res.seconds = time.perf_counter() - t_start
    res.out = str(out)
    res.sherpa_python = str(install.python)
    res.settings = job_settings
    with atomic_path(out / SUMMARY) as tmp:
        tmp.write_text(json.dumps(res.to_json(), indent=1))
    drop_job_copies(folders)
    return res


def _chunk_events(folder: Path) -> int:
    """Events in the finished chunks of an unfinished job folder."""
    total = 0
    for marker in (folder / ".parts").glob("chunk-*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            total += int(json.loads(marker.read_text())["events"])
    return total


def _run_tasks(
    client: Client,
    specs: Sequence[GenerationSpec],
    token: str,
    finished: dict[int, GenerationResult],
    failures: list[str],
    total: int,
    already: int,
    progress: bool,
    out: Path,
) -> None:
    """Submit the jobs, follow them with one bar, store the results of workers that cannot see ``OUT``."""
    from tqdm import tqdm

    running: dict[int, int] = {}  # job -> events done (its own count, finished chunks included)

    def on_event(event: Any) -> None:
        msg = event[1] if isinstance(event, tuple) else event
        if isinstance(msg, dict) and msg.get("token") == token:
            running[int(msg["job"])] = max(running.get(int(msg["job"]), 0), int(msg["done"]))

    client.subscribe_topic(TOPIC, on_event)  # type: ignore[no-untyped-call]
    futures = {
        client.submit(generation_task, spec, key=f"fame-dump-{token}-job{spec.index:03d}", pure=False):
        spec.index
        for spec in specs
    }
    base = sum(f.summary.points for f in finished.values())
    bar = tqdm(total=total, initial=already, desc="events", unit="ev", file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    pending = set(futures)
    with bar:
        while pending:
            time.sleep(0.25)
            done = {f for f in pending if f.done()}  # type: ignore[no-untyped-call]
            pending -= done
            for fut in done:
                j = futures[fut]
                try:
                    res: GenerationResult = fut.result()
                except Exception as err:  # the job failed, or its worker died every time it ran it
                    running.pop(j, None)
                    failures.append(f"job {j}: {type(err).__name__}: {err}")
                    bar.write(f"fame sherpa dump: job {j} failed; the others go on (details at the end)",
                              file=sys.stderr)
                    continue
                if not res.shared:
                    _store_files(_job_dir(out, j), res.files or {})
                    res.files = None
                finished[j] = res
                running.pop(j, None)
                base += res.summary.points
            now = max(base + sum(running.values()), bar.n)
            if now > bar.n:
                bar.update(now - bar.n)
            bar.set_postfix(jobs=f"{len(finished)}/{len(finished) + len(pending) + len(failures)}",
                            failed=len(failures), refresh=False)
    with contextlib.suppress(Exception):
        client.unsubscribe_topic(TOPIC)  # type: ignore[no-untyped-call]


def _store_files(folder: Path, files: Mapping[str, bytes]) -> None:
    """Write a remote job's dumps into its folder (the summary last, so it marks the job complete)."""
    for name, data in sorted(files.items(), key=lambda kv: kv[0] == SUMMARY):
        with atomic_path(folder / name) as tmp:
            tmp.write_bytes(data)
