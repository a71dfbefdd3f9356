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

import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from fame_surrogate import me
from fame_surrogate.phasespace import EEPhaseSpace, min_sij_over_s
from fame_surrogate.validation import (
    Accuracy,
    SigmaEstimate,
    closure_test,
    is_lepton_collision,
    observables,
    summarize_gain,
    two_stage,
    unweight,
)
from lhe_tools import EventBatch, concatenate
from lhe_tools._atomic import check_output_dir
from lhe_tools.fourvec import msq

from .report import REPORT_MARKER, ChannelData, write_report

F8 = npt.NDArray[np.float64]

__all__ = ["GEV2_TO_PB", "Predictor", "ValidateConfig", "ValidationResult", "validate"]

log = logging.getLogger(__name__)

#: (hbar c)^2 in pb GeV^2
GEV2_TO_PB = 3.89379656e8


class Predictor(Protocol):
    """Anything that predicts ``(me2, me2_std)``, float64 ``(N,)`` each, for the events of a batch."""

    def predict(self, batch: EventBatch) -> tuple[F8, F8]: ...


@dataclass(frozen=True)
class ValidateConfig:
    """Settings of :func:`validate`.

    Parameters
    ----------
    eps : float
        ``Max_Epsilon`` of ``w_max`` and ``s_max`` (Sherpa's default 1e-3).
    eps_x : float
        ``Max_Epsilon`` of the stage-2 maximum ``x_max``.
    budget : str
        How the stage-1 ``Max_Epsilon`` excess is measured: ``"sigma"`` (cross section, default) or
        ``"surrogate"`` (surrogate weight); see :mod:`fame_surrogate.validation.unweighting`.
    seed : int
        Seed of the accept/reject random numbers.
    max_points : int or None
        Use at most this many points per channel (the first ones; the data are in random order).
    n_bins : int
        Bins per closure observable.
    timing_points : int
        Points per timing call (``t_surr`` is the surrogate timed in one batch of this size: a host that
        batches).
    timing_events_batch1 : int
        Events timed one call each for ``t_surr_batch1`` (a host that calls the surrogate once per
        phase-space point, as a generator does), and with it ``f_eff_batch1``; 0: not measured.
    timing_repeats : int
        Timing repeats; the fastest is used.
    timing_clock : str
        Clock of the times measured here: ``"wall"`` (default) or ``"cpu"`` (CPU time of this process, all
        its threads: the cost per point that other jobs on a shared machine do not inflate).
    t_me_ms, t_surr_ms, t_ps_ms : float or None
        Fixed times per point (ms) instead of the data's or measured ones (a given ``t_surr_ms`` also
        stands for the per-event time).
    recorded_times : str
        Which of the data's recorded Sherpa times to use: ``"wall"`` (``me_ms_per_point``,
        ``ps_ms_per_point``) or ``"cpu"`` (``me_cpu_ms_per_point``, ``ps_cpu_ms_per_point``, which other jobs
        on a shared machine do not inflate; the wall ones where a dump has no CPU figure).
    report : bool
        Write the HTML report into ``out``.
    """

    eps: float = 1e-3
    eps_x: float = 1e-3
    budget: str = "sigma"
    seed: int = 0
    max_points: int | None = None
    n_bins: int = 12
    timing_points: int = 4096
    timing_events_batch1: int = 256
    timing_repeats: int = 3
    timing_clock: str = "wall"
    t_me_ms: float | None = None
    t_surr_ms: float | None = None
    t_ps_ms: float | None = None
    recorded_times: str = "wall"
    report: bool = True

    def __post_init__(self) -> None:
        if self.recorded_times not in ("wall", "cpu"):
            raise ValueError(f"ValidateConfig.recorded_times={self.recorded_times!r}; expected wall or cpu")
        if self.timing_clock not in ("wall", "cpu"):
            raise ValueError(f"ValidateConfig.timing_clock={self.timing_clock!r}; expected wall or cpu")


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


def _accuracy(ratio: F8) -> dict[str, float]:
    """The accuracy figures of a channel's JSON row (:class:`~fame_surrogate.validation.Accuracy`)."""
    acc = Accuracy.of_ratio(ratio)
    return {
        "frac_within_1pct": acc.frac_within_1pct,
        "frac_within_0p1pct": acc.frac_within_0p1pct,
        "median_abs_rel_dev": acc.median_abs_rel_dev,
    }


