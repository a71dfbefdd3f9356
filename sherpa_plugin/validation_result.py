"""What :func:`sherpa_plugin.validate.validate` finds, typed: per surrogate and channel, per channel, sample.

:class:`TwoStageRow` is the two-stage unweighting of one surrogate on one channel (gains at the timed batch
size and at one event per call, maxima, overweights); :class:`ComparisonRow` adds the surrogate's accuracy
(the rows of ``comparisons``); :class:`ChannelSummary` is the validated surrogate on one channel, with the
standard unweighting, the time sources and the closure (the rows of ``channels``); :class:`SampleFigures`
are the top-level figures, one channel's or the mixed sample's (:meth:`SampleFigures.of_channels`).  Each
``to_json()`` gives the keys of ``summary.json``; :class:`ValidationResult` holds them all, and its
``to_json()`` is what ``summary.json`` holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from fame_surrogate.validation import (
    MS_PER_HOUR,
    Accuracy,
    GainSummary,
    SigmaEstimate,
    ms_per_event_standard,
    ms_per_event_two_stage,
)

from .validate_config import ValidateConfig

__all__ = [
    "ChannelSummary",
    "ComparisonRow",
    "GainBlocks",
    "SampleFigures",
    "TwoStageRow",
    "ValidationResult",
    "finite_or_none",
]


def finite_or_none(value: float) -> float | None:
    """JSON-friendly: NaN (a closure p-value that could not be computed, a time not measured) becomes None."""
    return None if np.isnan(value) else float(value)


def _summary_name(gain_field: str) -> str:
    """The name of a :class:`GainSummary` field in ``summary.json`` and :class:`SampleFigures`: times
    (``t_*``, ms per point) as ``t_*_ms``."""
    return f"{gain_field}_ms" if gain_field.startswith("t_") else gain_field


def _gain_json(gain: GainSummary) -> dict[str, float]:
    """A gain's figures under their names in ``summary.json`` and :class:`SampleFigures`."""
    return {_summary_name(k): v for k, v in gain.to_json().items()}


def _accuracy_json(acc: Accuracy) -> dict[str, float]:
    """The accuracy figures of a channel's or comparison's JSON row."""
    return {
        "frac_within_1pct": acc.frac_within_1pct,
        "frac_within_0p1pct": acc.frac_within_0p1pct,
        "median_abs_rel_dev": acc.median_abs_rel_dev,
    }


@dataclass(frozen=True)
class TwoStageRow:
    """Two-stage unweighting of one surrogate on one channel.

    Attributes
    ----------
    gain : GainSummary
        Efficiencies, times (surrogate timed on batches of ``t_surr_batch_size`` points) and gains.
    gain_batch1 : GainSummary or None
        The same for a host that calls the surrogate once per event (None: not measured).
    t_surr_batch_size : int
        Points per timed surrogate call.
    s_max, x_max : float
        Stage-1 and stage-2 maxima.
    overweight_fraction_1, overweight_fraction_2, overweight_sigma_fraction : float
        Overweights of the two stages, and the cross-section share of final weights above 1.
    n_stage1, n_accepted : int
        Points kept by stage 1, and in the end.
    """

    gain: GainSummary
    gain_batch1: GainSummary | None
    t_surr_batch_size: int
    s_max: float
    x_max: float
    overweight_fraction_1: float
    overweight_fraction_2: float
    overweight_sigma_fraction: float
    n_stage1: int
    n_accepted: int

    @property
    def f_eff_over_ideal(self) -> float:
        """``f_eff / f_ideal``."""
        return self.gain.f_eff / self.gain.f_ideal

    @property
    def t_surr_batch1_ms(self) -> float | None:
        """Surrogate time per point at one event per call (None: not measured)."""
        return None if self.gain_batch1 is None else finite_or_none(self.gain_batch1.t_surr)

    def sample_figures(self) -> dict[str, Any]:
        """The figures of :class:`SampleFigures` that a sample of this channel alone takes from its two-stage
        unweighting: the gain's (times as ``t_*_ms``), ``f_eff_over_ideal``, the timed batch size and the
        figures at one event per call."""
        one = self.gain_batch1
        return {
            **_gain_json(self.gain),
            "f_eff_over_ideal": self.f_eff_over_ideal,
            "t_surr_batch_size": self.t_surr_batch_size,
            "t_surr_batch1_ms": self.t_surr_batch1_ms,
            "f_eff_batch1": None if one is None else one.f_eff,
            "f_ideal_batch1": None if one is None else one.f_ideal,
        }

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: :meth:`sample_figures`, then maxima, overweights and point counts."""
        row = self.sample_figures()
        row.update(
            s_max=self.s_max,
            x_max=self.x_max,
            overweight_fraction_1=self.overweight_fraction_1,
            overweight_fraction_2=self.overweight_fraction_2,
            overweight_sigma_fraction=self.overweight_sigma_fraction,
            n_stage1=self.n_stage1,
            n_accepted=self.n_accepted,
        )
        return row


@dataclass(frozen=True)
class ComparisonRow:
    """A comparison surrogate on one channel: its accuracy and its two-stage unweighting."""

    accuracy: Accuracy
    two_stage: TwoStageRow

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: ``frac_within_1pct``, ``frac_within_0p1pct``, ``median_abs_rel_dev``, then
        :meth:`TwoStageRow.to_json`."""
        return {**_accuracy_json(self.accuracy), **self.two_stage.to_json()}


