"""The effective gain of two-stage unweighting over standard unweighting (arXiv:2109.11964, 2301.13562).

Times are CPU milliseconds per phase-space point: ``t_me`` (exact ME), ``t_surr`` (surrogate), ``t_ps``
(phase-space generation, including points lost to cuts, per point that passes them).  Standard unweighting
pays ``(t_me + t_ps)/ε_full`` per unweighted event; two-stage pays ``(t_surr + t_ps)/(ε_1 ε_2)`` for the
surrogate on every trial and ``t_me/ε_2`` for the exact ME on the stage-1 survivors.

The standard unweighting a surrogate is compared with is a :class:`Baseline`: by default Sherpa's
colour-summed generation of the same weighted events (``ε_full``, ``t_me``, ``t_ps`` of the two-stage setup),
or another way Sherpa could make the same unweighted events, e.g. colour sampling (``COLOR_SCHEME: 2``: a
cheaper ME per point, a lower ``ε_full``).  :func:`compare_baselines` gives ``f_eff`` against each and
against the fastest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .unweighting import unweight

__all__ = [
    "MS_PER_HOUR",
    "Baseline",
    "BaselineComparison",
    "BaselineGain",
    "GainSummary",
    "compare_baselines",
    "effective_gain",
    "events_per_cpu_hour_standard",
    "events_per_cpu_hour_two_stage",
    "gain_against",
    "ideal_gain",
    "ms_per_event_standard",
    "ms_per_event_two_stage",
    "standard_efficiency",
    "summarize_gain",
]

#: milliseconds in one hour
MS_PER_HOUR = 3.6e6


def _check(**values: float) -> None:
    for name, value in values.items():
        if not value >= 0.0:
            raise ValueError(f"{name} must be non-negative, found {value!r}")


def ms_per_event_standard(eps_full: float, t_me: float, t_ps: float) -> float:
    """CPU ms per unweighted event of standard unweighting, ``(t_me + t_ps)/ε_full``."""
    if not eps_full > 0:
        raise ValueError(f"eps_full must be positive, found {eps_full!r}")
    return (t_me + t_ps) / eps_full


def ms_per_event_two_stage(eps_1: float, eps_2: float, t_me: float, t_surr: float, t_ps: float) -> float:
    """CPU ms per unweighted event of two-stage unweighting, ``(t_surr + t_ps)/(ε_1 ε_2) + t_me/ε_2``
    (a perfect surrogate: ``ε_1 = ε_full``, ``ε_2 = 1``)."""
    if not (eps_1 > 0 and eps_2 > 0):
        raise ValueError(f"eps_1 and eps_2 must be positive, found {eps_1!r}, {eps_2!r}")
    return (t_surr + t_ps) / (eps_1 * eps_2) + t_me / eps_2


@dataclass(frozen=True)
class Baseline:
    """Standard one-stage unweighting that a two-stage surrogate run is compared with.

    Attributes
    ----------
    name : str
        E.g. ``"colour-summed"`` or ``"colour-sampled"``.
    eps_full : float
        Its unweighting efficiency ``⟨|w|⟩/w_max`` (``Max_Epsilon`` maximum) on its own weighted events.
    t_me, t_ps : float
        CPU ms per weighted event: its exact ME and the rest of its generation (phase space, PDFs, cuts).
    """

    name: str
    eps_full: float
    t_me: float
    t_ps: float

    def __post_init__(self) -> None:
        _check(t_me=self.t_me, t_ps=self.t_ps)
        if not self.eps_full > 0:
            raise ValueError(f"baseline {self.name!r}: eps_full must be positive, found {self.eps_full!r}")

    @property
    def ms_per_event(self) -> float:
        """CPU ms per unweighted event, ``(t_me + t_ps)/ε_full``."""
        return ms_per_event_standard(self.eps_full, self.t_me, self.t_ps)

    @property
    def events_per_cpu_hour(self) -> float:
        """Unweighted events per CPU hour."""
        return MS_PER_HOUR / self.ms_per_event


def gain_against(
    baseline: Baseline, eps_1: float, eps_2: float, t_me: float, t_surr: float, t_ps: float
) -> float:
    """``f_eff`` against ``baseline``: its CPU cost per unweighted event over the two-stage cost
    ``(t_surr + t_ps)/(ε_1 ε_2) + t_me/ε_2`` (dimensionless; times in ms per point)."""
    _check(t_me=t_me, t_surr=t_surr, t_ps=t_ps)
    return baseline.ms_per_event / ms_per_event_two_stage(eps_1, eps_2, t_me, t_surr, t_ps)


def effective_gain(
    eps_full: float, eps_1: float, eps_2: float, t_me: float, t_surr: float, t_ps: float
) -> float:
    """``f_eff = [(t_me + t_ps)/ε_full] / [(t_surr + t_ps)/(ε_1 ε_2) + t_me/ε_2]`` (dimensionless): the gain
    against the standard unweighting of the same events (:func:`gain_against` the colour-summed baseline)."""
    return gain_against(Baseline("colour-summed", eps_full, t_me, t_ps), eps_1, eps_2, t_me, t_surr, t_ps)


def ideal_gain(eps_full: float, t_me: float, t_surr: float, t_ps: float) -> float:
    """``f_eff`` of a perfect surrogate with the same times (``ε_1 = ε_full``, ``ε_2 = 1``)."""
    return effective_gain(eps_full, eps_full, 1.0, t_me, t_surr, t_ps)


def events_per_cpu_hour_standard(eps_full: float, t_me: float, t_ps: float) -> float:
    """Unweighted events per CPU hour with standard one-stage unweighting."""
    _check(t_me=t_me, t_ps=t_ps)
    return MS_PER_HOUR / ms_per_event_standard(eps_full, t_me, t_ps)


def events_per_cpu_hour_two_stage(
    eps_1: float, eps_2: float, t_me: float, t_surr: float, t_ps: float
) -> float:
    """Unweighted events per CPU hour with two-stage unweighting (before the overweight dilution α)."""
    _check(t_me=t_me, t_surr=t_surr, t_ps=t_ps)
    return MS_PER_HOUR / ms_per_event_two_stage(eps_1, eps_2, t_me, t_surr, t_ps)


@dataclass(frozen=True)
class GainSummary:
    """Efficiencies, times (ms per point) and the resulting gains of one channel or setup."""

    eps_full: float
    eps_1: float
    eps_2: float
    alpha: float
    t_me: float
    t_surr: float
    t_ps: float
    f_eff: float
    f_ideal: float
    f_eff_alpha: float
    events_per_cpu_hour_standard: float
    events_per_cpu_hour_two_stage: float
    events_per_cpu_hour_two_stage_alpha: float

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def summarize_gain(
    eps_full: float, eps_1: float, eps_2: float, alpha: float, t_me: float, t_surr: float, t_ps: float
) -> GainSummary:
    """All gain figures from the stage efficiencies, the Kish factor ``α`` of the final weights, the times."""
    f_eff = effective_gain(eps_full, eps_1, eps_2, t_me, t_surr, t_ps)
    two = events_per_cpu_hour_two_stage(eps_1, eps_2, t_me, t_surr, t_ps)
    return GainSummary(
        eps_full=eps_full,
        eps_1=eps_1,
        eps_2=eps_2,
        alpha=alpha,
        t_me=t_me,
        t_surr=t_surr,
        t_ps=t_ps,
        f_eff=f_eff,
        f_ideal=ideal_gain(eps_full, t_me, t_surr, t_ps),
        f_eff_alpha=alpha * f_eff,
        events_per_cpu_hour_standard=events_per_cpu_hour_standard(eps_full, t_me, t_ps),
        events_per_cpu_hour_two_stage=two,
        events_per_cpu_hour_two_stage_alpha=alpha * two,
    )


@dataclass(frozen=True)
class BaselineGain:
    """The gains against one baseline: ``f_eff`` of the surrogate, ``f_ideal`` of a perfect one."""

    baseline: Baseline
    f_eff: float
    f_ideal: float

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready dict (the baseline's fields, its ms per unweighted event, the gains)."""
        return {
            **asdict(self.baseline),
            "ms_per_event": self.baseline.ms_per_event,
            "events_per_cpu_hour": self.baseline.events_per_cpu_hour,
            "f_eff": self.f_eff,
            "f_ideal": self.f_ideal,
            "f_eff_over_ideal": self.f_eff / self.f_ideal,
        }