def _gain_row(
    w: F8, s: F8, eps_full: float, times: Mapping[str, float], config: ValidateConfig, seed: int
) -> tuple[dict[str, Any], Any]:
    res = two_stage(
        w, s, np.random.default_rng(seed), eps_s=config.eps, eps_x=config.eps_x, budget=config.budget
    )
    g = summarize_gain(
        eps_full, res.eps_1, res.eps_2, res.alpha, times["t_me"], times["t_surr"], times["t_ps"]
    )
    row = {k if not k.startswith("t_") else f"{k}_ms": v for k, v in g.to_json().items()}
    row["f_eff_over_ideal"] = g.f_eff / g.f_ideal
    # the same efficiencies for a host that calls the surrogate once per event (t_surr at batch 1)
    row["t_surr_batch_size"] = int(times["t_surr_batch_size"])
    row["t_surr_batch1_ms"] = _finite_or_none(times["t_surr_batch1"])
    row["f_eff_batch1"] = row["f_ideal_batch1"] = None
    if math.isfinite(times["t_surr_batch1"]):
        one = summarize_gain(
            eps_full, res.eps_1, res.eps_2, res.alpha, times["t_me"], times["t_surr_batch1"], times["t_ps"]
        )
        row["f_eff_batch1"], row["f_ideal_batch1"] = one.f_eff, one.f_ideal
    row.update(
        s_max=res.s_max,
        x_max=res.x_max,
        overweight_fraction_1=res.overweight_fraction_1,
        overweight_fraction_2=res.overweight_fraction_2,
        overweight_sigma_fraction=res.overweight_sigma_fraction,
        n_stage1=int(res.stage1.sum()),
        n_accepted=res.n_accepted,
    )
    return row, res


def _channel(
    predictor: Predictor,
    batch: EventBatch,
    config: ValidateConfig,
    compare: Mapping[str, Predictor],
) -> tuple[ChannelData, dict[str, Any], dict[str, dict[str, Any]]]:
    me2 = _exact_me2(batch)
    w = batch.weight
    if batch.me2 is None and batch.ps_weight is not None:
        w = batch.ps_weight * me2
    pred = _predict(predictor, batch, "predictor")
    ratio = np.divide(pred, me2, out=np.zeros_like(pred), where=me2 != 0)
    s = w * ratio
    std = unweight(w, np.random.default_rng(config.seed), eps=config.eps)
    times, sources = _times(predictor, batch, config)
    row, res = _gain_row(w, s, std.efficiency, times, config, config.seed + 1)
    scale, unit = _sigma_scale(batch)
    obs = observables(batch.momenta, batch.pdg.tolist(), batch.n_in)
    clo = closure_test(obs, w, res, n_bins=config.n_bins, scale=scale)
    summary: dict[str, Any] = {
        "n_points": len(batch),
        **_accuracy(ratio),
        **row,
        "w_max": std.w_max,
        "overweight_fraction_standard": std.overweight_fraction,
        "overweight_sigma_fraction_standard": std.overweight_sigma_fraction,
        "alpha_standard": std.alpha,
        "time_sources": sources,
        # None: not tested (too few unweighted events for a χ², see closure.MIN_EXPECTED)
        "closure_p": {k: _finite_or_none(v) for k, v in clo.p_values.items()},
        "closure_min_p": _finite_or_none(clo.min_p),
        "closure_expected_unweighted": clo.expected_unweighted,
        "sigma_weighted": clo.sigma_weighted.to_json(),
        "sigma_unweighted": clo.sigma_unweighted.to_json(),
        "sigma_pull": clo.sigma_pull,
        "sigma_unit": unit,
        "sigma_scale": scale,
        "sum_abs_s_scaled": float(np.mean(np.abs(s))) * scale,
    }
    comps: dict[str, dict[str, Any]] = {}
    for k, (name, other) in enumerate(compare.items()):
        opred = _predict(other, batch, f"comparison surrogate {name!r}")
        oratio = np.divide(opred, me2, out=np.zeros_like(opred), where=me2 != 0)
        otimes, _ = _times(other, batch, config)
        orow, _ = _gain_row(w, w * oratio, std.efficiency, otimes, config, config.seed + 2 + k)
        comps[name] = {**_accuracy(oratio), **orow}
    data = ChannelData(
        process=batch.process,
        n_out=batch.n_out,
        ratio=ratio,
        min_sij=min_sij_over_s(batch.momenta[:, batch.n_in :], _sqrt_s(batch)),
        w=w,
        s=s,
        w_max=std.w_max,
        s_max=res.s_max,
        x_max=res.x_max,
        closure=clo,
        summary=summary,
    )
    return data, summary, comps