@dataclass(frozen=True)
class GainBlocks:
    """One channel's gain in disjoint blocks of its validation points (each block validated alone).

    Attributes
    ----------
    block_points : int
        Points per block.
    eps_2, f_eff, f_ideal : tuple of float
        Per block: the stage-2 efficiency, the effective gain and the gain of a perfect surrogate, with the
        channel's times.
    """

    block_points: int
    eps_2: tuple[float, ...]
    f_eff: tuple[float, ...]
    f_ideal: tuple[float, ...]

    @property
    def f_eff_over_ideal(self) -> tuple[float, ...]:
        """f_eff/f_ideal per block."""
        return tuple(a / b for a, b in zip(self.f_eff, self.f_ideal, strict=True))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (lists per block)."""
        return {
            "block_points": self.block_points,
            "eps_2": list(self.eps_2),
            "f_eff": list(self.f_eff),
            "f_ideal": list(self.f_ideal),
            "f_eff_over_ideal": list(self.f_eff_over_ideal),
        }


@dataclass(frozen=True)
class ChannelSummary:
    """The validated surrogate on one channel.

    Attributes
    ----------
    n_points : int
        Validation points.
    accuracy : Accuracy
        Surrogate against exact ``|M|²``.
    two_stage : TwoStageRow
        Two-stage unweighting.
    w_max : float
        Maximum of standard unweighting.
    overweight_fraction_standard, overweight_sigma_fraction_standard, alpha_standard : float
        Overweights and Kish factor of standard unweighting.
    time_sources : mapping of str to str
        Where ``t_me``, ``t_surr``, ``t_ps``, ``t_surr_batch1`` came from.
    closure_p : mapping of str to float or None
        Closure p-value per observable (None: not tested, too few unweighted events).
    closure_min_p : float or None
        The smallest of them.
    closure_expected_unweighted : float
        Expected number of unweighted events.
    sigma_weighted, sigma_unweighted : SigmaEstimate
        Cross section from the weighted and the two-stage unweighted sample, in ``sigma_unit``.
    sigma_pull : float
        ``(σ_unweighted − σ_weighted)/error``.
    sigma_unit : str
        ``"pb"`` or ``"mean event weight"``.
    sigma_scale : float
        Factor from mean weight to ``sigma_unit``.
    sum_abs_s_scaled : float
        ``⟨|s|⟩`` times ``sigma_scale``.
    gain_blocks : GainBlocks or None
        The gain in disjoint blocks of the points (``ValidateConfig.gain_blocks``; None: not computed).
    temper : float
        The stage-1 temper β of this channel (1: the surrogate weight as it is).
    """

    n_points: int
    accuracy: Accuracy
    two_stage: TwoStageRow
    w_max: float
    overweight_fraction_standard: float
    overweight_sigma_fraction_standard: float
    alpha_standard: float
    time_sources: Mapping[str, str]
    closure_p: Mapping[str, float | None]
    closure_min_p: float | None
    closure_expected_unweighted: float
    sigma_weighted: SigmaEstimate
    sigma_unweighted: SigmaEstimate
    sigma_pull: float
    sigma_unit: str
    sigma_scale: float
    sum_abs_s_scaled: float
    gain_blocks: GainBlocks | None = None
    temper: float = 1.0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (a row of ``channels`` in ``summary.json``)."""
        return {
            "n_points": self.n_points,
            **_accuracy_json(self.accuracy),
            **self.two_stage.to_json(),
            "w_max": self.w_max,
            "overweight_fraction_standard": self.overweight_fraction_standard,
            "overweight_sigma_fraction_standard": self.overweight_sigma_fraction_standard,
            "alpha_standard": self.alpha_standard,
            "time_sources": dict(self.time_sources),
            "closure_p": dict(self.closure_p),
            "closure_min_p": self.closure_min_p,
            "closure_expected_unweighted": self.closure_expected_unweighted,
            "sigma_weighted": self.sigma_weighted.to_json(),
            "sigma_unweighted": self.sigma_unweighted.to_json(),
            "sigma_pull": self.sigma_pull,
            "sigma_unit": self.sigma_unit,
            "sigma_scale": self.sigma_scale,
            "sum_abs_s_scaled": self.sum_abs_s_scaled,
            "gain_blocks": None if self.gain_blocks is None else self.gain_blocks.to_json(),
            "temper": self.temper,
        }


