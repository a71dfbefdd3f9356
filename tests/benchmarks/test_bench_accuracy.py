"""``benchmarks/bench_accuracy.py``'s replica pool: its workers end with the benchmark that spawned them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# a parent that starts a one-worker pool as train_parallel does, gives the worker a long task, writes the
# worker's pid and then dies by SIGKILL, with no chance to shut its pool down
PARENT = """
import multiprocessing, os, signal, sys, time
from concurrent.futures import ProcessPoolExecutor
sys.path.insert(0, {bench!r})
from bench_accuracy import follow_parent
if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=follow_parent,
                               initargs=(os.getpid(),))
    pid = pool.submit(os.getpid).result()
    pool.submit(time.sleep, 120)
    time.sleep(0.5)
    with open({pid_file!r}, "w") as f:
        f.write(str(pid))
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its new parent, counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux only")
def test_a_replica_worker_ends_when_the_benchmark_is_killed(tmp_path: Path) -> None:
    pid_file, log = tmp_path / "worker.pid", tmp_path / "parent.log"
    script = PARENT.format(bench=str(REPO / "benchmarks"), pid_file=str(pid_file))
    # output to a file, not a pipe: a surviving worker would hold a pipe open and hang the run
    with log.open("w") as out:
        run = subprocess.run([sys.executable, "-c", script], stdout=out, stderr=out, timeout=300)
    assert run.returncode == -9, log.read_text()[-2000:]
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 20.0
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _alive(pid)
    if alive:  # do not leave it behind when the check fails
        os.kill(pid, 9)
    assert not alive, f"worker {pid} still runs after its parent was killed"
