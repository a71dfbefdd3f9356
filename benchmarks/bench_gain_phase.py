"""Gain-phase settings side by side, from one MSE-trained model (issue 16).

``loss="gain"`` trains with the MSE first, then with the gain loss (:mod:`fame_surrogate.gain_loss`).  A
comparison of two full trainings mixes the gain phase's effect with the MSE phase's seed-to-seed spread,
which at Z+4 jets moves f_eff/f_ideal by ±0.1.  This benchmark trains one replica's MSE phase once
(``--mse-budget`` CPU seconds, ``fame train``'s defaults otherwise: the importance subsample of the
``unweighting`` objective) and then runs the product's own gain phase (``TrainConfig(gain_fraction=1)``: only
the gain phase, from the model as given) for each ``--variant LR[,BATCH]`` (``gain_lr``, ``batch_size``) or
``--variant KEY=VALUE[,KEY=VALUE...]`` (TrainConfig fields, e.g. ``ema_decay=0.999``) from that same model,
``--gain-budget`` CPU seconds each; ``--mse-set KEY=VALUE`` changes the MSE phase's settings.  Every model,
the MSE-trained one included, is exported to ONNX and scored on ``--val`` (an independent Sherpa run) exactly
as ``bench_pp_accuracy.py`` scores (median |Δ|, ε_1, ε_2, f_eff, f_ideal, f_eff/f_ideal, ``--val-blocks``).

One replica, one thread; the MSE phase costs ``--mse-budget`` plus the features (≈ 45 CPU-s at 800k Z+4
events).  Prints one JSON object.  Usage::

    .venv/bin/python benchmarks/bench_gain_phase.py --train z4s_train800k/C.npz --val z4s_val240k/C.npz \\
        --mse-budget 675 --gain-budget 180 --variant 4e-4 --variant 1e-4 --variant 4e-4,4096
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import copy
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from bench_accuracy import overrides  # this folder is on sys.path
from bench_pp_accuracy import score

from fame_surrogate.config import Loss, TrainConfig
from fame_surrogate.export import export_onnx
from fame_surrogate.models import Surrogate
from fame_surrogate.train import train_replica
from fame_surrogate.training_data import prepare_training
from lhe_tools import EventBatch, read_dump


def run_phase(
    model: Surrogate, data: dict[str, torch.Tensor], config: TrainConfig, budget: float
) -> dict[str, Any]:
    """Train ``model`` in place for ``budget`` CPU seconds with ``config``; what the phase did."""
    t0 = time.process_time()
    history, stopped = train_replica(model, data, config, config.seed, t0 + budget)
    model.eval()
    return {
        "epochs": len(history),
        "stopped": stopped,
        "cpu_s": time.process_time() - t0,
        "val_loss": [round(h["val_loss"], 4) for h in history],
    }


def variant(spec: str) -> dict[str, Any]:
    """A ``--variant``'s TrainConfig fields: ``LR[,BATCH]`` (``gain_lr``, ``batch_size``) or
    ``KEY=VALUE[,KEY=VALUE...]``."""
    if "=" in spec:
        return overrides(spec.split(","))
    lr, _, bs = spec.partition(",")
    return {"gain_lr": float(lr), **({"batch_size": int(bs)} if bs else {})}


def scored(model: Surrogate, name: str, info: dict[str, Any], val: EventBatch, args: argparse.Namespace,
           tmp: Path) -> dict[str, Any]:
    meta = {"process": val.process, "sqrt_s": val.meta.get("sqrt_s")}
    path = export_onnx(model, tmp / f"{name}.onnx", meta)
    return score(path, {"model": name, **info}, val, args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--val", type=Path, required=True)
    ap.add_argument("--model", default="dipole", choices=["dipole", "mlp"])
    ap.add_argument("--mse-budget", type=float, default=675.0, help="CPU seconds of the MSE phase")
    ap.add_argument("--gain-budget", type=float, default=180.0, help="CPU seconds of each gain phase")
    ap.add_argument("--variant", action="append", default=[], metavar="LR[,BATCH] | KEY=VALUE[,KEY=VALUE]",
                    help="a gain phase: its learning rate and mini-batch size (default: the MSE phase's), or "
                    "TrainConfig fields (e.g. gain_lr=1e-4,ema_decay=0.999)")
    ap.add_argument("--mse-set", action="append", default=[], metavar="KEY=VALUE",
                    help="a TrainConfig field for the MSE phase (and the gain phases after it)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timing-points", type=int, default=4096)
    ap.add_argument("--val-blocks", type=int, default=3, metavar="K")
    ap.add_argument("--tail", type=int, default=0, metavar="K",
                    help="also list, per model, the K events with the largest stage-1 weights and the K with "
                    "the largest |w| (bench_pp_accuracy.py --tail)")
    args = ap.parse_args()
    if not args.variant:
        ap.error("give at least one --variant LR[,BATCH]")
    args.sampled = None  # bench_pp_accuracy.score's colour-sampled baseline: not here
    torch.set_num_threads(1)
    settings = TrainConfig(
        **{"model": args.model, "replicas": 1, "clock": "cpu", "threads": 1, "seed": args.seed,
           **overrides(args.mse_set)}
    )
    batch, val = read_dump(args.train), read_dump(args.val)
    if batch.me2 is None or batch.ps_weight is None:
        raise SystemExit("the training dump needs the me2 and ps_weight columns (a Sherpa pp dump)")
    prepared = prepare_training(batch, settings)
    config = prepared.config  # resolved for the events: the unweighting objective's subsample and gain loss
    model, data = prepared.models[0], prepared.replica_data(0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_gain_phase_") as tmp:
        mse = run_phase(model, data, dataclasses.replace(config, loss=Loss.MSE), args.mse_budget)
        rows.append(scored(model, "mse", {"mse_set": args.mse_set, "phase": mse}, val, args, Path(tmp)))
        for k, spec in enumerate(args.variant):
            cfg = dataclasses.replace(config, **variant(spec), gain_fraction=1.0, gain_epochs=10_000)
            tuned = copy.deepcopy(model)
            phase = run_phase(tuned, data, cfg, args.gain_budget)
            info = {"variant": spec, "gain_lr": cfg.gain_lr, "batch_size": cfg.batch_size,
                    "ema_decay": cfg.ema_decay, "phase": phase}
            rows.append(scored(tuned, f"gain{k}", info, val, args, Path(tmp)))
    out = {
        "benchmark": "bench_gain_phase",
        "train": str(args.train),
        "val": str(args.val),
        "n_val": len(val),
        "mse_budget_cpu_s": args.mse_budget,
        "gain_budget_cpu_s": args.gain_budget,
        "load_avg": list(os.getloadavg()),
        "rows": rows,
    }
    print(json.dumps(out, indent=1))
    print("done", file=sys.stderr)


if __name__ == "__main__":
    main()
