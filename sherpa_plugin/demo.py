"""``fame demo``: the whole chain on the embedded default, e+e- → 3, 4 and 5 jets from the built-in exact ME.

generate (RAMBO + exact |M|^2) → reduced groups → train one factorisation-aware surrogate per group (Dask) →
ONNX bundle → two-stage unweighting on independent points → ``report/index.html`` → the gain table.

Two-stage unweighting (arXiv:2109.11964, 2301.13562) pays for the surrogate on every phase-space point and for
the exact ME only on the points the surrogate's stage keeps, so per unweighted event

    f_eff = [(t_ME + t_PS)/ε_full] / [(t_surr + t_PS)/(ε_1 ε_2) + t_ME/ε_2],

and ``f_ideal`` is the same with a perfect surrogate (ε_1 = ε_full, ε_2 = 1): the most any surrogate with this
``t_surr`` can gain at these ``t_ME`` and ``t_PS``.  Every time is measured in the run: the built-in ME, the
surrogate and RAMBO side by side in one process (:func:`sherpa_plugin.validate.validate`); where a Sherpa
Python exists (``.venv-sherpa``), Sherpa's own ``MEProcess.MatrixElement()`` on a few hundred of the same
points, so the table also shows the gain at the ME cost a Sherpa user pays.  At 5 jets the built-in ME costs
several times the phase space and the surrogate, which is where the surrogate pays.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from fame_surrogate.me import ee_jets_pdg, generate_ee
from fame_surrogate.validation import summarize_gain
from lhe_tools import EventBatch, atomic_path, read_dump, write_dump
from lhe_tools._atomic import check_output_dir

from .bundle import Bundle
from .demo_config import DemoConfig
from .orchestrate import train_bundle
from .validate import validate
from .validate_config import ValidateConfig
from .validation_result import ChannelSummary

__all__ = [
    "DEMO_MARKER",
    "DemoResult",
    "GainRow",
    "SherpaTiming",
    "format_summary",
    "quick_config",
    "run_demo",
]

log = logging.getLogger(__name__)

#: the recorded generation times that :func:`run_demo` drops from the validation points, so that
#: ``validate`` measures t_ME, t_surr and t_PS side by side, the same way, in one process
_RECORDED_TIMES = (
    "me_ms_per_point",
    "ps_ms_per_point",
    "me_cpu_ms_per_point",
    "ps_cpu_ms_per_point",
)


@dataclass(frozen=True)
class GainRow:
    """The two-stage gain of one multiplicity, with the times (ms per phase-space point) it used.

    ``f_eff`` and ``f_ideal`` follow :func:`fame_surrogate.validation.gain.effective_gain` and
    :func:`fame_surrogate.validation.gain.ideal_gain`; ``me_source`` says whose exact ME ``t_me_ms`` is.
    """

    jets: int
    process: str
    eps_full: float
    eps_1: float
    eps_2: float
    f_eff: float
    f_ideal: float
    f_eff_over_ideal: float
    t_me_ms: float
    t_surr_ms: float
    t_ps_ms: float
    me_source: str


@dataclass(frozen=True)
class SherpaTiming:
    """Sherpa's ``MEProcess.MatrixElement()`` timed on ``points`` of the demo's validation points.

    ``ms_per_point`` is the median wall time of one call (``SetMomenta`` excluded; the demo's t_ME with
    Sherpa: the median is robust against other jobs preempting a call, and against the first calls' set-up,
    which the mean thread CPU time ``cpu_ms_per_point`` includes); ``max_rel_dev_builtin`` is the largest
    relative difference between Sherpa's |M|^2 and the built-in one at those points (a check of both).
    """

    jets: int
    process: str
    points: int
    ms_per_point: float
    cpu_ms_per_point: float
    max_rel_dev_builtin: float
    sherpa_version: str


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` did and measured.

    Attributes
    ----------
    report, bundle : str
        ``index.html`` of the validation report; the bundle folder.
    rows : tuple of GainRow
        Per multiplicity, with the built-in ME's time measured in this run.
    sherpa_rows : tuple of GainRow
        The same efficiencies, t_surr and t_PS with Sherpa's ``MEProcess`` time (empty without Sherpa).
    sherpa_timings : tuple of SherpaTiming
        Sherpa's timings (empty without Sherpa).
    sherpa_note : str
        One line: how Sherpa was timed, or why it was not.
    within_1pct : dict
        Per multiplicity, the fraction of the independent validation points whose surrogate |M|^2 lies
        within 1% of the exact one.
    closure_min_p : float or None
        Smallest closure p-value over all channels and observables (None: too few unweighted events).
    time_sources : dict
        Per multiplicity, where ``t_me``, ``t_surr`` and ``t_ps`` came from (validate's labels).
    seconds : dict
        Wall seconds per stage (``generate``, ``train``, ``validate``, ``sherpa``, ``total``).
    cpu_seconds : float
        CPU seconds of this process and its finished children (the Dask workers) over the whole run.
    config : dict
        The settings.
    """

    report: str
    bundle: str
    rows: tuple[GainRow, ...]
    sherpa_rows: tuple[GainRow, ...]
    sherpa_timings: tuple[SherpaTiming, ...]
    sherpa_note: str
    within_1pct: dict[int, float]
    closure_min_p: float | None
    time_sources: dict[int, dict[str, str]]
    seconds: dict[str, float]
    cpu_seconds: float
    config: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready dict (also written to ``OUT/demo-summary.json``)."""
        return asdict(self)

    def summary(self) -> str:
        """The text ``fame demo`` prints: the gain table first (:func:`format_summary`)."""
        return format_summary(self)


DEMO_MARKER = "fame-demo.json"
SUMMARY_JSON = "demo-summary.json"
SUMMARY_TXT = "demo-summary.txt"


def _cpu_seconds() -> float:
    own = os.times()
    return float(own.user + own.system + own.children_user + own.children_system)


def _row(jets: int, process: str, ch: ChannelSummary, t_me_ms: float, source: str) -> GainRow:
    c = ch.two_stage.gain
    g = summarize_gain(c.eps_full, c.eps_1, c.eps_2, c.alpha, t_me_ms, c.t_surr, c.t_ps)
    return GainRow(
        jets=jets,
        process=process,
        eps_full=g.eps_full,
        eps_1=g.eps_1,
        eps_2=g.eps_2,
        f_eff=g.f_eff,
        f_ideal=g.f_ideal,
        f_eff_over_ideal=g.f_eff / g.f_ideal,
        t_me_ms=g.t_me,
        t_surr_ms=g.t_surr,
        t_ps_ms=g.t_ps,
        me_source=source,
    )


def _sherpa_timings(
    root: Path, batches: Mapping[int, EventBatch], points: int, sherpa_python: str | None
) -> tuple[list[SherpaTiming], str]:
    """Time Sherpa's ``MEProcess`` on the first ``points`` validation points of each multiplicity."""
    from .dump import DumpSettings, sherpa_dump
    from .dump_runner import SherpaDumpError
    from .sherpa_env import SherpaNotAvailable, find_sherpa_python

    if points <= 0:
        return [], "Sherpa MEProcess timing: off (sherpa_points = 0)"
    try:
        python = find_sherpa_python(sherpa_python)
    except SherpaNotAvailable:
        where = sherpa_python or os.environ.get("FAME_SHERPA_PYTHON") or ".venv-sherpa"
        return [], (
            f"Sherpa MEProcess timing: not run, no Sherpa Python ({where}; `make sherpa-env` creates "
            ".venv-sherpa), so the gain uses the built-in ME's time only"
        )
    timings: list[SherpaTiming] = []
    for jets, batch in batches.items():
        sub = batch.take(slice(0, min(points, len(batch))))
        folder = root / f"{jets}j"
        with tempfile.TemporaryDirectory(prefix="fame-demo-sherpa-") as tmp:
            src = write_dump(Path(tmp) / f"ee_{jets}j.npz", sub)
            try:
                res = sherpa_dump(
                    folder, DumpSettings(points=len(sub)), input_dump=src, sherpa_python=python,
                    fresh=True, progress=False,
                )
            except SherpaDumpError as err:
                first = str(err).splitlines()[0] if str(err) else type(err).__name__
                return timings, f"Sherpa MEProcess timing: failed at {jets} jets ({first})"
        dumped = read_dump(folder / res.channels[0].file)
        if sub.me2 is None or dumped.me2 is None:
            raise ValueError(f"{folder}: no |M|^2 to compare Sherpa's with the built-in one at {jets} jets")
        dev = float(np.max(np.abs(dumped.me2 / sub.me2 - 1.0)))
        timings.append(
            SherpaTiming(
                jets=jets,
                process=sub.process,
                points=len(sub),
                ms_per_point=float(res.ms_per_point),
                cpu_ms_per_point=float(dumped.meta.get("me_cpu_ms_per_point", math.nan)),
                max_rel_dev_builtin=dev,
                sherpa_version=f"Sherpa {res.sherpa_version or '(version unknown)'}",
            )
        )
    version = timings[0].sherpa_version if timings else "Sherpa"
    return timings, (
        f"Sherpa MEProcess timing: {version}, median time of one MatrixElement() call at {points} of the "
        f"validation points per process (this run); Sherpa and built-in |M|^2 agree there to "
        f"{max(t.max_rel_dev_builtin for t in timings):.1e} relative"
    )


