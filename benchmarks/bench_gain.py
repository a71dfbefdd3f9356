"""Effective gain of two-stage unweighting with trained surrogates, e+e- -> 3/4/5 jets (SPEC §5).

For each Sherpa reference dataset (shared/data/sherpa-ee, y_cut = 0.01): train a surrogate with
``fame_surrogate.train.train_surrogate`` on the first ``--train-points`` points (short wall-clock budget),
export it to ONNX (``fame_surrogate.export``), and run ``sherpa_plugin.validate.validate`` on the next
``--val-points`` points (never seen in training).  Times per point: t_ME = Sherpa's recorded
``me_ms_per_point`` (Comix, MEProcess), t_surr = ONNX Runtime on this machine (one thread, batches of
``--timing-points``), t_PS = RAMBO + cut on this machine.  f_ideal is the gain of a perfect surrogate with the
same times (ε_1 = ε_full, ε_2 = 1); the target is f_eff / f_ideal >= 0.8 on every setup.

With ``--gain`` a second surrogate is trained with ``TrainConfig(loss="gain")``: the same MSE phase as the
MSE-only model (as many epochs as it reached, same seed), then ``--gain-epochs`` epochs of the gain loss; both
are compared on the same validation points (``comparisons`` in the output, and in
the report with ``--report DIR``).

Prints one JSON object.  Usage:
``python benchmarks/bench_gain.py [--seconds 120] [--train-points 40000] [--val-points 200000] [--gain]
[--report DIR] [--jets 3 4 5]``.
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

import numpy as np

from fame_surrogate.config import TrainConfig
from fame_surrogate.export import export_onnx
from fame_surrogate.onnx_session import OnnxSurrogate
from fame_surrogate.train import train_surrogate
from lhe_tools import EventBatch, read_dump
from sherpa_plugin.validate import validate
from sherpa_plugin.validate_config import ValidateConfig

SHARED = Path(os.environ.get("FAME_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
DATA = SHARED / "data" / "sherpa-ee"
TARGET = 0.8


class OnnxPredictor:
    """``.predict(batch)`` through ONNX Runtime (the deployed form of the surrogate)."""

    def __init__(self, model: OnnxSurrogate) -> None:
        self.model = model

    def predict(self, batch: EventBatch) -> tuple[np.ndarray, np.ndarray]:
        return self.model.predict(batch.momenta)


def _train(
    batch: EventBatch, config: TrainConfig, folder: Path, tag: str
) -> tuple[OnnxPredictor, dict[str, Any]]:
    res = train_surrogate(batch, config)
    path = export_onnx(
        res.model,
        folder / f"{batch.process}.{tag}.onnx",
        {
            "process": batch.process,
            "sqrt_s": batch.meta.get("sqrt_s"),
            "cuts": dict(batch.meta.get("cuts", {})),
        },
    )
    info = {k: res.metrics.to_json()[k] for k in ("val_frac_within_1pct", "n_train", "epochs", "stopped")}
    info["train_seconds"] = res.seconds
    return OnnxPredictor(OnnxSurrogate(path, threads=1)), info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jets", type=int, nargs="+", default=[3, 4, 5])
    ap.add_argument("--seconds", type=float, default=120.0, help="training wall-clock budget per surrogate")
    ap.add_argument("--train-points", type=int, default=40000)
    ap.add_argument("--val-points", type=int, default=200000)
    ap.add_argument("--threads", type=int, default=2, help="torch threads for training")
    ap.add_argument("--timing-points", type=int, default=8192)
    ap.add_argument("--gain", action="store_true", help="also train with loss='gain' and compare")
    ap.add_argument("--gain-epochs", type=int, default=15)
    ap.add_argument("--report", type=Path, default=None, help="write one validation report per setup here")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--budget", choices=("sigma", "surrogate"), default="sigma", help="stage-1 Max_Epsilon budget"
    )
    args = ap.parse_args(argv)

    rows: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_gain_") as tmp:
        for n_jets in args.jets:
            name = f"ee_{n_jets}j_ycut0.01"
            data = read_dump(DATA / f"{name}.npz")
            n_train = min(args.train_points, len(data) // 2)
            train = data.take(slice(0, n_train))
            val = data.take(slice(n_train, min(len(data), n_train + args.val_points)))
            base = TrainConfig(max_seconds=args.seconds, threads=args.threads, seed=args.seed)
            mse, mse_info = _train(train, base, Path(tmp), "mse")
            compare: dict[str, OnnxPredictor] = {}
            gain_info: dict[str, Any] | None = None
            if args.gain:
                # the same MSE phase (epochs the MSE-only model reached, same seed), then the gain loss
                cfg = TrainConfig(
                    epochs=int(mse_info["epochs"][0]),
                    threads=args.threads,
                    seed=args.seed,
                    loss="gain",
                    gain_epochs=args.gain_epochs,
                )
                gain_pred, gain_info = _train(train, cfg, Path(tmp), "gain")
                compare = {"mse": mse, "gain": gain_pred}
            out = None if args.report is None else args.report / name
            r = validate(
                mse,
                [val],
                out,
                ValidateConfig(
                    timing_points=args.timing_points,
                    seed=args.seed,
                    budget=args.budget,
                    report=out is not None,
                ),
                compare=compare,
            ).to_json()
            ch = r["channels"][val.process]
            row: dict[str, Any] = {
                "setup": name,
                "process": val.process,
                "n_val": len(val),
                "val_frac_within_1pct": ch["frac_within_1pct"],
                "eps_full": r["eps_full"],
                "eps_1": r["eps_1"],
                "eps_2": r["eps_2"],
                "alpha": r["alpha"],
                "t_me_ms": r["t_me_ms"],
                "t_surr_ms": r["t_surr_ms"],
                "t_ps_ms": r["t_ps_ms"],
                "f_eff": r["f_eff"],
                "f_ideal": r["f_ideal"],
                "f_eff_over_ideal": r["f_eff"] / r["f_ideal"],
                "f_eff_alpha": r["f_eff_alpha"],
                "overweight_sigma_fraction": ch["overweight_sigma_fraction"],
                "overweight_sigma_fraction_standard": ch["overweight_sigma_fraction_standard"],
                "closure_min_p": r["closure_min_p"],
                "sigma_pull": ch["sigma_pull"],
                "time_sources": r["time_sources"],
                "train": mse_info,
                "pass": r["f_eff"] / r["f_ideal"] >= TARGET,
            }
            if gain_info is not None:
                g = r["comparisons"]["gain"][val.process]
                row["gain_loss"] = {
                    "train": gain_info,
                    **{
                        k: g[k]
                        for k in (
                            "frac_within_1pct",
                            "eps_1",
                            "eps_2",
                            "alpha",
                            "overweight_sigma_fraction",
                            "t_surr_ms",
                            "f_eff",
                            "f_ideal",
                        )
                    },
                    "f_eff_over_ideal": g["f_eff"] / g["f_ideal"],
                }
            rows.append(row)
            print(
                json.dumps({k: row[k] for k in ("setup", "eps_2", "f_eff", "f_ideal", "f_eff_over_ideal")}),
                file=sys.stderr,
            )
    result = {
        "benchmark": "bench_gain",
        "target_f_eff_over_ideal": TARGET,
        "all_pass": all(r["pass"] for r in rows),
        "seconds": time.perf_counter() - t_start,
        "setups": rows,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
