"""Scale-out of ``fame sherpa dump --jobs`` (issue 18): events/s of a pp dump with 1 and 2 local Dask workers.

One Sherpa integration (pp → e+e- + 1 jet at 13 TeV by default, ``--integration fast``) is made first and
reused by every run, so that all runs time event generation only:

* ``plain``: the single-process dumper (``sherpa_dump`` without Dask, ``--integration-from``), the reference;
* ``jobs1``: ``--jobs 1 --workers 1`` through the Dask task layer (its overhead against ``plain``);
* ``jobs2``: ``--jobs 2 --workers 2``, the same events split over two jobs with derived seeds;
* ``plain2``: two single-process dumpers of half the events each, started at once without Dask: the
  machine's own ceiling for two Sherpa processes (two cores that share caches, memory and the host run each
  process slower than one alone), against which ``jobs2`` is read.

Each is timed end to end (``wall_s``: what a user waits, local cluster start and the grids read once on the
client included) and over the generation phase (``generation_s``: tasks submitted → all back, each job's
Sherpa start-up included).  CPU time is measured too: ``sherpa_cpu_s`` (the Sherpa processes' own CPU time,
from the dumper) and ``cpu_s`` (this process and all its children: Dask workers, Sherpa).  The machine may be
shared: the load average is recorded before and after each run, the runs are interleaved ``--repeat`` times,
and the fastest of each is kept.

Prints one JSON object; ``ratio_2_vs_1`` is events/s with 2 workers over events/s with 1 (generation phase;
``ratio_2_vs_1_wall`` end to end), ``task_layer_overhead`` is plain events/s over ``jobs1`` events/s.
``ceiling_2_vs_1`` is ``plain2``'s events/s over ``plain``'s, what two processes can gain on this
machine at all, and ``scaling_efficiency`` is ``ratio_2_vs_1`` over it (1 = the task layer loses nothing).
``ratio_2_vs_1_cpu_bound`` is the same ratio from CPU times (1 job's Sherpa CPU time over the longer of the 2
jobs'), the speed-up two free cores give: the figure to read when other work shares the machine.
Usage: ``python benchmarks/bench_dump_scaling.py [--events 100000] [--chunk 10000] [--repeat 1]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sherpa_plugin.dump import DumpSettings, sherpa_dump

SETUP: dict[str, Any] = {"process": "93 93 -> 11 -11 93", "beams": (2212, 2212), "sqrt_s": 13000.0,
                         "mll": (66.0, 13000.0), "jet_pt": 20.0}


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(kind: str, root: Path, integ: Path, args: argparse.Namespace, rep: int) -> dict[str, Any]:
    out = root / f"{kind}-{rep}"
    settings = DumpSettings(points=args.events, chunk=args.chunk, integration=args.integration,
                            seed=100 + rep, me_check_every=args.me_check_every)
    load0 = os.getloadavg()
    c0, t0 = _cpu(), time.perf_counter()
    if kind == "plain":
        res = sherpa_dump(out, settings, **SETUP, integration_from=integ).to_json()
    elif kind == "plain2":
        halves = [DumpSettings(points=n, chunk=args.chunk, integration=args.integration,
                               seed=200 + 2 * rep + j, me_check_every=args.me_check_every)
                  for j, n in enumerate((args.events - args.events // 2, args.events // 2))]
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            parts = list(pool.map(lambda js: sherpa_dump(out / f"half-{js[0]}", js[1], **SETUP,
                                                         integration_from=integ).to_json(),
                                  enumerate(halves)))
        res = {"points": sum(int(r["points"]) for r in parts),
               "cpu_seconds": sum(float(r["cpu_seconds"]) for r in parts),
               "job_cpu": [float(r["cpu_seconds"]) for r in parts]}
    else:
        n = 1 if kind == "jobs1" else 2
        res = sherpa_dump(out, settings, **SETUP, integration_from=integ, jobs=n, workers=n,
                          progress=False).to_json()
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    if res["points"] != args.events:
        raise RuntimeError(f"{kind}: {res['points']} events, expected {args.events}")
    row: dict[str, Any] = {
        "events": res["points"],
        "wall_s": wall,
        "events_per_s_wall": res["points"] / wall,
        "cpu_s": cpu,
        "load_before": [round(x, 2) for x in load0],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    if kind in ("plain", "plain2"):
        row.update(generation_s=wall, events_per_s=res["points"] / wall,
                   sherpa_cpu_s=res.get("cpu_seconds"))
        if kind == "plain2":
            row["job_sherpa_cpu_s"] = res["job_cpu"]
    else:
        row.update(
            generation_s=res["generation_seconds"],
            events_per_s=res["events_per_second"],
            cluster_start_s=res["cluster_start_seconds"],
            grids_read_s=res["integration_seconds"],
            sherpa_cpu_s=res["sherpa_cpu_seconds"],
            job_seconds=[j["seconds"] for j in res["jobs"]],
            job_sherpa_cpu_s=[j["sherpa_cpu_seconds"] for j in res["jobs"]],
        )
    sherpa_cpu = row["sherpa_cpu_s"]
    row["sherpa_cpu_ms_per_event"] = 1e3 * sherpa_cpu / res["points"] if sherpa_cpu else None
    print(json.dumps({kind: row}), file=sys.stderr, flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100000, help="weighted events per run (default 100000)")
    ap.add_argument("--chunk", type=int, default=10000)
    ap.add_argument("--integration", default="fast", choices=("fast", "medium", "sherpa"))
    ap.add_argument("--me-check-every", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="interleaved repetitions; the fastest is kept")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    best: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="fame-bench-dump-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        sherpa_dump(root / "integration", DumpSettings(points=100, chunk=100, integration=args.integration),
                    **SETUP)
        integration_s = time.perf_counter() - t0
        for rep in range(args.repeat):
            for kind in ("plain", "jobs1", "jobs2", "plain2"):
                row = run(kind, root, root / "integration", args, rep)
                if kind not in best or row["events_per_s"] > best[kind]["events_per_s"]:
                    best[kind] = row
    one, two, plain, plain2 = best["jobs1"], best["jobs2"], best["plain"], best["plain2"]
    ceiling = plain2["events_per_s"] / plain["events_per_s"]
    print(json.dumps({
        "setup": {**{k: list(v) if isinstance(v, tuple) else v for k, v in SETUP.items()},
                  "integration": args.integration, "events": args.events, "chunk": args.chunk,
                  "me_check_every": args.me_check_every, "repeat": args.repeat,
                  "cores": len(os.sched_getaffinity(0)), "integration_s": integration_s},
        "plain": plain,
        "jobs1": one,
        "jobs2": two,
        "plain2": plain2,
        "ratio_2_vs_1": two["events_per_s"] / one["events_per_s"],
        "ceiling_2_vs_1": ceiling,
        "scaling_efficiency": two["events_per_s"] / one["events_per_s"] / ceiling,
        "ratio_2_vs_1_wall": two["events_per_s_wall"] / one["events_per_s_wall"],
        # load-independent: if every job had a core of its own (wall = CPU), 2 jobs would take the longer
        # job's Sherpa CPU time where 1 job takes all of it
        "ratio_2_vs_1_cpu_bound": one["sherpa_cpu_s"] / max(two["job_sherpa_cpu_s"]),
        "task_layer_overhead": plain["events_per_s"] / one["events_per_s"],
        "task_layer_overhead_wall": plain["events_per_s_wall"] / one["events_per_s_wall"],
        "sherpa_cpu_ms_per_event": {k: best[k]["sherpa_cpu_ms_per_event"] for k in best},
    }, indent=1))


if __name__ == "__main__":
    main()
