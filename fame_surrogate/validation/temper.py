"""A tempered stage-1 weight for two-stage unweighting: ``s' = sign(s)·|s|^β`` with 0 < β ≤ 1.

Two-stage unweighting keeps an event with probability ``min(1, |s|/s_max) · min(1, |x|/x_max)``, ``x = w/s``,
and gives it the weight ``sign(w)·max(1, |s|/s_max)·max(1, |x|/x_max)`` in units of ``s_max x_max``.  Their
product is ``|w|/(s_max x_max)`` for *any* non-zero stage-1 weight ``s``
(:mod:`fame_surrogate.validation.unweighting`), so the sample stays unbiased when ``s`` is replaced by a
positive function of it.  ``|s|^β`` is one: the surrogate still orders the events, but stage 1 is flatter.

Why flatter pays.  The cost per unweighted event is ``(t_surr + t_PS)/(ε_1 ε_2) + t_ME/ε_2``.  Where
Sherpa's phase space is slow to unweight (pp → Z + 4/5 jets: ε_full ≈ 1e-3 and 2e-4, so t_PS/ε_full is
about 90× and 60–190× t_ME), the first term dominates and the gain is ≈ f_ideal · ε_1 ε_2/ε_full.  With
β = 1 a surrogate that is good on typical events still sets ``s_max x_max`` above ``w_max``: the event that
sets ``x_max`` is not the one that sets ``s_max``.  Tempering moves weight from stage 1 to stage 2: ε_1
rises, ε_2 falls, and ``ε_1 ε_2`` approaches ``ε_full`` while ``t_ME/ε_2`` stays small.  As β → 0 stage 1
keeps everything and ``t_ME/ε_2`` becomes the standard's ``t_ME/ε_full``: the best β lies between.

:func:`scan_temper` computes f_eff/f_ideal over a grid of β on a calibration sample (noise-free expectations,
as :func:`~fame_surrogate.validation.unweighting.two_stage` reports them) and chooses β: the smallest within
:data:`TEMPER_TOLERANCE` of the best.  Choose β on events that neither the training nor the validation uses
(``fame train`` takes its held-out split), since on either the choice fits their few heaviest events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .efficiency import check_budget, stage1_maximum, stage2_maximum, stage_efficiencies
from .gain import effective_gain, ideal_gain, standard_efficiency

__all__ = ["TEMPER_GRID", "TEMPER_TOLERANCE", "TemperScan", "check_temper", "scan_temper", "temper"]

F8 = npt.NDArray[np.float64]

#: the β that :func:`scan_temper` tries by default: 1 (no tempering) down to 0.5 in steps of 0.05
TEMPER_GRID: tuple[float, ...] = tuple(round(1.0 - 0.05 * k, 2) for k in range(11))

#: :attr:`TemperScan.beta` takes the smallest β whose f_eff/f_ideal is within this fraction of the scan's
#: best.  The scan is lopsided: past its peak a larger β loses fast (at Z+5 jets, 0.7–0.75 → 0.9 cost up to
#: 30% on independent runs), a smaller one slowly (2–4% per step of 0.05), and a finite sample understates
#: the loss at large β, since it rarely holds the heavy events the surrogate underestimates, which set
#: ``x_max``.  At Z+5 (five seeds, 16k held-out events) the held-out argmax scored 0.71–0.99 of f_ideal on an
#: independent run, this rule 0.98–0.99 (within 0.01 of that run's own best β); at Z+4 (80k held-out, both
#: objectives) 1.02–1.05 and 1.11 (best 1.11–1.12).  See ``examples/zjets/README.md``.
TEMPER_TOLERANCE = 0.03


def check_temper(beta: float) -> None:
    """Raise ``ValueError`` unless ``0 < beta ≤ 1``."""
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"temper β={beta}; expected 0 < β <= 1 (1: the surrogate weight as it is)")


def temper(s: npt.ArrayLike, beta: float) -> F8:
    """The tempered stage-1 weight ``sign(s)·|s|^β``.

    Parameters
    ----------
    s : array_like, float64, shape (N,)
        Surrogate weights ``w · me2_surr/me2`` (any units: two-stage unweighting does not depend on their
        scale).
    beta : float
        0 < β ≤ 1; 1 returns ``s`` unchanged.

    Returns
    -------
    ndarray, float64, shape (N,)
        ``sign(s)·m·(|s|/m)^β`` with ``m = max|s|``: |s|^β up to a constant, in the units of ``s`` and equal
        to it at its largest ``|s|`` (so both can share a plot's axis).  Zero where ``s`` is zero, so an
        event that stage 1 could never keep stays visible to the check of
        :func:`~fame_surrogate.validation.unweighting.two_stage`.
    """
    check_temper(beta)
    a = np.asarray(s, dtype=np.float64)
    if beta == 1.0:
        return a.copy()
    # the ratio to the largest |s| first, so that tiny weights (1e-300) neither underflow nor overflow
    top = float(np.max(np.abs(a))) if a.size else 0.0
    scale = top if top > 0.0 else 1.0
    return np.sign(a) * scale * (np.abs(a) / scale) ** beta


@dataclass(frozen=True)
class TemperScan:
    """f_eff/f_ideal of two-stage unweighting over a grid of the stage-1 temper β.

    Attributes
    ----------
    betas : tuple of float
        The β tried.
    ratios : tuple of float
        f_eff/f_ideal at each β (the times and ε_full of the sample).
    eps_1, eps_2 : tuple of float
        The stage efficiencies at each β.
    tolerance : float
        The fraction of the best f_eff/f_ideal that the chosen β (:attr:`beta`) may give up.
    """

    betas: tuple[float, ...]
    ratios: tuple[float, ...]
    eps_1: tuple[float, ...]
    eps_2: tuple[float, ...]
    tolerance: float = TEMPER_TOLERANCE

    @property
    def best_beta(self) -> float:
        """The β of the highest f_eff/f_ideal (the largest such β on a tie)."""
        return self.betas[int(np.argmax(self.ratios))]

    @property
    def beta(self) -> float:
        """The chosen β: from :attr:`best_beta` down the grid, the smallest β before f_eff/f_ideal first
        falls below ``(1 - tolerance)`` times the best (:data:`TEMPER_TOLERANCE`)."""
        floor = (1.0 - self.tolerance) * self.best_ratio
        order = sorted(range(len(self.betas)), key=lambda k: -self.betas[k])  # largest β first
        pos = order.index(int(np.argmax(self.ratios)))
        chosen = order[pos]
        for k in order[pos + 1:]:
            if self.ratios[k] < floor:
                break
            chosen = k
        return self.betas[chosen]

    @property
    def best_ratio(self) -> float:
        """The highest f_eff/f_ideal of the scan."""
        return max(self.ratios)

    def ratio_at(self, beta: float) -> float:
        """f_eff/f_ideal at one of the scanned β."""
        return self.ratios[self.betas.index(beta)]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (lists per β, the best β, the tolerance and the chosen β)."""
        return {
            "betas": list(self.betas),
            "f_eff_over_ideal": list(self.ratios),
            "eps_1": list(self.eps_1),
            "eps_2": list(self.eps_2),
            "best_beta": self.best_beta,
            "tolerance": self.tolerance,
            "beta": self.beta,
        }


def scan_temper(
    w: npt.ArrayLike,
    s: npt.ArrayLike,
    t_me: float,
    t_surr: float,
    t_ps: float,
    *,
    grid: tuple[float, ...] = TEMPER_GRID,
    eps: float = 1e-3,
    eps_x: float = 1e-3,
    budget: str = "sigma",
    tolerance: float = TEMPER_TOLERANCE,
) -> TemperScan:
    """f_eff/f_ideal of the two-stage unweighter with stage-1 weight ``|s|^β``, for each β of ``grid``.

    Parameters
    ----------
    w, s : array_like, float64, shape (N,)
        Exact and surrogate weights of a calibration sample (``s ≠ 0`` wherever ``w ≠ 0``).
    t_me, t_surr, t_ps : float
        CPU ms per point of the exact ME, the surrogate and the phase space.
    grid : tuple of float
        The β to try, each in (0, 1].
    eps, eps_x : float
        ``Max_Epsilon`` of ``w_max`` and ``s_max`` (``eps``) and of ``x_max`` (``eps_x``), as in
        ``fame validate``.
    budget : str
        Stage-1 ``Max_Epsilon`` budget (``"sigma"`` or ``"surrogate"``).
    tolerance : float
        0 ≤ tolerance < 1: how much of the best f_eff/f_ideal the chosen β (:attr:`TemperScan.beta`) may give
        up for a smaller β (0: the best β itself).

    Returns
    -------
    TemperScan
    """
    check_budget(budget)
    if not 0.0 <= tolerance < 1.0:
        raise ValueError(f"scan_temper tolerance={tolerance}; expected 0 <= tolerance < 1")
    if not grid:
        raise ValueError("scan_temper needs at least one β")
    for b in grid:
        check_temper(b)
    aw = np.abs(np.asarray(w, dtype=np.float64)).reshape(-1)
    as0 = np.abs(np.asarray(s, dtype=np.float64)).reshape(-1)
    if aw.shape != as0.shape:
        raise ValueError(f"w has {aw.size} weights but s has {as0.size}")
    if aw.size == 0 or not np.any(aw > 0.0):
        raise ValueError("scan_temper needs a sample with a non-zero weight")
    if np.any((as0 == 0.0) & (aw != 0.0)):
        raise ValueError("s is 0 where w is not: stage 1 would never keep such an event")
    eps_full, _, _ = standard_efficiency(aw, eps)
    f_ideal = ideal_gain(eps_full, t_me, t_surr, t_ps)
    ratios, e1s, e2s = [], [], []
    for b in grid:
        sb = temper(as0, b)
        x = np.divide(aw, sb, out=np.zeros_like(aw), where=sb > 0.0)
        e1, e2 = stage_efficiencies(aw, sb, stage1_maximum(sb, x, eps, budget), stage2_maximum(x, sb, eps_x))
        e1s.append(float(e1))
        e2s.append(float(e2))
        ratios.append(effective_gain(eps_full, float(e1), float(e2), t_me, t_surr, t_ps) / f_ideal)
    return TemperScan(tuple(grid), tuple(ratios), tuple(e1s), tuple(e2s), tolerance)