def run_demo(
    out: str | os.PathLike[str], config: DemoConfig | None = None, *, force: bool = False
) -> DemoResult:
    """Run the demo chain and write everything under ``out``.

    ``out`` must be new, empty or a previous demo output (it holds ``fame-demo.json``); with ``force`` any
    folder (the demo's files are written into it, nothing else is removed).

    Parameters
    ----------
    out : path
        Output folder: ``data/train``, ``data/validate`` (fame dumps), ``bundle/`` (ONNX models, manifest,
        Sherpa snippet), ``bundle/report/`` (HTML report), ``sherpa-timing/`` (Sherpa's |M|^2 and timings at
        the timed points, where Sherpa exists), ``demo-summary.txt`` (what ``fame demo`` prints) and
        ``demo-summary.json``.
    config : DemoConfig, optional
        Settings.

    Returns
    -------
    DemoResult
    """
    cfg = config or DemoConfig()
    start, cpu0 = time.perf_counter(), _cpu_seconds()
    root = check_output_dir(out, DEMO_MARKER, force=force)
    root.mkdir(parents=True, exist_ok=True)
    marker = {"files": [], "written_by": "fame demo"}  # a previous demo: its files are rewritten, not listed
    with atomic_path(root / DEMO_MARKER) as tmp:
        tmp.write_text(json.dumps(marker) + "\n", encoding="utf-8")
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    train_dir, val_dir = root / "data" / "train", root / "data" / "validate"
    val_batches: dict[int, EventBatch] = {}
    for n in cfg.jets:
        pdg = ee_jets_pdg(n)
        for folder, points, seed in (
            (train_dir, cfg.train_points, cfg.seed),
            (val_dir, cfg.validate_points, cfg.seed + 1000),
        ):
            batch = generate_ee(pdg, points, y_cut=cfg.y_cut, sqrt_s=cfg.sqrt_s, seed=seed + n)
            write_dump(folder / f"ee_{n}j.npz", batch)
            if folder is val_dir:
                meta = {k: v for k, v in batch.meta.items() if k not in _RECORDED_TIMES}
                val_batches[n] = replace(batch, meta=meta)
            log.info("generated %d points of %s (seed %d)", points, batch.process, seed + n)
    seconds["generate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    bundle_dir = root / "bundle"
    workers = cfg.workers if cfg.workers is not None else len(cfg.jets)
    trained = train_bundle([train_dir], bundle_dir, cfg.train, workers=workers, force=force)
    seconds["train"] = time.perf_counter() - t0
    if trained.failed:
        errors = "; ".join(f"{g.name}: {g.error}" for g in trained.groups if g.error is not None)
        raise RuntimeError(f"training failed for {trained.failed} group(s): {errors}")

    t0 = time.perf_counter()
    bundle = Bundle.load(bundle_dir)
    report_dir = bundle_dir / "report"
    vcfg = ValidateConfig(seed=cfg.seed, timing_clock="cpu", timing_repeats=cfg.timing_repeats)
    summary = validate(bundle, list(val_batches.values()), report_dir, vcfg, force=force)
    seconds["validate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    timings, note = _sherpa_timings(root / "sherpa-timing", val_batches, cfg.sherpa_points, cfg.sherpa_python)
    seconds["sherpa"] = time.perf_counter() - t0

    channels = summary.channels
    rows, sherpa_rows = [], []
    by_jets = {t.jets: t for t in timings}
    for n, batch in val_batches.items():
        ch = channels[batch.process]
        rows.append(_row(n, batch.process, ch, ch.two_stage.gain.t_me, "built-in (fame_surrogate.me)"))
        if n in by_jets:
            sherpa_rows.append(
                _row(n, batch.process, ch, by_jets[n].ms_per_point, by_jets[n].sherpa_version)
            )
    seconds["total"] = time.perf_counter() - start
    result = DemoResult(
        report=str(report_dir / "index.html"),
        bundle=str(bundle_dir),
        rows=tuple(rows),
        sherpa_rows=tuple(sherpa_rows),
        sherpa_timings=tuple(timings),
        sherpa_note=note,
        within_1pct={n: channels[b.process].accuracy.frac_within_1pct for n, b in val_batches.items()},
        closure_min_p=summary.closure_min_p,
        time_sources={n: dict(channels[b.process].time_sources) for n, b in val_batches.items()},
        seconds=seconds,
        cpu_seconds=_cpu_seconds() - cpu0,
        config=json.loads(json.dumps(asdict(cfg), default=str)),
    )
    with atomic_path(root / SUMMARY_JSON) as tmp:
        tmp.write_text(json.dumps(result.to_json(), indent=1) + "\n", encoding="utf-8")
    with atomic_path(root / SUMMARY_TXT) as tmp:
        tmp.write_text(result.summary() + "\n", encoding="utf-8")
    return result


def _us(ms: float) -> str:
    return f"{1e3 * ms:.3g}"


def _table(rows: Sequence[GainRow]) -> list[str]:
    head = (
        f"{'jets':>4}  {'eps_full':>9}  {'eps_1':>9}  {'eps_2':>6}  {'f_eff':>6}  {'f_ideal':>7}  "
        f"{'f_eff/f_ideal':>13}  {'t_ME/us':>8}  {'t_surr/us':>9}  {'t_PS/us':>8}"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"{r.jets:>4}  {r.eps_full:>9.4g}  {r.eps_1:>9.4g}  {r.eps_2:>6.4f}  {r.f_eff:>6.3g}  "
            f"{r.f_ideal:>7.3g}  {r.f_eff_over_ideal:>13.3f}  {_us(r.t_me_ms):>8}  {_us(r.t_surr_ms):>9}  "
            f"{_us(r.t_ps_ms):>8}"
        )
    return lines


def format_summary(result: DemoResult) -> str:
    """The demo's summary: the per-multiplicity gain table (built-in ME times, then Sherpa's), then the rest.

    Times are microseconds per phase-space point, measured in this run; f_eff and f_ideal as in
    :mod:`fame_surrogate.validation.gain`.
    """
    lines = [
        "Two-stage unweighting gain per multiplicity, e+e- -> jets"
        " (times: CPU us per phase-space point, measured in this run)",
        "f_eff = [(t_ME + t_PS)/eps_full] / [(t_surr + t_PS)/(eps_1 eps_2) + t_ME/eps_2];"
        " f_ideal = f_eff of a perfect surrogate (eps_1 = eps_full, eps_2 = 1)",
        "",
        "with the built-in exact ME (t_ME, t_surr, t_PS: CPU time, timed side by side on 4096 points, "
        f"fastest of {result.config.get('timing_repeats', '?')}):",
        *_table(result.rows),
        "",
    ]
    if result.sherpa_rows:
        lines += [
            "with Sherpa's MEProcess time as t_ME (same eps, t_surr, t_PS):",
            *_table(result.sherpa_rows),
        ]
    lines.append(result.sherpa_note)
    within = ", ".join(f"{n} jets {100 * f:.1f}%" for n, f in result.within_1pct.items())
    p = result.closure_min_p
    lines += [
        "",
        f"surrogate |M|^2 within 1% of the exact one on the independent validation points: {within}",
        "closure (two-stage unweighted vs exactly weighted histograms): "
        + ("not tested (too few unweighted events)" if p is None else f"smallest p-value {p:.3g}"),
        "wall seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in result.seconds.items())
        + f"; CPU seconds {result.cpu_seconds:.0f}",
        f"report: {result.report}",
    ]
    return "\n".join(lines)


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
