"""pp surrogates side by side: the dipole model and the MLP, same events, same CPU budget, scored on an
independent Sherpa run (issue 16).

Trains each ``--models`` kind with :func:`fame_surrogate.train.train_surrogate` on ``--train`` (default: the
shared g u → e+e- g g g u set, 200k Sherpa weighted events; ``--max-points`` takes a seeded subset) with a
budget of ``--budget`` CPU seconds (``TrainConfig(clock="cpu")``, all threads, so the kinds compare fairly
on a loaded machine) per replica: the config's replicas (2 by default, ``--parallel-replicas``) train at
once, one process each, so ``--budget 900`` is 15 minutes of 2 cores.  It exports each to ONNX and scores
it **through ONNX Runtime** on ``--val`` (an independent Sherpa run of the same setup, or several such
runs joined into one sample, their recorded times averaged per event):

* pointwise: the fractions of points within 0.1% / 1% / 10% (the L-GATr metric) and the median |Δ|;
* unweighting: :func:`sherpa_plugin.validate.validate` with Sherpa's recorded CPU times (t_ME, t_PS), i.e.
  ε_full, ε_1, ε_2, f_eff, f_ideal and f_eff/f_ideal; t_surr is ONNX Runtime's batched time here.

``--set KEY=VALUE`` overrides a TrainConfig field for every model (``--set-dipole``/``--set-mlp`` for one).
The defaults are ``fame train``'s: ``objective="auto"`` trains pointwise (MSE on every point);
``--set objective=unweighting`` trains with the gain loss on the importance subsample (``--importance
0.99``).  Each row records what training chose (``resolved``).

**Baselines.**  f_eff above is against Sherpa's colour-summed standard generation of the validation events.
``--colour-sampled DUMP`` (a ``fame sherpa dump --colour-scheme sample`` dump of the same channel and cuts)
adds Sherpa's colour-sampled generation as a second baseline: its ε_full (``Max_Epsilon`` as in
:mod:`fame_surrogate.validation`, averaged over disjoint blocks of the validation run's size, since ε_full of
heavy-tailed weights depends on the sample size) and its CPU times per event from the dump's meta; every
model then also gets f_eff and f_ideal against each baseline and against the faster one
(:func:`fame_surrogate.validation.compare_baselines`).  ``--baselines-only`` trains nothing and prints the two
baselines' CPU cost per unweighted event (the colour-summed ε_full also from ``--train`` in blocks of the
validation size); ``--from-results JSON...`` takes the model rows of earlier runs of this benchmark instead
of training (their ε_1, ε_2, times and validation size) and adds the baselines to them.  ``--keep-onnx DIR``
keeps the trained surrogates, ``--score ONNX...`` scores saved ones instead of training, and ``--val-blocks
K`` also scores K disjoint blocks of the validation run: where ε_full is 1e-4–1e-3, ε_2 and f_eff/f_ideal are
set by a few of the highest weights, and their spread over blocks shows how much one run of that size says.
``--temper auto`` (or a β) also scores two-stage unweighting with the stage-1 weight |s|^β
(:mod:`fame_surrogate.validation.temper`), β chosen as ``fame train`` chooses it: on the ``--train`` runs'
held-out split, which every replica holds out (their recorded Sherpa times, t_surr = 0:
:func:`sherpa_plugin.train_tasks.stage1_temper_scan`), and gives the scans over β on the whole training run
and on the validation run beside it (its times and the timed t_surr: the best β in hindsight).

Prints one JSON object.  Usage::

    .venv/bin/python benchmarks/bench_pp_accuracy.py --budget 900 --models dipole
    .venv/bin/python benchmarks/bench_pp_accuracy.py --baselines-only --colour-sampled z4cs/DUMP.npz
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import dataclasses
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_accuracy import overrides, train_parallel  # this folder is on sys.path
from bench_gain import OnnxPredictor

from fame_surrogate.config import RESOLVED_FIELDS, TrainConfig
from fame_surrogate.export import export_onnx
from fame_surrogate.onnx_session import OnnxSurrogate
from fame_surrogate.split import validation_split
from fame_surrogate.train import train_surrogate
from fame_surrogate.validation.accuracy import accuracy, weighted_log_spread
from fame_surrogate.validation.gain import Baseline, compare_baselines, standard_efficiency
from fame_surrogate.validation.temper import scan_temper
from lhe_tools import EventBatch, read_dump
from sherpa_plugin.join_runs import join_runs
from sherpa_plugin.train_tasks import stage1_temper_scan
from sherpa_plugin.validate import validate
from sherpa_plugin.validate_config import ValidateConfig

SHARED = Path(os.environ.get("FAME_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PP = SHARED / "data" / "sherpa-pp"


EPS = 1e-3  # Max_Epsilon of every maximum here (validate's default)


def _sample_dump(path: Path) -> Path:
    """The .npz of a colour-sampled dump: the file itself, or the one channel dump in its folder."""
    if path.is_dir():
        found = sorted(path.glob("*.npz"))
        if len(found) != 1:
            raise SystemExit(f"{path}: expected one channel dump (.npz) in the folder, found {len(found)}")
        return found[0]
    return path


def colour_sampled(path: Path, val: EventBatch, block: int) -> tuple[Baseline, dict[str, Any]]:
    """The colour-sampled baseline of ``path`` at ``block`` events per ε_full block, and its figures."""
    b = read_dump(_sample_dump(path))
    meta = b.meta
    if meta.get("color_scheme") != 2:
        raise SystemExit(
            f"{path}: meta color_scheme {meta.get('color_scheme')!r}, expected 2 (a `fame sherpa dump "
            "--colour-scheme sample` dump)"
        )
    if b.process != val.process or meta.get("run_card") != val.meta.get("run_card"):
        raise SystemExit(
            f"{path}: channel {b.process} with another run card than the validation run's {val.process}; "
            "the baselines must generate the same channel with the same cuts"
        )
    size = min(block, len(b))
    if size < block:
        print(f"warning: {path} has {len(b)} events, fewer than the {block} of the validation run; its "
              "ε_full is not comparable (ε_full depends on the sample size)", file=sys.stderr)
    eff, err, n_blocks = standard_efficiency(b.weight, EPS, block=size)
    t_me, t_ps = float(meta["me_cpu_ms_per_point"]), float(meta["ps_cpu_ms_per_point"])
    if b.trials is None:
        raise SystemExit(f"{path}: no trials column; expected a weighted-event dump of hadron beams")
    n = float(b.trials.sum())
    sigma = float(b.weight.sum()) / n
    info = {
        "dump": str(path),
        "n_events": len(b),
        "block_events": size,
        "same_size_as_validation": size == block,
        "n_blocks": n_blocks,
        "eps_full": eff,
        "eps_full_err": err,
        "eps_full_all_events": standard_efficiency(b.weight, EPS)[0],
        "t_me_cpu_ms": t_me,
        "t_ps_cpu_ms": t_ps,
        "gen_cpu_ms_per_event": meta.get("gen_cpu_ms_per_event"),
        "sigma_pb": sigma,
        "sigma_err_pb": float((max(float((b.weight**2).sum()) / n - sigma**2, 0.0) / n) ** 0.5),
        "seed": meta.get("seed"),
    }
    return Baseline("colour-sampled", eff, t_me, t_ps), info


def with_baselines(row: dict[str, Any], extra: list[Baseline]) -> dict[str, Any]:
    """``row`` (a model's validation figures) with f_eff, f_ideal against each baseline and the fastest;
    its tempered stage 1 (``row["temper"]``, where scored) too, from that stage's ε_1 and ε_2."""
    summed = Baseline("colour-summed", row["eps_full"], row["t_me_ms"], row["t_ps_ms"])

    def compare(eps_1: float, eps_2: float) -> dict[str, Any]:
        return compare_baselines(
            [summed, *extra], row["eps_full"], eps_1, eps_2, row["t_me_ms"], row["t_surr_ms"], row["t_ps_ms"]
        ).to_json()

    out = {**row, **compare(row["eps_1"], row["eps_2"])}
    temper = row.get("temper")
    if temper is not None:
        out["temper"] = {**temper, **compare(temper["eps_1"], temper["eps_2"])}
    return out


def _children_cpu() -> float:
    """CPU seconds of this process's finished child processes (the parallel replicas)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def model_config(kind: str, args: argparse.Namespace) -> tuple[TrainConfig, dict[str, Any]]:
    """The TrainConfig of one ``--models`` kind (``--set`` wins over the options) and the overrides."""
    changes = overrides(args.set + (args.set_dipole if kind == "dipole" else args.set_mlp))
    base: dict[str, Any] = {
        "model": kind,
        "max_seconds": args.budget,
        "clock": "cpu",
        "threads": args.threads,
        "seed": args.seed,
        "max_points": args.max_points,
        "verbose": args.verbose,
    }
    return TrainConfig(**{**base, **changes}), changes


def held_out(train: EventBatch, config: TrainConfig) -> np.ndarray:
    """The points of ``train`` that no replica trains on: ``fame train``'s common held-out split
    (:func:`sherpa_plugin.train_tasks.split_validation`), where ``--temper auto`` chooses β."""
    return validation_split(len(train), config.val_fraction, config.seed)[1]


def one_model(
    kind: str, train: EventBatch, val: EventBatch, args: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    config, changes = model_config(kind, args)
    parallel = args.parallel_replicas or config.replicas
    held = held_out(train, config)
    cpu0 = time.process_time() + _children_cpu()
    if parallel > 1:  # the replicas at once, one process each, each with the whole --budget
        model, metrics, seconds = train_parallel(train, config, parallel, val_index=held)
    else:
        res = train_surrogate(train, dataclasses.replace(config, replicas=1), val_index=held)
        model, metrics, seconds = res.model, res.metrics.to_json(), res.seconds
    cpu = time.process_time() + _children_cpu() - cpu0
    path = export_onnx(
        model, tmp / f"{kind}.onnx", {"process": train.process, "sqrt_s": train.meta.get("sqrt_s")}
    )
    row = {
        "model": kind,
        "config": {
            k: v
            for k, v in config.to_json().items()
            if k in ("hidden", "batch_size", "lr", "penalty_j", "weight_power", "dtype", "max_points")
            or k in changes
        },
        "replicas": parallel,
        "resolved": {k: metrics[k] for k in RESOLVED_FIELDS},  # what training chose for these events
        "train_cpu_s": cpu,
        "train_wall_s": seconds,
        "epochs": metrics["epochs"],
        "stopped": metrics["stopped"],
        "n_train": metrics["n_train"],
    }
    return score(path, row, val, args, train, held)


def score(
    path: Path,
    row: dict[str, Any],
    val: EventBatch,
    args: argparse.Namespace,
    train: EventBatch | None = None,
    held: np.ndarray | None = None,
) -> dict[str, Any]:
    """``row`` with the scores of the ONNX surrogate ``path`` on ``val`` (and, with ``--val-blocks K``, on
    each of K disjoint blocks of it: ε_2 and f_eff/f_ideal are set by the highest weights of a heavy-tailed
    sample, so their spread over blocks says how far one validation run of this size can be trusted)."""
    onnx_model = OnnxSurrogate(path, threads=1)
    pred, _ = onnx_model.predict(val.momenta)
    if val.me2 is None:
        raise SystemExit(f"the validation run of {val.process} has no me2 column; expected a fame dump with "
                         "Sherpa's |M|^2")
    acc = accuracy(pred, val.me2)
    settings = ValidateConfig(
        temper=1.0,  # the untempered row; --temper scores the tempered one beside it
        recorded_times="cpu",
        report=False,
        seed=args.seed,
        timing_points=args.timing_points,
        gain_blocks=args.val_blocks,
    )
    r = validate(OnnxPredictor(onnx_model), [val], None, settings).to_json()
    p = np.asarray(pred)
    n_bad = int(np.count_nonzero(~(np.isfinite(p) & (p > 0.0))))  # negative, zero or not finite
    row = {
        **row,
        "frac_within_0p1pct": acc.frac_within_0p1pct,
        "frac_within_1pct": acc.frac_within_1pct,
        "frac_within_10pct": acc.frac_within_10pct,
        "median_abs_rel_dev": acc.median_abs_rel_dev,
        # the accuracy that unweighting sees (|w|-weighted spread of log(surrogate/exact)): steadier than ε_2;
        # undefined (None) if the surrogate is not positive everywhere, which n_nonpositive_pred then counts
        "weighted_log_spread": (
            weighted_log_spread(pred, val.me2, val.weight) if n_bad == 0 else None
        ),
        "n_nonpositive_pred": n_bad,
        **{
            k: r[k]
            for k in ("eps_full", "eps_1", "eps_2", "f_eff", "f_ideal", "t_me_ms", "t_ps_ms", "t_surr_ms")
        },
        # closure of the unweighted sample against the weighted validation run (None: too few events)
        **{k: r.get(k) for k in ("closure_min_p", "sigma_pull")},
    }
    row["f_eff_over_ideal"] = row["f_eff"] / row["f_ideal"]
    blocks = r["channels"][val.process]["gain_blocks"]  # validate's own: each block unweighted alone
    if blocks is not None:
        ratios = blocks["f_eff_over_ideal"]
        row["val_blocks"] = {
            **blocks,
            "f_eff_over_ideal_mean": statistics.fmean(ratios),
            "f_eff_over_ideal_std": statistics.stdev(ratios),
            "eps_2_mean": statistics.fmean(blocks["eps_2"]),
        }
    if args.tail > 0:
        row["tail"] = tail_events(p, val, args.tail)
    if getattr(args, "temper", None) is not None:  # bench_gain_phase scores without --temper
        row["temper"] = tempered(onnx_model, p, row, val, train, held, args, settings)
    if args.sampled is not None:
        row = with_baselines(row, [args.sampled])
    print(
        json.dumps(
            {
                k: row[k]
                for k in (
                    "model",
                    "median_abs_rel_dev",
                    "weighted_log_spread",
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


def surrogate_weights(pred: np.ndarray, batch: EventBatch) -> tuple[np.ndarray, np.ndarray]:
    """``(|w|, |s|)`` of ``batch``'s events: exact weights and surrogate weights ``|w| |pred|/me2``."""
    assert batch.me2 is not None
    w = np.abs(batch.weight)
    return w, w * np.abs(np.asarray(pred, dtype=np.float64)) / batch.me2


def tempered(
    onnx_model: OnnxSurrogate,
    val_pred: np.ndarray,
    row: dict[str, Any],
    val: EventBatch,
    train: EventBatch | None,
    held: np.ndarray | None,
    args: argparse.Namespace,
    settings: ValidateConfig,
) -> dict[str, Any]:
    """``--temper``: the two-stage figures with stage-1 weight |s|^β (fame_surrogate.validation.temper), β
    given or (``auto``) chosen on the training run's held-out split ``held`` as ``fame train`` chooses it
    (:func:`stage1_temper_scan`: the run's recorded times, t_surr = 0), and the scans over β on the whole
    training run (``train_scan_in_sample``: mostly events the surrogate trained on) and on the validation run
    itself with its times and the timed t_surr (the best β in hindsight), for comparison."""
    times = (row["t_me_ms"], row["t_surr_ms"], row["t_ps_ms"])
    train_scan = in_sample = None
    if args.temper == "auto":
        if train is not None and held is not None:
            train_pred = onnx_model.predict(train.momenta)[0]
            train_scan = stage1_temper_scan(train.take(held), train_pred[held])
            in_sample = stage1_temper_scan(train, train_pred)
        if train_scan is None:
            raise SystemExit("--temper auto chooses β on the training run: give --train with Sherpa's |M|^2 "
                             "and recorded times")
        beta = float(train_scan["beta"])
    else:
        beta = float(args.temper)
    same_times = dataclasses.replace(settings, temper=beta, t_surr_ms=row["t_surr_ms"])  # not timed again
    r = validate(OnnxPredictor(onnx_model), [val], None, same_times).to_json()
    out: dict[str, Any] = {
        "beta": beta,
        **{k: r[k] for k in ("eps_1", "eps_2", "f_eff", "f_ideal")},
        "f_eff_over_ideal": r["f_eff"] / r["f_ideal"],
        **{k: r.get(k) for k in ("closure_min_p", "sigma_pull")},
        "train_scan": train_scan,
        "train_scan_in_sample": in_sample,
        "val_scan": scan_temper(*surrogate_weights(val_pred, val), *times).to_json(),  # score's predictions
    }
    blocks = r["channels"][val.process]["gain_blocks"]
    if blocks is not None:
        pairs = zip(blocks["f_eff"], blocks["f_ideal"], strict=True)
        out["val_blocks_f_eff_over_ideal"] = [a / b for a, b in pairs]
    if "f_eff_vs_fastest" in row:  # the same baseline and times: f_eff scales with the two-stage cost
        out["f_eff_vs_fastest"] = row["f_eff_vs_fastest"] * r["f_eff"] / row["f_eff"]
    print(json.dumps({"model": row["model"], "temper": beta, "f_eff_over_ideal": out["f_eff_over_ideal"]}),
          file=sys.stderr)
    return out


def tail_events(pred: np.ndarray, val: EventBatch, k: int) -> dict[str, list[dict[str, float]]]:
    """The ``k`` events with the largest surrogate weight |s| = |w| me2_surr/me2 and the ``k`` with the
    largest |w|: a runaway overestimate shows in the first list (|s| ≫ |w|), an underestimate of the
    events that carry σ in the second (ratio < 1)."""
    assert val.me2 is not None
    w = np.abs(val.weight)
    ratio = pred / val.me2
    s = w * ratio
    mean_w = float(w.mean())

    def rows(order: np.ndarray) -> list[dict[str, float]]:
        return [
            {"event": int(i), "s_over_mean_w": float(s[i] / mean_w), "w_over_mean_w": float(w[i] / mean_w),
             "ratio": float(ratio[i])}
            for i in order[:k]
        ]

    return {"largest_s": rows(np.argsort(-s)), "largest_w": rows(np.argsort(-w))}


def read_runs(paths: list[Path]) -> EventBatch:
    """One dump, or independent runs of one channel joined (e.g. runs of one integration with other seeds, as
    ``fame train`` and ``fame validate`` join their DATA; recorded times: the runs' event-weighted means)."""
    runs = [read_dump(p) for p in paths]
    for p, b in zip(paths[1:], runs[1:], strict=True):
        if b.meta.get("run_card") != runs[0].meta.get("run_card"):
            raise SystemExit(f"{p}: another run card than {paths[0]}'s; only runs of one setup are joined")
    return join_runs(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=Path, nargs="+", default=[PP / "z4j_gu_train.npz"],
                    help="training dump(s) of one channel; several (e.g. runs of one integration) are joined")
    ap.add_argument("--val", type=Path, nargs="+", default=[PP / "z4j_gu_val.npz"],
                    help="independent validation run(s) of one setup; several are joined into one sample")
    ap.add_argument("--models", nargs="+", default=["dipole", "mlp"], choices=["dipole", "mlp"])
    ap.add_argument(
        "--budget", type=float, default=900.0, help="training CPU seconds per model (all threads)"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: no spinning counted as CPU)")
    ap.add_argument(
        "--parallel-replicas", type=int, default=None, metavar="R",
        help="train R single-thread replicas at once, one process each with the whole --budget, and score "
        "their ensemble (default: TrainConfig.replicas, 2; 1: one replica in this process)",
    )
    ap.add_argument("--max-points", type=int, default=None)
    ap.add_argument("--val-points", type=int, default=None)
    ap.add_argument("--timing-points", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--set-dipole", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--set-mlp", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--keep-onnx", type=Path, default=None, metavar="DIR",
                    help="write the trained surrogates to DIR/<model>.onnx (to score them again: --score)")
    ap.add_argument("--score", type=Path, nargs="+", default=None, metavar="ONNX",
                    help="train nothing: score these surrogates (e.g. from --keep-onnx) on --val")
    ap.add_argument("--val-blocks", type=int, default=1, metavar="K",
                    help="also score each of K disjoint blocks of --val (the spread of ε_2, f_eff/f_ideal)")
    ap.add_argument("--tail", type=int, default=0, metavar="K",
                    help="also list the K events with the largest stage-1 weights s = w me2_surr/me2 and the "
                    "K with the largest |w| (index, s and |w| over the mean |w|, me2_surr/me2): the events "
                    "that set ε_1 and ε_2")
    ap.add_argument("--colour-sampled", type=Path, default=None, metavar="DUMP",
                    help="a colour-sampled dump of the same channel (fame sherpa dump --colour-scheme "
                    "sample): f_eff also against that baseline and the faster one")
    ap.add_argument("--baselines-only", action="store_true",
                    help="train nothing: the two baselines' CPU cost per unweighted event (needs "
                    "--colour-sampled)")
    ap.add_argument("--temper", default=None, metavar="BETA|auto",
                    help="also score two-stage unweighting with the stage-1 weight |s|^BETA (unbiased for "
                    "any 0 < BETA <= 1); auto: the BETA of the highest f_eff on the --train runs")
    ap.add_argument("--from-results", type=Path, nargs="+", default=None, metavar="JSON",
                    help="train nothing: add the baselines to the model rows of earlier outputs of this "
                    "benchmark (needs --colour-sampled)")
    args = ap.parse_args()
    if args.temper not in (None, "auto"):
        try:
            beta = float(args.temper)
        except ValueError:
            ap.error(f"--temper {args.temper!r}: expected a number in (0, 1] or auto")
        if not 0.0 < beta <= 1.0:
            ap.error(f"--temper {args.temper}: expected 0 < BETA <= 1")
    if (args.baselines_only or args.from_results) and args.colour_sampled is None:
        ap.error("--baselines-only and --from-results need --colour-sampled DUMP")

    val = read_runs(args.val)
    if args.val_points is not None:
        val = val.take(slice(0, args.val_points))
    args.sampled = None
    if args.baselines_only:
        print(json.dumps(baselines_only(args, val), indent=1))
        return
    if args.from_results:
        print(json.dumps(from_results(args, val), indent=1))
        return
    if args.colour_sampled is not None:
        args.sampled, info = colour_sampled(args.colour_sampled, val, len(val))
        print(json.dumps({"colour_sampled": info}), file=sys.stderr)
    rows = []
    if args.score:
        train_runs = read_runs(args.train) if args.temper == "auto" else None
        kind = args.models[0] if len(args.models) == 1 else "dipole"  # the --set that trained them (seed)
        held = None if train_runs is None else held_out(train_runs, model_config(kind, args)[0])
        rows = [score(path, {"model": path.stem, "onnx": str(path)}, val, args, train_runs, held)
                for path in args.score]
    else:
        train = read_runs(args.train)
        with tempfile.TemporaryDirectory(prefix="bench_pp_") as tmp:
            out = args.keep_onnx if args.keep_onnx is not None else Path(tmp)
            out.mkdir(parents=True, exist_ok=True)
            for kind in args.models:
                rows.append(one_model(kind, train, val, args, out))
    print(
        json.dumps(
            {
                "benchmark": "bench_pp_accuracy",
                "train": [str(p) for p in args.train],
                "val": [str(p) for p in args.val],
                "n_val": len(val),
                "budget_cpu_s": args.budget,
                "threads": args.threads,
                "load_avg": os.getloadavg(),
                "models": rows,
            },
            indent=1,
        )
    )


def baselines_only(args: argparse.Namespace, val: EventBatch) -> dict[str, Any]:
    """Sherpa's colour-summed and colour-sampled standard generation: CPU ms per unweighted event."""
    train = read_runs(args.train)
    n = len(val)
    t_me, t_ps = float(val.meta["me_cpu_ms_per_point"]), float(val.meta["ps_cpu_ms_per_point"])
    eff_val = standard_efficiency(val.weight, EPS)[0]
    eff_train, err_train, blocks_train = standard_efficiency(train.weight, EPS, block=n)
    sampled, info = colour_sampled(args.colour_sampled, val, n)
    out: dict[str, Any] = {
        "benchmark": "bench_pp_accuracy --baselines-only",
        "block_events": n,
        "colour_summed": {
            "t_me_cpu_ms": t_me,
            "t_ps_cpu_ms": t_ps,
            "gen_cpu_ms_per_event": val.meta.get("gen_cpu_ms_per_event"),
            "eps_full_val": eff_val,
            "eps_full_train_blocks": eff_train,
            "eps_full_train_blocks_err": err_train,
            "n_train_blocks": blocks_train,
            "eps_full_train_all_events": standard_efficiency(train.weight, EPS)[0],
            "n_train_events": len(train),
        },
        "colour_sampled": info,
        "load_avg": os.getloadavg(),
    }
    both = [("val", eff_val), ("train_blocks", eff_train)]
    for label, eff in both:
        summed = Baseline("colour-summed", eff, t_me, t_ps)
        out[f"ms_per_unweighted_summed_{label}"] = summed.ms_per_event
        out[f"summed_over_sampled_cost_{label}"] = summed.ms_per_event / sampled.ms_per_event
    out["ms_per_unweighted_sampled"] = sampled.ms_per_event
    if info["n_events"] >= len(train):  # both at the training run's size too
        big = standard_efficiency(train.weight, EPS)[0]
        eff_s = standard_efficiency(read_dump(_sample_dump(args.colour_sampled)).weight[: len(train)], EPS)[0]
        out["summed_over_sampled_cost_at_train_size"] = (
            Baseline("colour-summed", big, t_me, t_ps).ms_per_event
            / Baseline("colour-sampled", eff_s, sampled.t_me, sampled.t_ps).ms_per_event
        )
    return out


def from_results(args: argparse.Namespace, val: EventBatch) -> dict[str, Any]:
    """The model rows of earlier outputs with f_eff against both baselines (ε_full blocks of their n_val)."""
    runs = []
    for path in args.from_results:
        res = json.loads(path.read_text())
        n_val = int(res["n_val"])
        sampled, info = colour_sampled(args.colour_sampled, val, n_val)
        runs.append({
            "results": str(path),
            "budget_cpu_s": res.get("budget_cpu_s"),
            "n_val": n_val,
            "colour_sampled": info,
            "models": [with_baselines(row, [sampled]) for row in res["models"]],
        })
    return {"benchmark": "bench_pp_accuracy --from-results", "runs": runs}


if __name__ == "__main__":
    main()
