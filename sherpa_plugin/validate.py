"""``fame validate``: two-stage unweighting (arXiv:2109.11964, 2301.13562), effective gain, closure, report.

For each channel of the validation data (with exact ``me2``): the surrogate predicts ``me2_surr`` at every
point, ``s = w·me2_surr/me2``; the standard one-stage and the two-stage unweighters run with ``Max_Epsilon``
maxima; the times per point ``t_ME`` (the data's recorded value, else the built-in exact ME timed here),
``t_surr`` (the predictor timed here) and ``t_PS`` (the data's recorded value, else RAMBO plus the cut timed
here) give ``f_eff`` and ``f_ideal``; the unweighted sample is compared with the weighted one (closure).
Every time carries the source it came from.

With several channels the top-level figures describe the mixed sample as Sherpa would generate it: ``eps_full
= Σσ_i / Σ w_max,i``, ``eps_1 = Σ⟨|s|⟩_i / Σ s_max,i``, ``eps_2`` the ``⟨|s|⟩``-weighted mean of the
``ε_2,i``, and the gains are ratios of the σ-weighted mean CPU times per unweighted event.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from fame_surrogate import me
from fame_surrogate.phasespace import EEPhaseSpace, min_sij_over_s
from fame_surrogate.validation import (
    Accuracy,
    GainSummary,
    TwoStageResult,
    closure_test,
    is_lepton_collision,
    observables,
    summarize_gain,
    temper,
    two_stage,
    unweight,
)
from lhe_tools import EventBatch
from lhe_tools._atomic import check_output_dir
from lhe_tools.fourvec import msq

from .join_runs import join_runs
from .report import REPORT_MARKER, write_report
from .report_data import ChannelData
from .validate_config import ValidateConfig
from .validation_result import (
    ChannelSummary,
    ComparisonRow,
    GainBlocks,
    SampleFigures,
    TwoStageRow,
    ValidationResult,
    finite_or_none,
)

F8 = npt.NDArray[np.float64]

__all__ = ["GEV2_TO_PB", "Predictor", "validate"]

log = logging.getLogger(__name__)

#: (hbar c)^2 in pb GeV^2
GEV2_TO_PB = 3.89379656e8


class Predictor(Protocol):
    """Anything that predicts ``(me2, me2_std)``, float64 ``(N,)`` each, for the events of a batch."""

    def predict(self, batch: EventBatch) -> tuple[F8, F8]: ...


def _predict(predictor: Predictor, batch: EventBatch, name: str) -> F8:
    me2, _ = predictor.predict(batch)
    pred = np.asarray(me2, dtype=np.float64).reshape(-1)
    if pred.shape != (len(batch),):
        raise ValueError(
            f"{name} returned {pred.shape} predictions for {len(batch)} events of {batch.process}"
        )
    if not np.all(np.isfinite(pred)):
        bad = int(np.flatnonzero(~np.isfinite(pred))[0])
        raise ValueError(f"{name} predicted a non-finite |M|^2 at event {bad} of {batch.process}")
    return pred


def _best_ms_per_point(fn: Any, n: int, repeats: int, clock: str = "wall") -> float:
    now = time.process_time if clock == "cpu" else time.perf_counter
    fn()  # warm-up
    best = math.inf
    for _ in range(max(1, repeats)):
        t0 = now()
        fn()
        best = min(best, now() - t0)
    return 1e3 * best / n


def _exact_me2(batch: EventBatch) -> F8:
    if batch.me2 is not None:
        return batch.me2
    if not me.supports(batch.pdg.tolist()):
        raise ValueError(
            f"{batch.meta.get('source', batch.process)}: no exact me2 column and the built-in ME does not "
            f"cover {batch.process} {batch.pdg.tolist()}; validation needs the exact |M|^2"
        )
    return np.asarray(me.matrix_element(batch.momenta, batch.pdg.tolist()), dtype=np.float64)


def _sqrt_s(batch: EventBatch) -> float:
    if "sqrt_s" in batch.meta:
        return float(batch.meta["sqrt_s"])
    tot = batch.momenta[0, : batch.n_in].sum(axis=0)
    return float(np.sqrt(max(msq(tot), 0.0)))


def _y_cut(batch: EventBatch) -> tuple[float, str]:
    cuts = batch.meta.get("cuts")
    if isinstance(cuts, Mapping) and "y_cut" in cuts:
        return float(cuts["y_cut"]), "meta"
    if "y_cut" in batch.meta:
        return float(batch.meta["y_cut"]), "meta"
    low = float(np.min(min_sij_over_s(batch.momenta[:, batch.n_in :], _sqrt_s(batch))))
    return low, "smallest s_ij/s in the data"


def _recorded_keys(meta: Mapping[str, Any], clock: str) -> tuple[str, str]:
    """The meta keys of the recorded ME and PS times per point for ``clock`` (``wall`` or ``cpu``)."""
    me, ps = "me_ms_per_point", "ps_ms_per_point"
    if clock == "wall":
        return me, ps
    me_cpu, ps_cpu = "me_cpu_ms_per_point", "ps_cpu_ms_per_point"
    return (me_cpu if me_cpu in meta else me), (ps_cpu if ps_cpu in meta else ps)


def _times(
    predictor: Predictor, batch: EventBatch, config: ValidateConfig
) -> tuple[dict[str, float], dict[str, str]]:
    meta = batch.meta
    generator = str(meta.get("generator", "unknown generator"))
    n = min(len(batch), config.timing_points)
    sub = batch.take(slice(0, n))
    t: dict[str, float] = {}
    src: dict[str, str] = {}
    me_key, ps_key = _recorded_keys(meta, config.recorded_times)
    repeats, clock = config.timing_repeats, config.timing_clock
    here = f"measured here ({clock} clock, best of {repeats})"
    if config.t_me_ms is not None:
        t["t_me"], src["t_me"] = config.t_me_ms, "given (ValidateConfig.t_me_ms)"
    elif me_key in meta:
        t["t_me"] = float(meta[me_key])
        src["t_me"] = f"recorded in the data (meta {me_key}, {generator})"
    else:
        if not me.supports(batch.pdg.tolist()):
            raise ValueError(
                f"{meta.get('source', batch.process)}: no recorded me_ms_per_point and no built-in ME for "
                f"{batch.process}; pass ValidateConfig.t_me_ms"
            )
        pdg = batch.pdg.tolist()
        t["t_me"] = _best_ms_per_point(lambda: me.matrix_element(sub.momenta, pdg), n, repeats, clock)
        src["t_me"] = f"{here}: built-in fame_surrogate.me.matrix_element"
    t["t_surr_batch_size"] = float(n)
    if config.t_surr_ms is not None:
        t["t_surr"], src["t_surr"] = config.t_surr_ms, "given (ValidateConfig.t_surr_ms)"
        t["t_surr_batch1"], src["t_surr_batch1"] = config.t_surr_ms, "given (ValidateConfig.t_surr_ms)"
    else:
        t["t_surr"] = _best_ms_per_point(lambda: predictor.predict(sub), n, repeats, clock)
        src["t_surr"] = f"{here}: predictor.predict on batches of {n} points"
        k = min(len(batch), config.timing_events_batch1)
        if k > 0:
            singles = [batch.take(slice(i, i + 1)) for i in range(k)]

            def one_by_one() -> None:
                for single in singles:
                    predictor.predict(single)

            t["t_surr_batch1"] = _best_ms_per_point(one_by_one, k, repeats, clock)
            src["t_surr_batch1"] = f"{here}: predictor.predict on {k} single-event batches, one call each"
        else:
            t["t_surr_batch1"] = math.nan
            src["t_surr_batch1"] = "not measured (ValidateConfig.timing_events_batch1 = 0)"
    if config.t_ps_ms is not None:
        t["t_ps"], src["t_ps"] = config.t_ps_ms, "given (ValidateConfig.t_ps_ms)"
    elif ps_key in meta:
        t["t_ps"] = float(meta[ps_key])
        src["t_ps"] = f"recorded in the data (meta {ps_key}, {generator})"
    elif is_lepton_collision(batch.pdg.tolist(), batch.n_in):
        y_cut, y_src = _y_cut(batch)
        ps = EEPhaseSpace(batch.n_out, _sqrt_s(batch), y_cut)
        rng = np.random.default_rng(config.seed)
        t["t_ps"] = _best_ms_per_point(lambda: ps.generate(n, rng), n, repeats, clock)
        src["t_ps"] = f"{here}: RAMBO + cut y_cut={y_cut:g} ({y_src}), per point passing the cut"
    else:
        t["t_ps"] = 0.0
        src["t_ps"] = "not available (no recorded ps_ms_per_point, no hadron-collider PS here): 0"
    return t, src


def _sigma_scale(batch: EventBatch) -> tuple[float, str]:
    meta = batch.meta
    if batch.ps_weight is not None and "sqrt_s" in meta and "cut_efficiency" in meta:
        s = float(meta["sqrt_s"]) ** 2
        return float(meta["cut_efficiency"]) / (2.0 * s) * GEV2_TO_PB, "pb"
    return 1.0, "mean event weight"


def _two_stage_row(
    w: F8, s: F8, eps_full: float, times: Mapping[str, float], config: ValidateConfig, seed: int
) -> tuple[TwoStageRow, TwoStageResult]:
    res = two_stage(
        w,
        temper(s, config.channel_temper),
        np.random.default_rng(seed),
        eps_s=config.eps,
        eps_x=config.eps_x,
        budget=config.budget,
    )

    def gain(t_surr: float) -> GainSummary:
        return summarize_gain(eps_full, res.eps_1, res.eps_2, res.alpha, times["t_me"], t_surr, times["t_ps"])

    # the same efficiencies for a host that calls the surrogate once per event (t_surr at batch 1)
    batch1 = times["t_surr_batch1"]
    row = TwoStageRow(
        gain=gain(times["t_surr"]),
        gain_batch1=gain(batch1) if math.isfinite(batch1) else None,
        t_surr_batch_size=int(times["t_surr_batch_size"]),
        s_max=res.s_max,
        x_max=res.x_max,
        overweight_fraction_1=res.overweight_fraction_1,
        overweight_fraction_2=res.overweight_fraction_2,
        overweight_sigma_fraction=res.overweight_sigma_fraction,
        n_stage1=int(res.stage1.sum()),
        n_accepted=res.n_accepted,
    )
    return row, res


#: the fewest points per block of :class:`GainBlocks`
MIN_BLOCK_POINTS = 100


def _gain_blocks(w: F8, s: F8, times: Mapping[str, float], config: ValidateConfig) -> GainBlocks | None:
    """f_eff and f_ideal on ``config.gain_blocks`` disjoint blocks of the points (in their order), each block
    unweighted as if it were the whole validation run."""
    k = config.gain_blocks
    size = len(w) // k
    if k < 2 or size < MIN_BLOCK_POINTS:
        return None
    eps_2, f_eff, f_ideal = [], [], []
    for b in range(k):
        part = slice(b * size, (b + 1) * size)
        std = unweight(w[part], np.random.default_rng(config.seed), eps=config.eps)
        row, _ = _two_stage_row(w[part], s[part], std.efficiency, times, config, config.seed + 1)
        eps_2.append(row.gain.eps_2)
        f_eff.append(row.gain.f_eff)
        f_ideal.append(row.gain.f_ideal)
    return GainBlocks(size, tuple(eps_2), tuple(f_eff), tuple(f_ideal))


def _channel_temper(predictor: Predictor, process: str, config: ValidateConfig) -> ValidateConfig:
    """``config`` with the channel's stage-1 temper set: ``config.temper`` where given, else the β recorded
    in the bundle for ``process`` (``Bundle.stage1_temper``), else 1."""
    if config.temper is not None:
        return config
    recorded = getattr(predictor, "stage1_temper", None)  # a Bundle; other predictors record none
    beta = recorded(process) if callable(recorded) else None
    return dataclasses.replace(config, temper=1.0 if beta is None else float(beta))


def _channel(
    predictor: Predictor,
    batch: EventBatch,
    config: ValidateConfig,
    compare: Mapping[str, Predictor],
) -> tuple[ChannelData, dict[str, ComparisonRow]]:
    config = _channel_temper(predictor, batch.process, config)
    me2 = _exact_me2(batch)
    w = batch.weight
    if batch.me2 is None and batch.ps_weight is not None:
        w = batch.ps_weight * me2
    pred = _predict(predictor, batch, "predictor")
    ratio = np.divide(pred, me2, out=np.zeros_like(pred), where=me2 != 0)
    s = w * ratio
    std = unweight(w, np.random.default_rng(config.seed), eps=config.eps)
    times, sources = _times(predictor, batch, config)
    row, res = _two_stage_row(w, s, std.efficiency, times, config, config.seed + 1)
    scale, unit = _sigma_scale(batch)
    obs = observables(batch.momenta, batch.pdg.tolist(), batch.n_in)
    clo = closure_test(obs, w, res, n_bins=config.n_bins, scale=scale)
    summary = ChannelSummary(
        n_points=len(batch),
        accuracy=Accuracy.of_ratio(ratio),
        two_stage=row,
        w_max=std.w_max,
        overweight_fraction_standard=std.overweight_fraction,
        overweight_sigma_fraction_standard=std.overweight_sigma_fraction,
        alpha_standard=std.alpha,
        time_sources=sources,
        # None: not tested (too few unweighted events for a χ², see closure.MIN_EXPECTED)
        closure_p={k: finite_or_none(v) for k, v in clo.p_values.items()},
        closure_min_p=finite_or_none(clo.min_p),
        closure_expected_unweighted=clo.expected_unweighted,
        sigma_weighted=clo.sigma_weighted,
        sigma_unweighted=clo.sigma_unweighted,
        sigma_pull=clo.sigma_pull,
        sigma_unit=unit,
        sigma_scale=scale,
        sum_abs_s_scaled=float(np.mean(np.abs(s))) * scale,
        gain_blocks=_gain_blocks(w, s, times, config),
        temper=config.channel_temper,
    )
    comps: dict[str, ComparisonRow] = {}
    for k, (name, other) in enumerate(compare.items()):
        opred = _predict(other, batch, f"comparison surrogate {name!r}")
        oratio = np.divide(opred, me2, out=np.zeros_like(opred), where=me2 != 0)
        otimes, _ = _times(other, batch, config)
        orow, _ = _two_stage_row(w, w * oratio, std.efficiency, otimes, config, config.seed + 2 + k)
        comps[name] = ComparisonRow(Accuracy.of_ratio(oratio), orow)
    data = ChannelData(
        process=batch.process,
        n_out=batch.n_out,
        ratio=ratio,
        min_sij=min_sij_over_s(batch.momenta[:, batch.n_in :], _sqrt_s(batch)),
        w=w,
        s=temper(s, config.channel_temper),  # the stage-1 weight that s_max and x_max refer to
        w_max=std.w_max,
        s_max=res.s_max,
        x_max=res.x_max,
        closure=clo,
        summary=summary,
    )
    return data, comps


def _merge(batches: Sequence[EventBatch], max_points: int | None) -> tuple[list[EventBatch], dict[str, int]]:
    """One batch per channel, and the channels left out for having a single point (name: points)."""
    by_process: dict[str, list[EventBatch]] = {}
    for b in batches:
        by_process.setdefault(b.process, []).append(b)
    merged, single = [], {}
    for process, items in by_process.items():
        b = join_runs(items)  # one sample; recorded times: the runs' event-weighted means
        if max_points is not None and len(b) > max_points:
            b = b.take(slice(0, max_points))
        if len(b) < 2:  # no maxima, no errors from one point; a rare channel of a weighted sample
            single[process] = len(b)
            continue
        merged.append(b)
    if not merged:
        raise ValueError(f"every channel has a single point ({sorted(single)}); validation needs at least 2")
    return merged, single


def validate(
    predictor: Predictor,
    batches: Sequence[EventBatch],
    out: str | os.PathLike[str] | None,
    config: ValidateConfig | None = None,
    *,
    compare: Mapping[str, Predictor] | None = None,
    force: bool = False,
) -> ValidationResult:
    """Run the reference two-stage unweighter on ``batches`` with ``predictor``; write the report to ``out``.

    Parameters
    ----------
    predictor : Predictor
        E.g. :class:`sherpa_plugin.bundle.Bundle`; ``.predict(batch) -> (me2, me2_std)``.
    batches : sequence of EventBatch
        Validation points with exact ``me2`` (or a process the built-in ME covers); batches of the same
        process are joined (:func:`sherpa_plugin.join_runs.join_runs`: recorded times their event-weighted
        means).
    out : path or None
        Report folder (``index.html``, PNGs, ``summary.json``); None or ``config.report=False``: no report.
    config : ValidateConfig, optional
    compare : mapping of str to Predictor, optional
        Further surrogates (e.g. ``{"mse": ..., "gain": ...}``) evaluated on the same points and timed the
        same way; shown in the report's comparison table and under ``comparisons``.
    force : bool
        Write the report into a non-empty ``out`` that is not a previous report (its other files are kept;
        without ``force`` such an ``out`` is refused before any work).

    Returns
    -------
    ValidationResult
        The figures; its :meth:`~ValidationResult.to_json` is what ``summary.json`` holds.
    """
    cfg = config or ValidateConfig()
    if not batches:
        raise ValueError("validate needs at least one batch of validation points")
    if out is not None and cfg.report:
        check_output_dir(out, REPORT_MARKER, force=force)  # refuse before the work, not after it
    merged, single = _merge(batches, cfg.max_points)
    if single:
        log.warning("left out %d channel(s) with a single validation point: %s", len(single), sorted(single))
    comps_in = dict(compare or {})
    data: list[ChannelData] = []
    comparisons: dict[str, dict[str, ComparisonRow]] = {name: {} for name in comps_in}
    for b in merged:
        log.info("validating %s (%d points)", b.process, len(b))
        d, comps = _channel(predictor, b, cfg, comps_in)
        data.append(d)
        for name, row in comps.items():
            comparisons[name][b.process] = row
    channels = {d.process: d.summary for d in data}
    writes = out is not None and cfg.report
    result = ValidationResult.of_figures(
        SampleFigures.of_channels(list(channels.values())),
        n_points=int(sum(len(b) for b in merged)),
        channels=channels,
        channels_left_out=single,
        comparisons=comparisons,
        config=cfg,
        report=str(Path(out) / "index.html") if out is not None and writes else None,
    )
    if out is not None and writes:
        write_report(out, data, result, force=force)
    return result
