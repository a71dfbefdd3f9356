"""pp surrogates side by side: the dipole model and the MLP, same events, same CPU budget, scored on an
independent Sherpa run (issue 16).

Trains each ``--models`` kind with :func:`fame_surrogate.train.train_surrogate` on ``--train`` (default: the
shared g u → e+e- g g g u set, 200k Sherpa weighted events; ``--max-points`` takes a seeded subset) with a
budget of ``--budget`` CPU seconds (``TrainConfig(clock="cpu")``, all threads, so the kinds compare fairly
on a loaded machine), exports each to ONNX and scores it **through ONNX Runtime** on ``--val`` (an
independent Sherpa run of the same setup):

* pointwise: the fractions of points within 0.1% / 1% / 10% (the L-GATr metric) and the median |Δ|;
* unweighting: :func:`sherpa_plugin.validate.validate` with Sherpa's recorded CPU times (t_ME, t_PS), i.e.
  ε_full, ε_1, ε_2, f_eff, f_ideal and f_eff/f_ideal; t_surr is ONNX Runtime's batched time here.

``--set KEY=VALUE`` overrides a TrainConfig field for every model (``--set-dipole``/``--set-mlp`` for one).
Prints one JSON object.  Usage::

    .venv/bin/python benchmarks/bench_pp_accuracy.py --budget 900 --threads 2
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_accuracy import overrides  # the --set KEY=VALUE parser (this folder is on sys.path)
from bench_gain import OnnxPredictor

from fame_surrogate.export import OnnxSurrogate, export_onnx
from fame_surrogate.metrics import accuracy
from fame_surrogate.train import TrainConfig, train_surrogate
from lhe_tools import EventBatch, read_dump
from sherpa_plugin.validate import ValidateConfig, validate

SHARED = Path(os.environ.get("FAME_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PP = SHARED / "data" / "sherpa-pp"


def one_model(
    kind: str, train: EventBatch, val: EventBatch, args: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    changes = overrides(args.set + (args.set_dipole if kind == "dipole" else args.set_mlp))
    config = TrainConfig(
        model=kind,
        max_seconds=args.budget,
        clock="cpu",
        threads=args.threads,
        seed=args.seed,
        max_points=args.max_points,
        verbose=args.verbose,
        **changes,
    )
    cpu0 = time.process_time()
    res = train_surrogate(train, config)
    cpu = time.process_time() - cpu0
    path = export_onnx(
        res.model, tmp / f"{kind}.onnx", {"process": train.process, "sqrt_s": train.meta.get("sqrt_s")}
    )
    onnx_model = OnnxSurrogate(path, threads=1)
    pred, _ = onnx_model.predict(val.momenta)
    acc = accuracy(pred, val.me2)
    r = validate(
        OnnxPredictor(onnx_model),
        [val],
        None,
        ValidateConfig(recorded_times="cpu", report=False, seed=args.seed, timing_points=args.timing_points),
    )
    row = {
        "model": kind,
        "config": {
            k: v
            for k, v in config.to_dict().items()
            if k in ("hidden", "batch_size", "lr", "penalty_j", "weight_power", "dtype", "max_points")
            or k in changes
        },
        "train_cpu_s": cpu,
        "train_wall_s": res.seconds,
        "epochs": res.metrics["epochs"],
        "stopped": res.metrics["stopped"],
        "n_train": res.metrics["n_train"],
        "frac_within_0p1pct": acc["frac_within_0p1pct"],
        "frac_within_1pct": acc["frac_within_1pct"],
        "frac_within_10pct": acc["frac_within_10pct"],
        "median_abs_rel_dev": acc["median_abs_rel_dev"],
        **{
            k: r[k]
            for k in ("eps_full", "eps_1", "eps_2", "f_eff", "f_ideal", "t_me_ms", "t_ps_ms", "t_surr_ms")
        },
        # closure of the unweighted sample against the weighted validation run (None: too few events)
        **{k: r.get(k) for k in ("closure_min_p", "sigma_pull")},
    }
    row["f_eff_over_ideal"] = row["f_eff"] / row["f_ideal"]
    print(
        json.dumps(
            {
                k: row[k]
                for k in (
                    "model",
                    "median_abs_rel_dev",
                    "frac_within_1pct",
                    "eps_2",
                    "f_eff",
                    "f_eff_over_ideal",
                )
            }
        ),
        file=sys.stderr,
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=Path, default=PP / "z4j_gu_train.npz")
    ap.add_argument("--val", type=Path, default=PP / "z4j_gu_val.npz")
    ap.add_argument("--models", nargs="+", default=["dipole", "mlp"], choices=["dipole", "mlp"])
    ap.add_argument(
        "--budget", type=float, default=900.0, help="training CPU seconds per model (all threads)"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: no spinning counted as CPU)")
    ap.add_argument("--max-points", type=int, default=None)
    ap.add_argument("--val-points", type=int, default=None)
    ap.add_argument("--timing-points", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--set-dipole", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--set-mlp", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    train = read_dump(args.train)
    val = read_dump(args.val)
    if args.val_points is not None:
        val = val.take(slice(0, args.val_points))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_pp_") as tmp:
        for kind in args.models:
            rows.append(one_model(kind, train, val, args, Path(tmp)))
    print(
        json.dumps(
            {
                "benchmark": "bench_pp_accuracy",
                "train": str(args.train),
                "val": str(args.val),
                "n_val": len(val),
                "budget_cpu_s": args.budget,
                "threads": args.threads,
                "load_avg": os.getloadavg(),
                "models": rows,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
