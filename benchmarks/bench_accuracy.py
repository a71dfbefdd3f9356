"""Surrogate accuracy on held-out Sherpa points, FAME vs the MLP baseline, side by side (SPEC §5).

For each of e+e- -> 3/4/5 jets (Sherpa 3.0.3 reference data, y_cut 0.01) a seeded test split (``--test``
points) is held out; the rest is training data for :func:`fame_surrogate.train.train_surrogate`, which holds
out its own validation split for early stopping.  Each model kind is trained with the ``TrainConfig``
defaults, a wall-clock budget (``--budget`` seconds per process and model, or ``--budget-4j`` etc.) and
``--threads`` torch threads per process (``--clock cpu`` counts the budget in process CPU seconds, which
keeps the two model kinds comparable on a shared machine), exported to ONNX and evaluated **through ONNX
Runtime** on the test split.  The defaults' two replicas train at once, one process each (one core each
with ``--threads 1``), so ``--budget 570 --clock cpu`` is 10 minutes of 2 cores.

Printed as one JSON object: per process and model the fraction of test points with |Δ| < 1% and < 0.1%, the
median |Δ|, the training seconds and epochs, and ``ratio_to_target`` = frac_within_1pct / target
(targets 0.999 / 0.99 / 0.97 for 3/4/5 jets), plus FAME/MLP ratios.

Usage: ``python benchmarks/bench_accuracy.py [--jets 3 4 5] [--budget 300] [--threads 1] [--test 20000]
[--parallel-replicas R] [--set KEY=VALUE]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from fame_surrogate.config import RESOLVED_FIELDS, TrainConfig
from fame_surrogate.export import export_onnx
from fame_surrogate.models import Ensemble
from fame_surrogate.onnx_session import OnnxSurrogate
from fame_surrogate.train import train_surrogate
from fame_surrogate.validation.accuracy import accuracy
from lhe_tools import EventBatch, read_dump

SHARED = Path(os.environ.get("FAME_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = SHARED / "data" / "sherpa-ee"
TARGETS = {3: 0.999, 4: 0.99, 5: 0.97}


def overrides(items: list[str]) -> dict[str, Any]:
    """``--set key=value`` pairs as TrainConfig fields, each value parsed as JSON (else kept a string)."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or key not in fields:
            raise SystemExit(f"bench_accuracy: --set {item!r}: expected KEY=VALUE, KEY a TrainConfig field")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def follow_parent(parent: int) -> None:
    """Pool initializer: end this worker when its parent process ``parent`` dies (Linux; elsewhere a no-op).

    A replica that trains for minutes would otherwise keep its core after the benchmark that spawned it was
    killed: the pool only notices a lost parent between tasks.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1  # <linux/prctl.h>
    if ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0) != 0:
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _one_replica(
    batch: EventBatch, cfg: TrainConfig, val_index: np.ndarray | None
) -> tuple[Any, dict[str, Any], float]:
    res = train_surrogate(batch, cfg, val_index=val_index)
    (member,) = res.model.members
    return member, res.metrics.to_json(), res.seconds


def train_parallel(
    batch: EventBatch, cfg: TrainConfig, replicas: int, val_index: np.ndarray | None = None
) -> tuple[Any, dict[str, Any], float]:
    """``replicas`` single-replica trainings at once, one process each (seeds seed..seed+R-1): an ensemble.

    Without ``val_index`` each replica holds out its own validation split (its seed's); with it, all hold
    out those points of ``batch`` (as ``fame train``'s replica tasks do), so the ensemble has never trained
    on them.  The test split of this benchmark is disjoint from all of them.
    """
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    configs = [dataclasses.replace(cfg, replicas=1, seed=cfg.seed + r) for r in range(replicas)]
    with ProcessPoolExecutor(
        max_workers=replicas, mp_context=ctx, initializer=follow_parent, initargs=(os.getpid(),)
    ) as pool:
        results = list(pool.map(_one_replica, [batch] * replicas, configs, [val_index] * replicas))
    seconds = time.perf_counter() - t0
    ensemble = Ensemble([m for m, _, _ in results]).eval()
    metrics = {
        "epochs": [e for _, m, _ in results for e in m["epochs"]],
        "stopped": [s for _, m, _ in results for s in m["stopped"]],
        "val_frac_within_1pct": [m["val_frac_within_1pct"] for _, m, _ in results],
        "replica_seconds": [s for _, _, s in results],
        "n_train": results[0][1].get("n_train"),
        **{k: results[0][1][k] for k in RESOLVED_FIELDS},
    }
    return ensemble, metrics, seconds


def run_process(jets: int, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    data = read_dump(DATA / f"ee_{jets}j_ycut0.01.npz")
    assert data.me2 is not None
    n = data.momenta.shape[0]
    rng = np.random.default_rng(2026)
    perm = rng.permutation(n)
    test_idx, train_idx = np.sort(perm[: args.test]), np.sort(perm[args.test :])
    if args.max_train is not None:
        train_idx = train_idx[: args.max_train]
    train, test = data.take(train_idx), data.take(test_idx)
    assert test.me2 is not None
    budget = getattr(args, f"budget_{jets}j") or args.budget
    out: dict[str, object] = {
        "process": data.process,
        "n_train_total": int(train_idx.size),
        "n_test": int(test_idx.size),
        "target_frac_within_1pct": TARGETS[jets],
        "budget_seconds": budget,
    }
    for kind in args.models:
        cfg = dataclasses.replace(
            TrainConfig(), model=kind, threads=args.threads, max_seconds=budget, clock=args.clock,
            **overrides(args.set),
        )
        # TrainConfig's replicas (2 by default) train at once, one process each, like `fame train`'s tasks
        parallel = args.parallel_replicas or cfg.replicas
        if parallel > 1:
            model, metrics, seconds = train_parallel(train, cfg, parallel)
        else:
            res = train_surrogate(train, dataclasses.replace(cfg, replicas=1))
            model, metrics, seconds = res.model, res.metrics.to_json(), res.seconds
        path = export_onnx(
            model,
            workdir / f"{jets}j_{kind}.onnx",
            {"process": data.process, "sqrt_s": 1000.0, "cuts": {"y_cut": 0.01}, "train": metrics},
        )
        t = time.perf_counter()
        pred, _ = OnnxSurrogate(path, threads=1).predict(test.momenta)
        pred_seconds = time.perf_counter() - t
        acc = accuracy(pred, test.me2)
        out[kind] = {
            **acc.to_json(),
            "ratio_to_target": acc.frac_within_1pct / TARGETS[jets],
            "train_seconds": seconds,
            "replicas": len(metrics["epochs"]),
            "parallel_replicas": parallel,
            "epochs": metrics["epochs"],
            "stopped": metrics["stopped"],
            "val_frac_within_1pct": metrics["val_frac_within_1pct"],
            "onnx_us_per_point_1thread": 1e6 * pred_seconds / test_idx.size,
            "config": {k: v for k, v in cfg.to_json().items() if k not in ("verbose",)},
        }
        print(f"bench_accuracy: {jets}j {kind}: {acc.frac_within_1pct:.4f} within 1%", file=sys.stderr)
    if "dipole" in out and "mlp" in out:
        fame, mlp = out["dipole"], out["mlp"]
        assert isinstance(fame, dict) and isinstance(mlp, dict)
        out["fame_over_mlp_frac_within_1pct"] = fame["frac_within_1pct"] / max(mlp["frac_within_1pct"], 1e-12)
        out["mlp_over_fame_median_abs_rel_dev"] = mlp["median_abs_rel_dev"] / fame["median_abs_rel_dev"]
    return out


def main() -> int:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--jets", type=int, nargs="+", default=[3, 4, 5], choices=[3, 4, 5])
    parser.add_argument("--models", nargs="+", default=["dipole", "mlp"], choices=["dipole", "mlp"])
    parser.add_argument("--budget", type=float, default=540.0, help="training seconds per process and model")
    for j in (3, 4, 5):
        parser.add_argument(f"--budget-{j}j", type=float, default=None, help=f"override for {j} jets")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training process")
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall", help="budget in wall or process CPU seconds"
    )
    parser.add_argument("--test", type=int, default=20000, help="held-out test points per process")
    parser.add_argument("--max-train", type=int, default=None, help="cap on training(+validation) points")
    parser.add_argument(
        "--parallel-replicas", type=int, default=None, metavar="R",
        help="train R single-thread replicas at once, one process each, and evaluate their ensemble "
        "(default: TrainConfig.replicas, 2; 1: one replica in this process)",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a TrainConfig field (JSON value), e.g. --set 'hidden=[128,128,128]'",
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"bench_accuracy: Sherpa reference data not found in {DATA} (set FAME_SHARED)", file=sys.stderr)
        return 1
    result: dict[str, object] = {"threads": args.threads, "cpu_count": os.cpu_count()}
    if hasattr(os, "getloadavg"):
        result["load_average_at_start"] = os.getloadavg()[0]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for jets in args.jets:
            result[f"{jets}j"] = run_process(jets, args, Path(tmp))
    result["total_seconds"] = time.perf_counter() - t0
    if hasattr(os, "getloadavg"):
        result["load_average_at_end"] = os.getloadavg()[0]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
