"""The effective gain of two-stage unweighting over standard unweighting (arXiv:2109.11964, 2301.13562).

Times are CPU milliseconds per phase-space point: ``t_me`` (exact ME), ``t_surr`` (surrogate), ``t_ps``
(phase-space generation, including points lost to cuts, per point that passes them).  Standard unweighting
pays ``(t_me + t_ps)/ε_full`` per unweighted event; two-stage pays ``(t_surr + t_ps)/(ε_1 ε_2)`` for the
surrogate on every trial and ``t_me/ε_2`` for the exact ME on the stage-1 survivors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "MS_PER_HOUR",
    "GainSummary",
    "effective_gain",
    "events_per_cpu_hour_standard",
    "events_per_cpu_hour_two_stage",
    "ideal_gain",
    "summarize_gain",
]

#: milliseconds in one hour
MS_PER_HOUR = 3.6e6


def _check(**values: float) -> None:
    for name, value in values.items():
        if not value >= 0.0:
            raise ValueError(f"{name} must be non-negative, found {value!r}")


def _ms_standard(eps_full: float, t_me: float, t_ps: float) -> float:
    if not eps_full > 0:
        raise ValueError(f"eps_full must be positive, found {eps_full!r}")
    return (t_me + t_ps) / eps_full


def _ms_two_stage(eps_1: float, eps_2: float, t_me: float, t_surr: float, t_ps: float) -> float:
    if not (eps_1 > 0 and eps_2 > 0):
        raise ValueError(f"eps_1 and eps_2 must be positive, found {eps_1!r}, {eps_2!r}")
    return (t_surr + t_ps) / (eps_1 * eps_2) + t_me / eps_2


def effective_gain(
    eps_full: float, eps_1: float, eps_2: float, t_me: float, t_surr: float, t_ps: float
) -> float:
    """``f_eff = [(t_me + t_ps)/ε_full] / [(t_surr + t_ps)/(ε_1 ε_2) + t_me/ε_2]`` (dimensionless)."""
    _check(t_me=t_me, t_surr=t_surr, t_ps=t_ps)
    return _ms_standard(eps_full, t_me, t_ps) / _ms_two_stage(eps_1, eps_2, t_me, t_surr, t_ps)


def ideal_gain(eps_full: float, t_me: float, t_surr: float, t_ps: float) -> float:
    """``f_eff`` of a perfect surrogate with the same times (``ε_1 = ε_full``, ``ε_2 = 1``)."""
    return effective_gain(eps_full, eps_full, 1.0, t_me, t_surr, t_ps)


def events_per_cpu_hour_standard(eps_full: float, t_me: float, t_ps: float) -> float:
    """Unweighted events per CPU hour with standard one-stage unweighting."""
    _check(t_me=t_me, t_ps=t_ps)
    return MS_PER_HOUR / _ms_standard(eps_full, t_me, t_ps)


def events_per_cpu_hour_two_stage(
    eps_1: float, eps_2: float, t_me: float, t_surr: float, t_ps: float
) -> float:
    """Unweighted events per CPU hour with two-stage unweighting (before the overweight dilution α)."""
    _check(t_me=t_me, t_surr=t_surr, t_ps=t_ps)
    return MS_PER_HOUR / _ms_two_stage(eps_1, eps_2, t_me, t_surr, t_ps)


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

    def as_dict(self) -> dict[str, Any]:
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