@dataclass(frozen=True)
class BaselineComparison:
    """The gains of one two-stage setup against several baselines, and against the fastest of them.

    Attributes
    ----------
    gains : tuple of BaselineGain
        One per baseline, in the order given.
    fastest : BaselineGain
        The one whose baseline costs the least CPU per unweighted event (the honest comparison).
    """

    gains: tuple[BaselineGain, ...]
    fastest: BaselineGain

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready dict: ``baselines`` (name → figures), ``fastest`` (its name),
        ``f_eff_vs_fastest``, ``f_ideal_vs_fastest``."""
        return {
            "baselines": {g.baseline.name: g.to_json() for g in self.gains},
            "fastest": self.fastest.baseline.name,
            "f_eff_vs_fastest": self.fastest.f_eff,
            "f_ideal_vs_fastest": self.fastest.f_ideal,
        }


def compare_baselines(
    baselines: Sequence[Baseline],
    eps_full: float,
    eps_1: float,
    eps_2: float,
    t_me: float,
    t_surr: float,
    t_ps: float,
) -> BaselineComparison:
    """``f_eff`` and ``f_ideal`` of a two-stage setup against each baseline and against the fastest one.

    Parameters
    ----------
    baselines : sequence of Baseline
        At least one; names must differ.
    eps_full : float
        ``ε_full`` of the weighted events the surrogate unweights (a perfect surrogate has ``ε_1 = ε_full``,
        ``ε_2 = 1``: that gives ``f_ideal``).
    eps_1, eps_2 : float
        The surrogate's stage efficiencies.
    t_me, t_surr, t_ps : float
        CPU ms per point of the two-stage run: exact ME, surrogate, phase space.
    """
    if not baselines:
        raise ValueError("compare_baselines needs at least one baseline")
    names = [b.name for b in baselines]
    if len(set(names)) != len(names):
        raise ValueError(f"baseline names must differ, got {names}")
    gains = tuple(
        BaselineGain(
            b,
            gain_against(b, eps_1, eps_2, t_me, t_surr, t_ps),
            gain_against(b, eps_full, 1.0, t_me, t_surr, t_ps),
        )
        for b in baselines
    )
    return BaselineComparison(gains, min(gains, key=lambda g: g.baseline.ms_per_event))


def standard_efficiency(
    weights: npt.ArrayLike, eps: float = 1e-3, block: int | None = None
) -> tuple[float, float, int]:
    """``ε_full`` of one-stage unweighting (:func:`~fame_surrogate.validation.unweight`, ``Max_Epsilon`` eps).

    ``ε_full`` of heavy-tailed weights depends on the sample size (the maximum is set by the largest weights
    that were drawn), so compare baselines at equal sizes: ``block`` splits the weights into consecutive
    disjoint blocks of that many events (a remainder is dropped) and averages ``ε_full`` over them.

    Parameters
    ----------
    weights : array_like, float64, shape (N,)
        Weighted events of one run (any unit).
    eps : float
        ``Max_Epsilon`` of the maximum.
    block : int, optional
        Events per block (``None``: the whole sample as one block).

    Returns
    -------
    (float, float, int)
        ``ε_full`` (mean over the blocks), its standard error (0 for one block), the number of blocks.
    """
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    size = w.size if block is None else int(block)
    if not 0 < size <= w.size:
        raise ValueError(f"block of {size} events for {w.size} weighted events; expected 1..{w.size}")
    n_blocks = w.size // size
    rng = np.random.default_rng(0)  # the efficiency does not depend on the accept/reject draws
    effs = np.array(
        [unweight(w[k * size : (k + 1) * size], rng, eps=eps).efficiency for k in range(n_blocks)]
    )
    err = float(effs.std(ddof=1) / np.sqrt(n_blocks)) if n_blocks > 1 else 0.0
    return float(effs.mean()), err, n_blocks