@dataclass(frozen=True)
class SampleFigures:
    """The top-level figures of a validation: one channel's, or those of the mixed sample.

    With several channels they describe the sample as Sherpa would generate it:
    ``eps_full = Σσ_i / Σ w_max,i``, ``eps_1 = Σ⟨|s|⟩_i / Σ s_max,i``, ``eps_2`` the ``⟨|s|⟩``-weighted mean
    of the ``ε_2,i``, and the gains are ratios of the σ-weighted mean CPU times per unweighted event.  Times
    are ms per phase-space point.

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
    sigma_pull : float or None
        ``(σ_unweighted − σ_weighted)/error`` of a single channel (None with several: see the channels).
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
    sigma_pull: float | None

    @property
    def gain(self) -> GainSummary:
        """The efficiencies, times and gains of the sample (surrogate timed in batches)."""
        return GainSummary(**{f.name: getattr(self, _summary_name(f.name)) for f in fields(GainSummary)})

    @classmethod
    def of_channel(cls, ch: ChannelSummary) -> SampleFigures:
        """The figures of a sample of one channel."""
        return cls(
            **ch.two_stage.sample_figures(),
            closure_min_p=ch.closure_min_p,
            sigma_weighted=ch.sigma_weighted,
            sigma_unweighted=ch.sigma_unweighted,
            sigma_unit=ch.sigma_unit,
            time_sources=ch.time_sources,
            sigma_pull=ch.sigma_pull,
        )

    @classmethod
    def of_channels(cls, channels: Sequence[ChannelSummary]) -> SampleFigures:
        """The figures of the mixed sample of ``channels`` (one channel: :meth:`of_channel`)."""
        if len(channels) == 1:
            return cls.of_channel(channels[0])
        gains = [c.two_stage.gain for c in channels]
        sig = np.array([c.sigma_weighted.value for c in channels])
        frac = np.abs(sig) / np.sum(np.abs(sig))
        sc = np.array([c.sigma_scale for c in channels])
        s_abs = np.array([c.sum_abs_s_scaled for c in channels])

        def mean(fn: Callable[[ChannelSummary, GainSummary], float]) -> float:
            """σ-weighted mean over the channels."""
            return float(sum(f * fn(c, g) for f, c, g in zip(frac, channels, gains, strict=True)))

        def batch1(c: ChannelSummary) -> float:
            return math.nan if c.two_stage.gain_batch1 is None else c.two_stage.gain_batch1.t_surr

        def two_stage(g: GainSummary, t_surr: float) -> float:
            return ms_per_event_two_stage(g.eps_1, g.eps_2, g.t_me, t_surr, g.t_ps)

        def ideal(g: GainSummary, t_surr: float) -> float:  # a perfect surrogate: ε_1 = ε_full, ε_2 = 1
            return ms_per_event_two_stage(g.eps_full, 1.0, g.t_me, t_surr, g.t_ps)

        t_std = mean(lambda c, g: ms_per_event_standard(g.eps_full, g.t_me, g.t_ps))
        t_two = mean(lambda c, g: two_stage(g, g.t_surr))
        t_ideal = mean(lambda c, g: ideal(g, g.t_surr))
        t_one = mean(lambda c, g: two_stage(g, batch1(c)))
        t_one_ideal = mean(lambda c, g: ideal(g, batch1(c)))
        alpha = mean(lambda c, g: g.alpha)
        units = {c.sigma_unit for c in channels}
        sources = {
            key: "; ".join(sorted({c.time_sources[key] for c in channels}))
            for key in ("t_me", "t_surr", "t_ps", "t_surr_batch1")
        }
        sizes = {c.two_stage.t_surr_batch_size for c in channels}
        return cls(
            eps_full=float(np.sum(np.abs(sig)) / np.sum(sc * np.array([c.w_max for c in channels]))),
            eps_1=float(np.sum(s_abs) / np.sum(sc * np.array([c.two_stage.s_max for c in channels]))),
            eps_2=float(np.sum(s_abs * np.array([g.eps_2 for g in gains])) / np.sum(s_abs)),
            alpha=alpha,
            f_eff=t_std / t_two,
            f_ideal=t_std / t_ideal,
            f_eff_over_ideal=t_ideal / t_two,
            f_eff_alpha=alpha * t_std / t_two,
            t_me_ms=mean(lambda c, g: g.t_me),
            t_surr_ms=mean(lambda c, g: g.t_surr),
            t_ps_ms=mean(lambda c, g: g.t_ps),
            t_surr_batch_size=sizes.pop() if len(sizes) == 1 else max(sizes),
            t_surr_batch1_ms=finite_or_none(mean(lambda c, g: batch1(c))),
            f_eff_batch1=finite_or_none(t_std / t_one),
            f_ideal_batch1=finite_or_none(t_std / t_one_ideal),
            events_per_cpu_hour_standard=MS_PER_HOUR / t_std,
            events_per_cpu_hour_two_stage=MS_PER_HOUR / t_two,
            events_per_cpu_hour_two_stage_alpha=alpha * MS_PER_HOUR / t_two,
            closure_min_p=min(
                (c.closure_min_p for c in channels if c.closure_min_p is not None), default=None
            ),
            sigma_weighted=SigmaEstimate(
                float(np.sum(sig)), float(np.sqrt(sum(c.sigma_weighted.error**2 for c in channels)))
            ),
            sigma_unweighted=SigmaEstimate(
                float(sum(c.sigma_unweighted.value for c in channels)),
                float(np.sqrt(sum(c.sigma_unweighted.error**2 for c in channels))),
            ),
            sigma_unit=units.pop() if len(units) == 1 else "mixed (per channel only)",
            time_sources=sources,
            sigma_pull=None,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: every field under its name, ``sigma_*`` as ``{"value", "error"}``;
        ``sigma_pull`` only when set (one channel)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(SampleFigures)}
        out.update(
            sigma_weighted=self.sigma_weighted.to_json(),
            sigma_unweighted=self.sigma_unweighted.to_json(),
            time_sources=dict(self.time_sources),
        )
        if self.sigma_pull is None:
            del out["sigma_pull"]
        return out


@dataclass(frozen=True)
class ValidationResult(SampleFigures):
    """What :func:`~sherpa_plugin.validate.validate` found: the figures of the whole sample, per channel and
    per comparison surrogate.

    With one channel the top-level figures (:class:`SampleFigures`) are that channel's; with several they
    describe the mixed sample as Sherpa would generate it.  Times are CPU (or wall) milliseconds per
    phase-space point.

    Attributes
    ----------
    n_points : int
        Validation points used.
    channels : mapping of str to ChannelSummary
        Per process: accuracy, unweighting (maxima, overweights, gains) and closure.
    channels_left_out : mapping of str to int
        Channels with a single point (no maxima, no errors): name to point count.
    comparisons : mapping of str to mapping of str to ComparisonRow
        Per comparison surrogate and process: its accuracy and two-stage unweighting.
    config : ValidateConfig
        The settings used.
    report : str or None
        ``index.html`` of the written report, None when none was written.
    """

    n_points: int
    channels: Mapping[str, ChannelSummary] = field(default_factory=dict)
    channels_left_out: Mapping[str, int] = field(default_factory=dict)
    comparisons: Mapping[str, Mapping[str, ComparisonRow]] = field(default_factory=dict)
    config: ValidateConfig = field(default_factory=ValidateConfig)
    report: str | None = None

    @classmethod
    def of_figures(cls, figures: SampleFigures, **rest: Any) -> ValidationResult:
        """``figures`` and the remaining fields (``n_points``, ``channels``, ...)."""
        return cls(**{f.name: getattr(figures, f.name) for f in fields(SampleFigures)}, **rest)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (``summary.json`` and ``fame validate --json``): the figures
        (:meth:`SampleFigures.to_json`), ``n_points``, the rows of ``channels`` and ``comparisons``,
        ``channels_left_out``, ``config`` as a dict, ``report``."""
        out = super().to_json()
        out.update(
            n_points=self.n_points,
            channels={k: v.to_json() for k, v in self.channels.items()},
            channels_left_out=dict(self.channels_left_out),
            comparisons={k: {p: r.to_json() for p, r in v.items()} for k, v in self.comparisons.items()},
            config=asdict(self.config),
            report=self.report,
        )
        return out
