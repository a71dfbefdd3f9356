"""``fame sherpa dump --jobs N``: one integration, N generation jobs on Dask, one dump per channel (issue 18).

Real Sherpa 3.0.3 throughout (pp → e+e- + 1 jet, fast integration, a few hundred events per job).  Truths:
Sherpa's own integrated cross section, the plain single-process dumper run with a job's derived seed on
the same integration (it must give the job's events bit for bit), exact event counts, and σ recomputed
from the merged files.  The kill tests SIGKILL processes this test started (found by their job file).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lhe_tools.dump import read_dump
from sherpa_plugin.cli import build_parser
from sherpa_plugin.cluster import CLUSTER_KINDS, ClusterSpec, make_cluster
from sherpa_plugin.commands._options import config_from_args
from sherpa_plugin.commands.sherpa import CLUSTER_OPTIONS
from sherpa_plugin.dump import DumpSettings, sherpa_dump
from sherpa_plugin.dump_jobs import job_seeds, split_points
from sherpa_plugin.dump_runner import SherpaDumpError

REPO = Path(__file__).resolve().parents[2]
ZJ = {"process": "93 93 -> 11 -11 93", "beams": (2212, 2212), "sqrt_s": 13000.0, "mll": (66.0, 13000.0),
      "jet_pt": 20.0}
ZJ_CLI = ["--process", "93 93 -> 11 -11 93", "--beams", "2212", "2212", "--sqrt-s", "13000", "--mll", "66",
          "13000", "--jet-pt", "20", "--integration", "fast"]


# ------------------------------------------------------------------------------------------- no Sherpa


def test_job_seeds_are_reproducible_distinct_and_follow_the_seed() -> None:
    assert job_seeds(7, 4) == job_seeds(7, 4)
    assert len(set(job_seeds(7, 64))) == 64
    assert job_seeds(7, 4)[:2] == job_seeds(7, 2)  # job j's seed does not depend on the number of jobs
    assert not set(job_seeds(7, 8)) & set(job_seeds(8, 8))
    assert all(1 <= s < 100_000_000 for s in job_seeds(123456789, 16))


def test_split_points_is_exact() -> None:
    assert split_points(10, 3) == [4, 3, 3]
    assert split_points(9, 3) == [3, 3, 3]
    assert sum(split_points(1_000_003, 7)) == 1_000_003
    with pytest.raises(ValueError, match="2 events cannot be split over 3 jobs"):
        split_points(2, 3)
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        split_points(10, 0)


def test_jobs_need_hadron_beams(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="apply to hadron-beam event dumps"):
        sherpa_dump(tmp_path, DumpSettings(points=100, y_cut=0.01), process="11 -11 -> 1 -1 21", jobs=2)


def test_cluster_kinds_of_the_cli_are_the_jobqueue_ones() -> None:
    dump = build_parser()._subparsers._group_actions[0].choices["sherpa"]  # type: ignore[union-attr]
    dump = dump._subparsers._group_actions[0].choices["dump"]  # type: ignore[union-attr]
    choices = next(a.choices for a in dump._actions if a.dest == "cluster")
    assert choices is not None and sorted(choices) == sorted(CLUSTER_KINDS)
    with pytest.raises(ValueError, match="cluster kind 'k8s'"):
        ClusterSpec(kind="k8s")


def test_slurm_cluster_wiring_from_the_command_line() -> None:
    """No Slurm here: the CLI options reach dask-jobqueue's SLURMCluster and its (unsubmitted) script."""
    args = build_parser().parse_args([
        "sherpa", "dump", *ZJ_CLI, "--points", "1000", "--out", "x", "--jobs", "4", "--cluster", "slurm",
        "--cluster-queue", "short", "--cluster-account", "hep", "--cluster-walltime", "01:30:00",
        "--cluster-memory", "3GB", "--cluster-directive=--constraint=avx2", "--cluster-prologue",
        "source /opt/fame/.venv/bin/activate", "--cluster-python", "/opt/fame/.venv/bin/python",
    ])
    spec = config_from_args(ClusterSpec, args, CLUSTER_OPTIONS, kind=args.cluster)  # as run_dump builds it
    assert spec == ClusterSpec(kind="slurm", queue="short", account="hep", walltime="01:30:00", memory="3GB",
                               job_directives=("--constraint=avx2",),
                               prologue=("source /opt/fame/.venv/bin/activate",),
                               python="/opt/fame/.venv/bin/python")
    cluster = make_cluster(spec)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p short", "#SBATCH -A hep", "#SBATCH -t 01:30:00", "#SBATCH -n 1",
                 "#SBATCH --cpus-per-task=1", "#SBATCH --constraint=avx2",
                 "source /opt/fame/.venv/bin/activate",
                 "/opt/fame/.venv/bin/python -m distributed.cli.dask_worker"):
        assert line in script, (line, script)
    assert "--nthreads 1" in script and "--memory-limit 2.79GiB" in script


