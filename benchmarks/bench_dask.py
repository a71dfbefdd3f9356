"""Dask scale-out of ``fame train`` (issue 10): wall time for 8 small groups with 1 vs 2 local workers.

Eight reduced groups: the seven Sherpa 3.0.3 reference channels of ``shared/data/sherpa-ee`` (e+e- -> 3/4/5
jets, d d db db, d u db ub, and their + g versions) and e+e- -> u ub g from the built-in exact ME.  Each group
gets ``--points`` points and a small MLP; every run starts a fresh ``LocalCluster`` and a fresh bundle
folder, so the times include cluster start-up, as a user sees them.  By default a task's torch gets the
cores shared among the workers (1 worker: all cores; 2 workers: half each); ``--threads 1`` fixes one thread
per task (pure scale-out).  The machine may be shared: each setting is run ``--repeat`` times, interleaved,
and the best is kept.

Prints one JSON object.
Usage: ``python benchmarks/bench_dask.py [--points 3000] [--epochs 30] [--repeat 2] [--threads 1]``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from fame_surrogate.config import TrainConfig
from fame_surrogate.me import generate_ee
from lhe_tools import read_dump, write_dump
from sherpa_plugin.orchestrate import train_bundle
from sherpa_plugin.train_tasks import usable_cores

SHARED = Path(os.environ.get("FAME_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
SHERPA_FILES = (
    "ee_3j_ycut0.01.npz",
    "ee_4j_ycut0.01.npz",
    "ee_5j_ycut0.01.npz",
    "ee_4q_dddd_ycut0.01.npz",
    "ee_4q_dduu_ycut0.01.npz",
    "ee_5q_ddddg_ycut0.01.npz",
    "ee_5q_dduug_ycut0.01.npz",
)


def make_data(folder: Path, points: int) -> list[str]:
    """Write the 8 groups' dumps into ``folder``; returns the group names."""
    names = []
    for f in SHERPA_FILES:
        b = read_dump(SHARED / "data" / "sherpa-ee" / f).take(slice(0, points))
        write_dump(folder / f, b)
        names.append(b.process)
    u3 = generate_ee([11, -11, 21, 2, -2], points, y_cut=0.01, sqrt_s=1000.0, seed=1)
    write_dump(folder / "ee_3j_u.npz", u3)
    names.append(u3.process)
    return names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads per task (default: the cores shared among the workers)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    config = TrainConfig(model="mlp", epochs=args.epochs, hidden=(32, 32), batch_size=256, patience=1000,
                         threads=args.threads)
    times: dict[int, list[float]] = {1: [], 2: []}
    details: dict[int, dict[str, float]] = {}
    cpu: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="fame-bench-dask-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        groups = make_data(data, args.points)
        for rep in range(args.repeat):
            for workers in (1, 2):
                out = Path(tmp) / f"bundle-{workers}-{rep}"
                t0 = time.perf_counter()
                res = train_bundle([data], out, config, workers=workers, progress=False)
                wall = time.perf_counter() - t0
                if res.trained != len(groups):
                    raise RuntimeError(f"{res.trained} of {len(groups)} groups trained: {res.groups}")
                times[workers].append(wall)
                details[workers] = {g.name: g.seconds for g in res.groups}
                cpu[workers] = sum(
                    json.loads((out / "models" / f"{g.name}.json").read_text())["train"]["cpu_seconds"]
                    for g in res.groups
                )
    best = {w: min(t) for w, t in times.items()}
    print(json.dumps({
        "benchmark": "dask_train_scaleout",
        "groups": len(groups),
        "points_per_group": args.points,
        "epochs": args.epochs,
        "cores": usable_cores(),
        "torch_threads_per_task": args.threads or "cores / workers",
        "wall_s_1_worker": round(best[1], 2),
        "wall_s_2_workers": round(best[2], 2),
        "speedup_2_vs_1": round(best[1] / best[2], 3),
        "all_wall_s": {str(w): [round(x, 2) for x in t] for w, t in times.items()},
        "sum_task_train_s": {str(w): round(sum(d.values()), 2) for w, d in details.items()},
        "sum_task_cpu_s": {str(w): round(c, 2) for w, c in cpu.items()},
        "load_avg_1min": os.getloadavg()[0],
    }))


if __name__ == "__main__":
    main()