def _aggregate(channels: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    rows = list(channels.values())
    if len(rows) == 1:
        r = rows[0]
        keys = (
            "eps_full",
            "eps_1",
            "eps_2",
            "alpha",
            "f_eff",
            "f_ideal",
            "f_eff_over_ideal",
            "f_eff_alpha",
            "t_me_ms",
            "t_surr_ms",
            "t_ps_ms",
            "t_surr_batch_size",
            "t_surr_batch1_ms",
            "f_eff_batch1",
            "f_ideal_batch1",
            "events_per_cpu_hour_standard",
            "events_per_cpu_hour_two_stage",
            "events_per_cpu_hour_two_stage_alpha",
            "closure_min_p",
            "sigma_weighted",
            "sigma_unweighted",
            "sigma_pull",
            "sigma_unit",
            "time_sources",
        )
        return {k: r[k] for k in keys}
    sig = np.array([r["sigma_weighted"]["value"] for r in rows])
    frac = np.abs(sig) / np.sum(np.abs(sig))
    sc = np.array([r["sigma_scale"] for r in rows])
    s_abs = np.array([r["sum_abs_s_scaled"] for r in rows])

    def per_event(r: Mapping[str, Any], kind: str, t_surr_key: str = "t_surr_ms") -> float:
        tm, tp = r["t_me_ms"], r["t_ps_ms"]
        ts = math.nan if r[t_surr_key] is None else r[t_surr_key]
        if kind == "std":
            return float((tm + tp) / r["eps_full"])
        if kind == "ideal":
            return float((ts + tp) / r["eps_full"] + tm)
        return float((ts + tp) / (r["eps_1"] * r["eps_2"]) + tm / r["eps_2"])

    t_std = float(sum(f * per_event(r, "std") for f, r in zip(frac, rows, strict=True)))
    t_two = float(sum(f * per_event(r, "two") for f, r in zip(frac, rows, strict=True)))
    t_ideal = float(sum(f * per_event(r, "ideal") for f, r in zip(frac, rows, strict=True)))
    alpha = float(sum(f * r["alpha"] for f, r in zip(frac, rows, strict=True)))
    units = {r["sigma_unit"] for r in rows}
    sources: dict[str, str] = {}
    for key in ("t_me", "t_surr", "t_ps", "t_surr_batch1"):
        sources[key] = "; ".join(sorted({r["time_sources"][key] for r in rows}))
    out = {
        "eps_full": float(np.sum(np.abs(sig)) / np.sum(sc * np.array([r["w_max"] for r in rows]))),
        "eps_1": float(np.sum(s_abs) / np.sum(sc * np.array([r["s_max"] for r in rows]))),
        "eps_2": float(np.sum(s_abs * np.array([r["eps_2"] for r in rows])) / np.sum(s_abs)),
        "alpha": alpha,
        "f_eff": t_std / t_two,
        "f_ideal": t_std / t_ideal,
        "f_eff_over_ideal": t_ideal / t_two,
        "f_eff_alpha": alpha * t_std / t_two,
        "events_per_cpu_hour_standard": 3.6e6 / t_std,
        "events_per_cpu_hour_two_stage": 3.6e6 / t_two,
        "events_per_cpu_hour_two_stage_alpha": alpha * 3.6e6 / t_two,
        "closure_min_p": min(
            (r["closure_min_p"] for r in rows if r["closure_min_p"] is not None), default=None
        ),
        "sigma_weighted": {
            "value": float(np.sum(sig)),
            "error": float(np.sqrt(sum(r["sigma_weighted"]["error"] ** 2 for r in rows))),
        },
        "sigma_unweighted": {
            "value": float(sum(r["sigma_unweighted"]["value"] for r in rows)),
            "error": float(np.sqrt(sum(r["sigma_unweighted"]["error"] ** 2 for r in rows))),
        },
        "sigma_unit": units.pop() if len(units) == 1 else "mixed (per channel only)",
        "time_sources": sources,
    }
    for key in ("t_me_ms", "t_surr_ms", "t_ps_ms"):
        out[key] = float(sum(f * r[key] for f, r in zip(frac, rows, strict=True)))
    # per-event host (t_surr at batch 1)
    sizes = {r["t_surr_batch_size"] for r in rows}
    out["t_surr_batch_size"] = sizes.pop() if len(sizes) == 1 else max(r["t_surr_batch_size"] for r in rows)
    pairs = list(zip(frac, rows, strict=True))
    one = float(sum(f * per_event(r, "two", "t_surr_batch1_ms") for f, r in pairs))
    one_ideal = float(sum(f * per_event(r, "ideal", "t_surr_batch1_ms") for f, r in pairs))
    t1 = float(
        sum(f * (math.nan if r["t_surr_batch1_ms"] is None else r["t_surr_batch1_ms"]) for f, r in pairs)
    )
    out["t_surr_batch1_ms"] = _finite_or_none(t1)
    out["f_eff_batch1"] = _finite_or_none(t_std / one)
    out["f_ideal_batch1"] = _finite_or_none(t_std / one_ideal)
    return out


@dataclass(frozen=True)
class ValidationResult:
    """What :func:`validate` found: the figures of the whole sample, per channel and per comparison surrogate.

    With one channel the top-level figures are that channel's; with several they describe the mixed sample as
    Sherpa would generate it (module docstring).  Times are CPU (or wall) milliseconds per phase-space point.

    Attributes
    ----------
    eps_full, eps_1, eps_2 : float
        Standard and two-stage unweighting efficiencies.
    alpha : float
        Kish factor of the final two-stage weights (σ-weighted mean over channels).
    f_eff, f_ideal, f_eff_over_ideal, f_eff_alpha : float
        Effective gain, the gain of a perfect surrogate, their ratio, and ``alpha · f_eff``.
    t_me_ms, t_surr_ms, t_ps_ms : float
        Exact ME, surrogate (batches of ``t_surr_batch_size``) and phase-space time per point.
    t_surr_batch_size : int
        Points per timed surrogate call.
    t_surr_batch1_ms, f_eff_batch1, f_ideal_batch1 : float or None
        The same for a host that calls the surrogate once per event (None: not measured).
    events_per_cpu_hour_standard, events_per_cpu_hour_two_stage, events_per_cpu_hour_two_stage_alpha : float
        Unweighted events per CPU hour, standard and two-stage (and with the overweight dilution ``alpha``).
    closure_min_p : float or None
        Smallest closure p-value (None: no histogram could be tested).
    sigma_weighted, sigma_unweighted : SigmaEstimate
        Cross section (in ``sigma_unit``) from the weighted and the unweighted sample.
    sigma_unit : str
        ``"pb"``, ``"mean event weight"`` or ``"mixed (per channel only)"``.
    time_sources : mapping of str to str
        Where ``t_me``, ``t_surr``, ``t_ps``, ``t_surr_batch1`` came from.
    n_points : int
        Validation points used.
    channels : mapping of str to mapping
        Per process: the channel's JSON row (all of the above and more: maxima, overweights, closure).
    channels_left_out : mapping of str to int
        Channels with a single point (no maxima, no errors): name to point count.
    comparisons : mapping of str to mapping of str to mapping
        Per comparison surrogate and process: its accuracy and gain row.
    config : ValidateConfig
        The settings used.
    report : str or None
        ``index.html`` of the written report, None when none was written.
    sigma_pull : float or None
        ``(σ_unweighted − σ_weighted)/error`` of a single channel (None with several: see ``channels``).
    """

    eps_full: float
    eps_1: float
    eps_2: float
    alpha: float
    f_eff: float
    f_ideal: float
    f_eff_over_ideal: float
    f_eff_alpha: float
    t_me_ms: float
    t_surr_ms: float
    t_ps_ms: float
    t_surr_batch_size: int
    t_surr_batch1_ms: float | None
    f_eff_batch1: float | None
    f_ideal_batch1: float | None
    events_per_cpu_hour_standard: float
    events_per_cpu_hour_two_stage: float
    events_per_cpu_hour_two_stage_alpha: float
    closure_min_p: float | None
    sigma_weighted: SigmaEstimate
    sigma_unweighted: SigmaEstimate
    sigma_unit: str
    time_sources: Mapping[str, str]
    n_points: int
    channels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    channels_left_out: Mapping[str, int] = field(default_factory=dict)
    comparisons: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    config: ValidateConfig = field(default_factory=ValidateConfig)
    report: str | None = None
    sigma_pull: float | None = None

    @classmethod
    def _from_figures(cls, figures: Mapping[str, Any], **rest: Any) -> ValidationResult:
        """From :func:`_aggregate`'s figures (JSON form) and the remaining fields."""
        sw, su = figures["sigma_weighted"], figures["sigma_unweighted"]
        names = set(cls.__dataclass_fields__) - set(rest) - {"sigma_weighted", "sigma_unweighted"}
        values = {k: figures[k] for k in names if k in figures}
        values["t_surr_batch_size"] = int(values["t_surr_batch_size"])
        return cls(
            sigma_weighted=SigmaEstimate(float(sw["value"]), float(sw["error"])),
            sigma_unweighted=SigmaEstimate(float(su["value"]), float(su["error"])),
            **values,
            **rest,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (``summary.json`` and ``fame validate --json``): every field under its name,
        ``sigma_*`` as ``{"value", "error"}``, ``config`` as a dict; ``sigma_pull`` only with one channel."""
        out: dict[str, Any] = {
            "eps_full": self.eps_full,
            "eps_1": self.eps_1,
            "eps_2": self.eps_2,
            "alpha": self.alpha,
            "f_eff": self.f_eff,
            "f_ideal": self.f_ideal,
            "f_eff_over_ideal": self.f_eff_over_ideal,
            "f_eff_alpha": self.f_eff_alpha,
            "t_me_ms": self.t_me_ms,
            "t_surr_ms": self.t_surr_ms,
            "t_ps_ms": self.t_ps_ms,
            "t_surr_batch_size": self.t_surr_batch_size,
            "t_surr_batch1_ms": self.t_surr_batch1_ms,
            "f_eff_batch1": self.f_eff_batch1,
            "f_ideal_batch1": self.f_ideal_batch1,
            "events_per_cpu_hour_standard": self.events_per_cpu_hour_standard,
            "events_per_cpu_hour_two_stage": self.events_per_cpu_hour_two_stage,
            "events_per_cpu_hour_two_stage_alpha": self.events_per_cpu_hour_two_stage_alpha,
            "closure_min_p": self.closure_min_p,
            "sigma_weighted": self.sigma_weighted.to_json(),
            "sigma_unweighted": self.sigma_unweighted.to_json(),
            "sigma_unit": self.sigma_unit,
            "time_sources": dict(self.time_sources),
        }
        if self.sigma_pull is not None:
            out["sigma_pull"] = self.sigma_pull
        out.update(
            n_points=self.n_points,
            channels={k: dict(v) for k, v in self.channels.items()},
            channels_left_out=dict(self.channels_left_out),
            comparisons={k: {p: dict(r) for p, r in v.items()} for k, v in self.comparisons.items()},
            config=asdict(self.config),
            report=self.report,
        )
        return out


def _finite_or_none(value: float) -> float | None:
    """JSON-friendly: NaN (a closure p-value that could not be computed) becomes None."""
    return None if np.isnan(value) else float(value)


def _merge(batches: Sequence[EventBatch], max_points: int | None) -> tuple[list[EventBatch], dict[str, int]]:
    """One batch per channel, and the channels left out for having a single point (name: points)."""
    by_process: dict[str, list[EventBatch]] = {}
    for b in batches:
        by_process.setdefault(b.process, []).append(b)
    merged, single = [], {}
    for process, items in by_process.items():
        b = items[0] if len(items) == 1 else concatenate(items)
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
        process are concatenated.
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
    channels: dict[str, dict[str, Any]] = {}
    comparisons: dict[str, dict[str, Any]] = {name: {} for name in comps_in}
    for b in merged:
        log.info("validating %s (%d points)", b.process, len(b))
        d, summ, comps = _channel(predictor, b, cfg, comps_in)
        data.append(d)
        channels[b.process] = summ
        for name, row in comps.items():
            comparisons[name][b.process] = row
    writes = out is not None and cfg.report
    result = ValidationResult._from_figures(
        _aggregate(channels),
        n_points=int(sum(len(b) for b in merged)),
        channels=channels,
        channels_left_out=single,
        comparisons=comparisons,
        config=cfg,
        report=str(Path(out) / "index.html") if out is not None and writes else None,
    )
    if out is not None and writes:
        write_report(out, data, result.to_json(), force=force)
    return result