def test_cluster_options_without_cluster_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    from sherpa_plugin.cli import main

    code = main(["sherpa", "dump", *ZJ_CLI, "--points", "10", "--out", "x", "--cluster-queue", "short"])
    assert code == 1 and "--cluster-* options need --cluster KIND" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ with Sherpa


def _slurm_reachable() -> str | None:
    """Why no Slurm can take jobs here (``None``: a controller answers and a node is idle or mixed)."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "no Slurm commands (scripts/slurm-single-node installs and starts a single-node Slurm)"
    try:
        res = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10,
                             check=False)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer in 10 s"
    states = set(res.stdout.split())
    if res.returncode != 0 or not states & {"idle", "mixed"}:
        return f"no Slurm controller with an idle node ({(res.stderr or res.stdout).strip() or states})"
    return None


def _events(out: Path, res: dict[str, Any]) -> dict[str, np.ndarray]:
    batches = [read_dump(out / c["file"]) for c in res["channels"]]
    return {
        "momenta": np.concatenate([b.momenta.reshape(len(b.momenta), -1) for b in batches]),
        "weight": np.concatenate([b.weight for b in batches]),
        "trials": np.concatenate([b.trials for b in batches]),
    }


def _sigma(ev: dict[str, np.ndarray]) -> float:
    return float(ev["weight"].sum() / ev["trials"].sum())


def _assert_exact(out: Path, res: dict[str, Any], points: int, jobs: int) -> dict[str, np.ndarray]:
    """Counts add up (files, channels, jobs), σ = Σw/Σtrials of the files, no event twice."""
    ev = _events(out, res)
    assert res["points"] == len(ev["weight"]) == points
    assert [j["events"] for j in res["jobs"]] == split_points(points, jobs)
    assert [j["seed"] for j in res["jobs"]] == job_seeds(res["settings"]["seed"], jobs)
    assert res["sum_trials"] == ev["trials"].sum()
    assert res["sigma_pb"] == pytest.approx(_sigma(ev), rel=1e-12)
    assert len(np.unique(ev["momenta"][:, 8:], axis=0)) == points  # every event once (outgoing momenta)
    summary = json.loads((out / "dump.json").read_text())
    assert summary["points"] == points and summary["sigma_pb"] == res["sigma_pb"]
    assert not list(out.glob(".jobs/*/*.npz")) and not list(out.glob(".jobs/*/.parts"))
    return ev


@pytest.fixture(scope="module")
def two_jobs(sherpa_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("jobs2")
    res = sherpa_dump(out, DumpSettings(points=301, chunk=100, integration="fast", seed=21), **ZJ,  # type: ignore[arg-type]
                      sherpa_python=sherpa_python, jobs=2, workers=2, progress=False).to_json()
    return out, res


@pytest.mark.sherpa
def test_two_local_jobs_merge_into_one_dump_per_channel(two_jobs: tuple[Path, dict[str, Any]]) -> None:
    out, res = two_jobs
    ev = _assert_exact(out, res, 301, 2)
    assert res["n_jobs"] == 2 and res["workers"] == 2
    assert len({j["worker"] for j in res["jobs"]}) == 2  # one job per local worker
    assert len(res["sherpa_channels"]) == 15 and {c["process"] for c in res["channels"]} <= {
        c["process"] for c in res["sherpa_channels"]}
    # Sherpa integrated once, in OUT/.sherpa; the jobs read its grids
    assert "Starting the calculation" in (out / ".sherpa" / "sherpa.log").read_text()
    for j in range(2):
        assert "Starting the calculation" not in (out / ".jobs" / f"job-{j:03d}" / ".sherpa" / "sherpa.log"
                                                  ).read_text()
    (xs, xs_err), = res["sherpa_integrated_pb"].values()
    n = ev["trials"].sum()
    err = np.sqrt(max((ev["weight"] ** 2).sum() / n - _sigma(ev) ** 2, 0.0) / n)
    assert res["sigma_err_pb"] == pytest.approx(err, rel=1e-9)
    assert abs(res["sigma_pb"] - xs) < 5 * np.hypot(err, xs_err)
    for c in res["channels"]:
        b = read_dump(out / c["file"])
        assert b.process == c["process"] and len(b.me2) == c["points"]
        np.testing.assert_allclose(b.weight, b.ps_weight * b.me2, rtol=1e-12)
        assert b.meta["seed"] == 21 and sum(j["events"] for j in b.meta["jobs"]) == c["points"]
        assert b.meta["me2_vs_sherpa_meweight_max_rel_dev"] < 1e-10


@pytest.mark.sherpa
def test_a_job_is_the_plain_dumper_with_its_derived_seed(
    two_jobs: tuple[Path, dict[str, Any]], sherpa_python: Path, tmp_path: Path
) -> None:
    """Job 1 = ``sherpa_dump`` with seed ``job_seeds(21, 2)[1]`` from the same integration, bit for bit."""
    out, res = two_jobs
    plain = sherpa_dump(tmp_path / "plain", DumpSettings(points=150, chunk=100, integration="fast",
                                                         seed=job_seeds(21, 2)[1]),
                        **ZJ, sherpa_python=sherpa_python, integration_from=out).to_json()  # type: ignore[arg-type]
    merged = {c["process"]: read_dump(out / c["file"]) for c in res["channels"]}
    n_plain = 0
    for c in plain["channels"]:
        b = read_dump(tmp_path / "plain" / c["file"])
        m = merged[c["process"]]
        n0 = next(j["events"] for j in m.meta["jobs"] if j["job"] == 0) if any(
            j["job"] == 0 for j in m.meta["jobs"]) else 0
        np.testing.assert_array_equal(m.momenta[n0:], b.momenta)
        np.testing.assert_array_equal(m.weight[n0:], b.weight)
        n_plain += len(b.weight)
    assert n_plain == 150


@pytest.mark.sherpa
def test_rerun_of_a_complete_jobs_dump_is_a_no_op_and_other_splits_are_refused(
    two_jobs: tuple[Path, dict[str, Any]], sherpa_python: Path
) -> None:
    out, res = two_jobs
    settings = DumpSettings(points=301, chunk=100, integration="fast", seed=21)
    again = sherpa_dump(out, settings, **ZJ, sherpa_python=sherpa_python, jobs=2, progress=False).to_json()  # type: ignore[arg-type]
    assert again == json.loads((out / "dump.json").read_text()) and again["points"] == res["points"]
    with pytest.raises(ValueError, match="different dump job"):
        sherpa_dump(out, settings, **ZJ, sherpa_python=sherpa_python, jobs=3, progress=False)  # type: ignore[arg-type]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_dask(
    tmp: Path, worker_prefix: list[str] | None = None
) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A ``dask scheduler`` and one ``dask worker`` (1 thread) on loopback, as separate processes."""
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    logs = {"stdout": (tmp / "dask.log").open("ab"), "stderr": subprocess.STDOUT}
    sched = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                              "--dashboard-address", "127.0.0.1:0"], start_new_session=True, **logs)  # type: ignore[call-overload]
    worker = subprocess.Popen([*(worker_prefix or []), dask, "worker", addr, "--nthreads", "1",
                               "--nworkers", "1", "--dashboard-address", "127.0.0.1:0", "--local-directory",
                               str(tmp / "w")],
                              start_new_session=True, **logs)  # type: ignore[call-overload]
    return addr, [worker, sched]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@pytest.mark.sherpa
