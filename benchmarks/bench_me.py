"""Built-in exact ME (fame_surrogate.me) vs Sherpa 3.0.3 MEProcess (Comix), µs per point, as ratios.

For every Sherpa reference dataset (shared/data/sherpa-ee, y_cut = 0.01, gamma*/Z) the built-in ME is timed
on ``--batch`` of its stored points in one vectorised call (best and median of ``--repeat`` runs, one thread),
and checked against the stored Sherpa me2 on those points.  Sherpa's time per point is taken from
(a) the README table (single core, median of 400 ``MatrixElement()`` calls after warm-up),
(b) the dataset's ``meta["me_ms_per_point"]`` (measured during production, two jobs on two cores), and
(c) with ``--sherpa``: measured now on this machine through ``sherpa_plugin.dump.sherpa_dump`` in eval mode on
``--sherpa-points`` of the same points (needs ``.venv-sherpa``; Sherpa's process set-up is not timed).
``speedup_*`` = Sherpa time / fame time (> 1: fame is faster).

Prints one JSON object.  Usage:
``OMP_NUM_THREADS=1 python benchmarks/bench_me.py [--batch 10000] [--repeat 3] [--sherpa]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _sherpa_now import sherpa_me_time

from fame_surrogate.me import matrix_element, params_from_meta

SHARED = Path(os.environ.get("FAME_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
DATA = SHARED / "data" / "sherpa-ee"

#: dataset -> Sherpa's README table value (ms per MatrixElement() call, one core)
DATASETS = {
    "ee_3j_ycut0.01": ("3 jets (d db g)", 0.0076),
    "ee_4j_ycut0.01": ("4 jets (d db g g)", 0.029),
    "ee_5j_ycut0.01": ("5 jets (d db g g g)", 0.22),
    "ee_4q_dddd_ycut0.01": ("d d db db", 0.029),
    "ee_4q_dduu_ycut0.01": ("d u db ub", 0.022),
    "ee_5q_ddddg_ycut0.01": ("d d db db g", 0.15),
    "ee_5q_dduug_ycut0.01": ("d u db ub g", 0.11),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=10_000, help="points per vectorised call (default 10000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed calls per dataset (default 3)")
    ap.add_argument("--sherpa", action="store_true", help="also measure MEProcess now (needs .venv-sherpa)")
    ap.add_argument("--sherpa-points", type=int, default=400, help="points for the Sherpa measurement")
    ap.add_argument("--only", nargs="*", default=None, help="dataset names (default: all)")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(json.dumps({"error": f"Sherpa reference data not found in {DATA} (set FAME_SHARED)"}))
        return 1
    loaded: dict[str, tuple[np.ndarray, np.ndarray, list[int], dict[str, Any]]] = {}
    for name in DATASETS:
        if args.only and name not in args.only:
            continue
        with np.load(DATA / f"{name}.npz") as data:
            loaded[name] = (
                data["momenta"][: args.batch],
                data["me2"][: args.batch],
                [int(x) for x in data["pdg"]],
                json.loads(str(data["meta"])),
            )
    # round robin over the datasets, so that a burst of load on the shared machine hits all of them alike
    times: dict[str, list[float]] = {name: [] for name in loaded}
    values: dict[str, np.ndarray] = {}
    for mom, _, pdg, meta in loaded.values():
        matrix_element(mom[:64], pdg, params_from_meta(meta))  # warm-up (imports, caches)
    for _ in range(args.repeat):
        for name, (mom, _, pdg, meta) in loaded.items():
            t0 = time.perf_counter()
            values[name] = matrix_element(mom, pdg, params_from_meta(meta))
            times[name].append(time.perf_counter() - t0)
    rows: dict[str, Any] = {}
    for name, (mom, ref, pdg, meta) in loaded.items():
        label, readme_ms = DATASETS[name]
        n = len(mom)
        best_us = 1e6 * min(times[name]) / n
        med_us = 1e6 * statistics.median(times[name]) / n
        rel = np.abs(values[name] / ref - 1.0)
        row: dict[str, Any] = {
            "process": meta["process"],
            "label": label,
            "points": n,
            "fame_us_per_point_best": best_us,
            "fame_us_per_point_median": med_us,
            "max_rel_dev_vs_sherpa": float(rel.max()),
            "sherpa_us_per_point_readme": 1e3 * readme_ms,
            "sherpa_us_per_point_production": 1e3 * float(meta["me_ms_per_point"]),
            "speedup_vs_sherpa_readme": 1e3 * readme_ms / best_us,
            "speedup_vs_sherpa_production": 1e3 * float(meta["me_ms_per_point"]) / best_us,
        }
        if args.sherpa:
            k = min(args.sherpa_points, n)
            try:
                now = sherpa_me_time(name, mom[:k], np.asarray(pdg), ref[:k], meta)
                row["sherpa_us_per_point_now"] = 1e3 * now["ms_per_point"]
                row["speedup_vs_sherpa_now"] = 1e3 * now["ms_per_point"] / best_us
                row["sherpa_wall_s_incl_setup"] = now["wall_s_incl_setup"]
            except Exception as err:  # report, do not hide: the other figures stay valid
                row["sherpa_now_error"] = f"{type(err).__name__}: {err}"
        rows[name] = row
        msg = f"bench_me: {name}: fame {best_us:.2f} us/pt, Sherpa {1e3 * readme_ms:.1f} us/pt"
        print(msg, file=sys.stderr)
    result = {
        "benchmark": "bench_me",
        "what": "built-in exact |M|^2 per point at batch size --batch (one thread) vs Sherpa MEProcess",
        "batch": args.batch,
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
        "datasets": rows,
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
