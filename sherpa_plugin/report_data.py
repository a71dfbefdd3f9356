"""What the validation report shows, as data: per channel its arrays (:class:`ChannelData`) and per
multiplicity where the CPU time per unweighted event goes (:class:`TimeSplit`, :func:`time_splits`).

:func:`sherpa_plugin.validate.validate` fills the :class:`ChannelData`; :mod:`sherpa_plugin.report_plots`
draws them and :mod:`sherpa_plugin.report` writes the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fame_surrogate.validation import ClosureResult, GainSummary

from .validation_result import ChannelSummary

F8 = npt.NDArray[np.float64]

__all__ = ["ChannelData", "TimeSplit", "time_splits"]


@dataclass(frozen=True, eq=False)
class ChannelData:
    """What the report shows for one channel (arrays over the N validation points).

    Parameters
    ----------
    process : str
        Sherpa process name.
    n_out : int
        Final-state multiplicity.
    ratio : ndarray, float64, shape (N,)
        Surrogate / exact ``|M|²``.
    min_sij : ndarray, float64, shape (N,)
        Smallest final-state ``s_ij / s``.
    w, s : ndarray, float64, shape (N,)
        Exact and stage-1 weights (the surrogate weight, tempered with ``ValidateConfig.temper`` < 1).
    w_max, s_max, x_max : float
        Unweighting maxima.
    closure : ClosureResult
        The closure test.
    summary : ChannelSummary
        The channel's figures (efficiencies, times, gains, closure); shown in the tables.
    """

    process: str
    n_out: int
    ratio: F8
    min_sij: F8
    w: F8
    s: F8
    w_max: float
    s_max: float
    x_max: float
    closure: ClosureResult
    summary: ChannelSummary


@dataclass(frozen=True)
class TimeSplit:
    """CPU milliseconds per unweighted event of one multiplicity, by where they go.

    Standard unweighting pays phase space and exact ME for every trial: ``(t_PS + t_ME)/ε_full``.  Two-stage
    pays phase space and surrogate for every trial, ``(t_PS + t_surr)/(ε_1 ε_2)``, and the exact ME only for
    the stage-1 survivors, ``t_ME/ε_2``.  With several channels of one multiplicity the costs are their
    cross-section-weighted means (the mix an event generator produces).
    """

    n_out: int
    channels: int
    standard_ps: float
    standard_me: float
    two_stage_ps: float
    two_stage_surr: float
    two_stage_me: float

    @property
    def standard(self) -> float:
        """Total ms per unweighted event, standard unweighting."""
        return self.standard_ps + self.standard_me

    @property
    def two_stage(self) -> float:
        """Total ms per unweighted event, two-stage unweighting."""
        return self.two_stage_ps + self.two_stage_surr + self.two_stage_me


def time_splits(summaries: Sequence[tuple[int, ChannelSummary]]) -> list[TimeSplit]:
    """One :class:`TimeSplit` per multiplicity from ``(n_out, channel summary)`` pairs (validate's rows)."""
    by_n: dict[int, list[ChannelSummary]] = {}
    for n_out, row in summaries:
        by_n.setdefault(n_out, []).append(row)
    out = []
    for n_out in sorted(by_n):
        rows = by_n[n_out]
        gains = [r.two_stage.gain for r in rows]
        sig = np.array([abs(r.sigma_weighted.value) for r in rows])
        frac = sig / sig.sum() if sig.sum() > 0 else np.full(len(rows), 1.0 / len(rows))

        def mean(
            fn: Callable[[GainSummary], float], gains: list[GainSummary] = gains, frac: F8 = frac
        ) -> float:
            return float(sum(f * fn(g) for f, g in zip(frac, gains, strict=True)))

        out.append(
            TimeSplit(
                n_out=n_out,
                channels=len(rows),
                standard_ps=mean(lambda g: g.t_ps / g.eps_full),
                standard_me=mean(lambda g: g.t_me / g.eps_full),
                two_stage_ps=mean(lambda g: g.t_ps / (g.eps_1 * g.eps_2)),
                two_stage_surr=mean(lambda g: g.t_surr / (g.eps_1 * g.eps_2)),
                two_stage_me=mean(lambda g: g.t_me / g.eps_2),
            )
        )
    return out