@pytest.mark.slow
def test_dump_through_a_separate_dask_scheduler_and_worker(
    sherpa_python: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sherpa_plugin.cli import main

    addr, procs = _start_dask(tmp_path)
    try:
        out = tmp_path / "out"
        code = main(["sherpa", "dump", *ZJ_CLI, "--points", "200", "--chunk", "100", "--seed", "5", "--jobs",
                     "2", "--scheduler", addr, "--sherpa-python", str(sherpa_python), "--out", str(out),
                     "--json"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
    finally:
        _stop(procs)
    res = json.loads(captured.out)
    assert res["points"] == 200 and res["n_jobs"] == 2 and res["workers"] == 1
    assert {j["worker"] for j in res["jobs"]} != {"(earlier run)"}
    assert all(j["worker"].startswith("tcp://127.0.0.1:") and j["events"] == 100 for j in res["jobs"])
    full = json.loads((out / "dump.json").read_text())
    _assert_exact(out, full, 200, 2)
    assert "events" in captured.err  # the progress bar


@pytest.mark.sherpa
@pytest.mark.slow
def test_a_worker_without_the_output_folder_sends_the_dumps_back(sherpa_python: Path, tmp_path: Path) -> None:
    """The worker runs in a mount namespace where OUT's parent is an empty tmpfs (no shared file system)."""
    hidden = tmp_path / "client-only"
    hidden.mkdir()
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs none {hidden} && true"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a private mount namespace here: {probe.stderr.decode().strip()}")
    prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c",
              f'mount -t tmpfs none {hidden} && exec "$0" "$@"']
    addr, procs = _start_dask(tmp_path, prefix)
    out = hidden / "out"
    try:
        res = sherpa_dump(out, DumpSettings(points=120, chunk=60, integration="fast", seed=8), **ZJ,  # type: ignore[arg-type]
                          sherpa_python=sherpa_python, jobs=2, scheduler=addr, progress=False).to_json()
    finally:
        _stop(procs)
    _assert_exact(out, res, 120, 2)
    # the worker wrote nothing into OUT (it could not see it): its scratch folders were elsewhere
    assert not (out / ".jobs" / "job-000" / ".sherpa").exists()
    assert (out / ".jobs" / "job-000" / "dump.json").is_file()
    assert (out / ".jobs" / "job-000" / ".fame-job.json").is_file()  # so that a rerun would not redo the job


def _pids_running(job_file: Path) -> list[int]:
    """Processes (started by this test) whose command line names ``job_file``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(job_file).encode() in cmd and b"sherpa_side.dumper" in cmd:
                pids.append(int(proc.name))
    return pids


def _wait_for(pred: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _start_until_first_chunk(
    out: Path, sherpa_python: Path, points: int, seed: int
) -> tuple[subprocess.Popen[bytes], Path, list[int]]:
    """Start ``fame sherpa dump --jobs 2`` (chunks of 100) in its own session and wait until job 0 has
    finished a chunk: the process, job 0's runner job file, and the pids of job 0's dumper."""
    job0 = out / ".jobs" / "job-000"
    job_file = job0 / ".sherpa" / "job.json"
    proc = subprocess.Popen(_dump_cmd(out, sherpa_python, points, 100, seed), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        pids = _wait_for(
            lambda: (job0 / ".parts" / "chunk-00000.json").is_file() and _pids_running(job_file),
            240, "job 0's first chunk",
        )
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return proc, job_file, list(pids)


def _dump_cmd(out: Path, sherpa_python: Path, points: int, chunk: int, seed: int) -> list[str]:
    return [str(Path(sys.executable).parent / "fame"), "sherpa", "dump", *ZJ_CLI, "--points", str(points),
            "--chunk", str(chunk), "--seed", str(seed), "--jobs", "2", "--workers", "2", "--sherpa-python",
            str(sherpa_python), "--out", str(out), "--json", "--no-progress"]


@pytest.mark.sherpa
@pytest.mark.slow
def test_killed_command_resumes_with_exact_counts_and_sigma(sherpa_python: Path, tmp_path: Path) -> None:
    """SIGKILL the whole command (client, Dask workers, Sherpa) mid-run; the rerun finishes the rest."""
    out = tmp_path / "out"
    cmd = _dump_cmd(out, sherpa_python, 2000, 100, 31)
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: list(out.glob(".jobs/job-*/.parts/chunk-00001.json")) or proc.poll() is not None,
                  240, "a second finished chunk")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (out / "dump.json").exists() and not list(out.glob("*.npz"))
    kept: dict[str, np.ndarray] = {}
    for part in out.glob(".jobs/job-*/.parts/*/part-00000.npz"):
        with np.load(part) as npz:
            kept[str(part)] = npz["momenta"].reshape(len(npz["momenta"]), -1)
    assert kept, "no finished chunk survived the kill"
    done = sum(json.loads(m.read_text())["events"] for m in out.glob(".jobs/job-*/.parts/chunk-*.json"))
    assert 0 < done < 2000
    res = sherpa_dump(out, DumpSettings(points=2000, chunk=100, integration="fast", seed=31), **ZJ,  # type: ignore[arg-type]
                      sherpa_python=sherpa_python, jobs=2, workers=2, progress=False).to_json()
    ev = _assert_exact(out, res, 2000, 2)
    assert res["events_generated"] == 2000 - done and res["integration_seconds"] == 0.0  # integrated once
    rows = {r.tobytes() for r in ev["momenta"]}
    assert all(r.tobytes() in rows for mom in kept.values() for r in mom)  # the chunks done before the kill


@pytest.mark.sherpa
@pytest.mark.slow
def test_killed_sherpa_is_retried_then_reported_and_the_rerun_completes(
    sherpa_python: Path, tmp_path: Path
) -> None:
    """Job 0's Sherpa is killed: retried once (resuming); killed again: reported with Sherpa's last words
    while job 1 completes; the rerun finishes job 0 with exact counts and σ."""
    out = tmp_path / "out"
    job0 = out / ".jobs" / "job-000"
    proc, job_file, first = _start_until_first_chunk(out, sherpa_python, 2400, 41)
    try:
        os.kill(first[0], signal.SIGKILL)
        second = _wait_for(lambda: [p for p in _pids_running(job_file) if p not in first], 120,
                           "job 0's retry")
        n_before = len(list((job0 / ".parts").glob("chunk-*.json")))
        _wait_for(lambda: len(list((job0 / ".parts").glob("chunk-*.json"))) > n_before, 120,
                  "a chunk of the retry")
        os.kill(second[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err = stderr.decode()
    assert proc.returncode == 1, err
    assert "1 of 2 generation jobs failed" in err and "job 0" in err and "attempt 2 of 2" in err
    assert "killed by signal SIGKILL" in err and "Sherpa's last words" in err
    assert (out / ".jobs" / "job-001" / "dump.json").is_file()  # the other job finished
    assert not (out / "dump.json").exists()
    res = sherpa_dump(out, DumpSettings(points=2400, chunk=100, integration="fast", seed=41), **ZJ,  # type: ignore[arg-type]
                      sherpa_python=sherpa_python, jobs=2, workers=2, progress=False).to_json()
    _assert_exact(out, res, 2400, 2)
    assert res["jobs"][1]["worker"] == "(earlier run)" and res["jobs"][0]["attempts"] == 1


@pytest.mark.sherpa
def test_job_failure_carries_sherpas_words(sherpa_python: Path, tmp_path: Path) -> None:
    """A setup Sherpa cannot build fails at the one integration, with Sherpa's own message."""
    with pytest.raises(SherpaDumpError, match="No hard process found"):
        sherpa_dump(tmp_path / "bad", DumpSettings(points=10, integration="fast"), process="2 2 -> 11 -11 21",
                    beams=(2212, 2212), sqrt_s=13000.0, mll=(66.0, 13000.0), sherpa_python=sherpa_python,
                    jobs=2, progress=False)
    assert not (tmp_path / "bad" / ".jobs").exists()  # no generation job was started


@pytest.mark.sherpa
@pytest.mark.slow
def test_killed_dask_worker_is_rescheduled_and_the_run_completes(sherpa_python: Path, tmp_path: Path) -> None:
    """SIGKILL the Dask worker process running job 0: its Sherpa dies with it, Dask reruns the task on a
    worker (the nanny's new one or the other), which resumes from job 0's finished chunks."""
    out = tmp_path / "out"
    proc, _, (dumper, *_) = _start_until_first_chunk(out, sherpa_python, 2000, 51)
    try:
        worker = int(Path(f"/proc/{dumper}/stat").read_text().rsplit(")", 1)[1].split()[1])  # its parent
        assert worker != proc.pid
        os.kill(worker, signal.SIGKILL)
        _wait_for(lambda: not Path(f"/proc/{dumper}").exists() or
                  "Z" in Path(f"/proc/{dumper}/stat").read_text().rsplit(")", 1)[1].split()[0], 30,
                  "the orphaned Sherpa to die with its worker")
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, stderr.decode()
    res = json.loads(stdout)
    assert res["points"] == 2000 and [j["events"] for j in res["jobs"]] == [1000, 1000]
    _assert_exact(out, json.loads((out / "dump.json").read_text()), 2000, 2)


@pytest.mark.sherpa
@pytest.mark.slow
def test_jobs_on_a_real_slurm_through_dask_jobqueue(
    sherpa_python: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--cluster slurm``: the workers are Slurm batch jobs (their SLURM_JOB_ID is recorded per job)."""
    from conftest import NO_SLURM

    why = _slurm_reachable()
    if why:
        print(f"Slurm: {why}", file=sys.stderr)
        pytest.skip(NO_SLURM)
    monkeypatch.chdir(tmp_path)  # the batch jobs' slurm-N.out logs land in the working directory
    from sherpa_plugin.cli import main

    out = tmp_path / "out"
    code = main(["sherpa", "dump", *ZJ_CLI, "--points", "200", "--chunk", "100", "--seed", "6", "--jobs", "2",
                 "--cluster", "slurm", "--workers", "2", "--cluster-walltime", "00:15:00", "--cluster-memory",
                 "1GB", "--sherpa-python", str(sherpa_python), "--out", str(out), "--json", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    res = json.loads(captured.out)
    assert res["points"] == 200 and res["n_jobs"] == 2
    assert all(j["batch_job"] and j["batch_job"].isdigit() for j in res["jobs"]), res["jobs"]
    _assert_exact(out, json.loads((out / "dump.json").read_text()), 200, 2)


@pytest.mark.sherpa
@pytest.mark.slow
def test_unfinished_jobs_are_cut_short_by_a_rerun_with_fewer_events(
    sherpa_python: Path, tmp_path: Path
) -> None:
    """As for one process: a rerun asking for fewer events keeps every finished chunk, generates no more."""
    out = tmp_path / "out"
    proc = subprocess.Popen(_dump_cmd(out, sherpa_python, 100000, 100, 61), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: len(list(out.glob(".jobs/job-*/.parts/chunk-00000.json"))) == 2, 240,
                  "a finished chunk in both jobs")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = [sum(json.loads(m.read_text())["events"] for m in out.glob(f".jobs/job-00{j}/.parts/chunk-*.json"))
            for j in range(2)]
    res = sherpa_dump(out, DumpSettings(points=200, chunk=100, integration="fast", seed=61), **ZJ,  # type: ignore[arg-type]
                      sherpa_python=sherpa_python, jobs=2, workers=2, progress=False).to_json()
    assert [j["events"] for j in res["jobs"]] == done and res["points"] == sum(done) >= 200
    assert res["events_generated"] == 0
    ev = _events(out, res)
    assert len(np.unique(ev["momenta"][:, 8:], axis=0)) == sum(done)
    assert res["sigma_pb"] == pytest.approx(_sigma(ev), rel=1e-12)
    with pytest.raises(ValueError, match="different dump job"):  # asking for more again is another job
        sherpa_dump(out, DumpSettings(points=100000, chunk=100, integration="fast", seed=61), **ZJ,  # type: ignore[arg-type]
                    sherpa_python=sherpa_python, jobs=2, progress=False)
