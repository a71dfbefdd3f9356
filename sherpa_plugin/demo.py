"""``fame demo``: the whole chain on the embedded default, e+e- → 3 and 4 jets from the built-in exact ME.

generate (RAMBO + exact |M|^2) → reduced groups → train one factorisation-aware surrogate per group (Dask) →
ONNX bundle → two-stage unweighting on independent points → ``report/index.html``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field, replace
from typing import Any

from fame_surrogate.me import ee_jets_pdg, generate_ee
from fame_surrogate.train import TrainConfig
from lhe_tools import atomic_path, write_dump
from lhe_tools._atomic import check_output_dir

from .bundle import Bundle
from .orchestrate import train_bundle
from .validate import ValidateConfig, validate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoConfig:
    """Settings of :func:`run_demo` (the defaults take a few minutes on 2 CPU cores).

    Parameters
    ----------
    jets : tuple of int
        Jet multiplicities of e+e- → d d̄ + (n-2) g.
    train_points, validate_points : int
        Points per multiplicity for training (incl. the validation split of the training) and for the
        independent two-stage unweighting test.
    y_cut : float
        Global cut s_ij > y_cut·s.
    sqrt_s : float
        Centre-of-mass energy, GeV.
    seed : int
        Seed of the training data; the validation data use ``seed + 1000``.
    train : TrainConfig
        Surrogate training settings (the time budget is per group).
    workers : int or None
        Local Dask workers (None: one per core).
    """

    jets: tuple[int, ...] = (3, 4)
    train_points: int = 20000
    validate_points: int = 50000
    y_cut: float = 0.01
    sqrt_s: float = 1000.0
    seed: int = 1
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_seconds=90.0, epochs=200))
    workers: int | None = None


DEMO_MARKER = "fame-demo.json"


def run_demo(
    out: str | os.PathLike[str], config: DemoConfig | None = None, *, force: bool = False
) -> dict[str, Any]:
    """Run the demo chain and write everything under ``out``.

    ``out`` must be new, empty or a previous demo output (it holds ``fame-demo.json``); with ``force`` any
    folder (the demo's files are written into it, nothing else is removed).

    Parameters
    ----------
    out : path
        Output folder: ``data/train``, ``data/validate`` (fame dumps), ``bundle/`` (ONNX models, manifest,
        Sherpa snippet) and ``bundle/report/`` (HTML report).
    config : DemoConfig, optional
        Settings.

    Returns
    -------
    dict
        ``report`` (path of index.html), ``bundle``, ``f_eff``, ``f_ideal``, ``eps_full``, ``eps_1``,
        ``eps_2``, ``closure_min_p``, per-group training accuracy and ``seconds`` per stage.
    """
    cfg = config or DemoConfig()
    root = check_output_dir(out, DEMO_MARKER, force=force)
    root.mkdir(parents=True, exist_ok=True)
    marker = {"files": [], "written_by": "fame demo"}  # a previous demo: its files are rewritten, not listed
    with atomic_path(root / DEMO_MARKER) as tmp:
        tmp.write_text(json.dumps(marker) + "\n", encoding="utf-8")
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    train_dir, val_dir = root / "data" / "train", root / "data" / "validate"
    val_batches = []
    for n in cfg.jets:
        pdg = ee_jets_pdg(n)
        for folder, points, seed in (
            (train_dir, cfg.train_points, cfg.seed),
            (val_dir, cfg.validate_points, cfg.seed + 1000),
        ):
            batch = generate_ee(pdg, points, y_cut=cfg.y_cut, sqrt_s=cfg.sqrt_s, seed=seed + n)
            write_dump(folder / f"ee_{n}j.npz", batch)
            if folder is val_dir:
                val_batches.append(batch)
            log.info("generated %d points of %s (seed %d)", points, batch.process, seed + n)
    seconds["generate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    bundle_dir = root / "bundle"
    trained = train_bundle([train_dir], bundle_dir, cfg.train, workers=cfg.workers)
    seconds["train"] = time.perf_counter() - t0
    if trained["failed"]:
        errors = "; ".join(
            f"{g['name']}: {g.get('error')}" for g in trained["groups"] if g["status"] == "failed"
        )
        raise RuntimeError(f"training failed for {trained['failed']} group(s): {errors}")

    t0 = time.perf_counter()
    bundle = Bundle.load(bundle_dir)
    report_dir = bundle_dir / "report"
    summary = validate(bundle, val_batches, report_dir, ValidateConfig(seed=cfg.seed))
    seconds["validate"] = time.perf_counter() - t0

    return {
        "report": str(report_dir / "index.html"),
        "bundle": str(bundle_dir),
        "f_eff": summary["f_eff"],
        "f_ideal": summary.get("f_ideal"),
        "eps_full": summary["eps_full"],
        "eps_1": summary["eps_1"],
        "eps_2": summary["eps_2"],
        "closure_min_p": summary["closure_min_p"],
        "groups": [
            {"name": g["name"], "val_frac_within_1pct": g.get("val_frac_within_1pct")}
            for g in trained["groups"]
        ],
        "seconds": seconds,
    }


def quick_config(config: DemoConfig, scale: float) -> DemoConfig:
    """``config`` with point counts and the training budget scaled by ``scale`` (for ``--quick``)."""
    train = config.train
    budget = None if train.max_seconds is None else max(5.0, train.max_seconds * scale)
    return replace(
        config,
        train_points=max(500, int(config.train_points * scale)),
        validate_points=max(2000, int(config.validate_points * scale)),
        train=replace(train, max_seconds=budget),
    )
