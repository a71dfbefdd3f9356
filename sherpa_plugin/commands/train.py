"""``fame train DATA... --out BUNDLE``: one surrogate per reduced group, trained on Dask, as a bundle."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from typing import Any

from . import PartialResult, add_json_flag


def register(subparsers: Any) -> None:
    """Add the ``train`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="train one surrogate per reduced group and write the bundle",
        description=(
            "Read DATA (fame dumps or event files with |M|^2), group the channels into reduced groups, "
            "train one surrogate per group on Dask (a LocalCluster sized to this machine, or the scheduler "
            "given by --scheduler / DASK_SCHEDULER_ADDRESS) and write BUNDLE (models/<group>.onnx, "
            "manifest.json, sherpa-snippet.yaml).  Rerunning skips groups whose model is up to date.  "
            "Exit status 3 when some group failed (the others are in the bundle)."
        ),
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="event files or folders of them")
    p.add_argument("--out", required=True, metavar="BUNDLE", help="bundle folder to write")
    p.add_argument(
        "--force", action="store_true",
        help="write the bundle into a non-empty folder that is not a bundle (its other files are kept)",
    )
    p.add_argument("--model", choices=("dipole", "mlp"), default=None, help="model kind (default: dipole)")
    p.add_argument(
        "--loss", choices=("mse", "gain"), default=None,
        help="training loss (default mse; gain: MSE, then epochs of the f_eff-driven gain loss)",
    )
    p.add_argument("--hidden", type=int, nargs="+", default=None, metavar="W",
                   help="hidden layer widths (default 128 128 128)")
    p.add_argument(
        "--net-dtype", choices=("float64", "float32"), default=None,
        help="dtype of the exported network and its inputs (default float64; float32: 2-3x faster, "
        "agrees with torch to ~1e-6)",
    )
    p.add_argument(
        "--weight-power", type=float, default=None, metavar="P",
        help="weighted events: weight each point's squared error by (|w|/<|w|>)^P, so the points carrying "
        "the cross section count more (default 0; 0.2 for Sherpa's Z+4/5-jet weights)",
    )
    p.add_argument(
        "--augment", type=int, default=None, metavar="K",
        help="use every training point in up to K orders of its identical final-state particles (exact, free "
        "data; default 6; 1 disables)",
    )
    p.add_argument(
        "--penalty", type=float, default=None, metavar="J",
        help="factorisation penalty of the dipole model (default: 1e-3 for lepton beams, 0 for hadron beams)",
    )
    p.add_argument(
        "--replicas", type=int, default=None, metavar="R",
        help="ensemble replicas per group, each its own Dask task (default 2)",
    )
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs per replica")
    p.add_argument("--max-points", type=int, default=None, help="train on at most this many points per group")
    p.add_argument(
        "--max-seconds", type=float, default=None,
        help="time budget per group, per replica with --replicas > 1 (see --clock)",
    )
    p.add_argument("--seed", type=int, default=None, help="seed of split, initialisation and shuffling")
    p.add_argument("--batch-size", type=int, default=None, metavar="B", help="mini-batch size (default 512)")
    p.add_argument("--lr", type=float, default=None, help="initial Adam learning rate (default 4e-3)")
    p.add_argument(
        "--decay-fraction", type=float, default=None, metavar="F",
        help="cosine warm-down of the learning rate over the last F of the run (default 0.5).  With the "
        "defaults (2 replicas, batch 512, lr 4e-3) e+e- -> 5 jets reaches 97%% within 1%% in 10 minutes of "
        "2 cores: --clock cpu --max-seconds 570",
    )
    p.add_argument(
        "--clock", choices=("wall", "cpu"), default=None,
        help="--max-seconds counts wall-clock seconds (default) or the training process's CPU seconds "
        "(comparable under load)",
    )
    p.add_argument(
        "--scheduler", default=None, metavar="ADDR",
        help="Dask scheduler, e.g. tls://host:8786 (default: DASK_SCHEDULER_ADDRESS, announced on stderr, "
        "else a local cluster).  fame exchanges pickles with the scheduler and its workers: trust them",
    )
    p.add_argument("--tls-ca-file", default=None, metavar="FILE", help="TLS: CA certificate (+ --tls-cert)")
    p.add_argument("--tls-cert", default=None, metavar="FILE", help="TLS: this client's certificate")
    p.add_argument("--tls-key", default=None, metavar="FILE", help="TLS: this client's private key")
    p.add_argument(
        "--workers", type=int, default=None, metavar="N", help="local Dask workers (default: cores)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train the bundle; the result has ``groups``, ``seconds`` and per group ``val_frac_within_1pct``."""
    from fame_surrogate.train import TrainConfig

    if getattr(args, "verbose", 0) < 2:  # Dask's own INFO chatter (connections, nannies) only with -vv
        import distributed  # its import configures the "distributed" logger; override it afterwards

        logging.getLogger(distributed.__name__).setLevel(logging.WARNING)

    from ..orchestrate import dask_security, train_bundle

    changes = {
        "model": args.model,
        "loss": args.loss,
        "hidden": tuple(args.hidden) if args.hidden else None,
        "net_dtype": args.net_dtype,
        "weight_power": args.weight_power,
        "augment": args.augment,
        "penalty_j": args.penalty,
        "replicas": args.replicas,
        "epochs": args.epochs,
        "max_points": args.max_points,
        "max_seconds": args.max_seconds,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "decay_fraction": args.decay_fraction,
        "clock": args.clock,
    }
    config = dataclasses.replace(TrainConfig(), **{k: v for k, v in changes.items() if v is not None})
    result = train_bundle(
        args.data,
        args.out,
        config,
        scheduler=args.scheduler,
        workers=args.workers,
        progress=not args.no_progress,
        security=dask_security(args.tls_ca_file, args.tls_cert, args.tls_key),
        force=args.force,
    )
    if result["failed"]:
        names = [g["name"] for g in result["groups"] if g["status"] == "failed"]
        if not result["trained"] and not result["skipped"]:  # nothing usable: an error, not a partial result
            errors = "; ".join(f"{g['name']}: {g.get('error')}" for g in result["groups"])
            raise ValueError(f"every group failed, the bundle {result['bundle']} has no model: {errors}")
        raise PartialResult(
            f"{result['failed']} group(s) failed: {', '.join(names)} (tracebacks above and in "
            f"{result['manifest']}); the others are in the bundle",
            result,
        )
    return result
