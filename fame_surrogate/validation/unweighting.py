"""Sherpa-style partial unweighting and the two-stage surrogate unweighter (arXiv:2109.11964, 2301.13562).

Conventions (``reference/sherpa-conventions.md`` §3):

* Maxima follow Sherpa's ``Max_Epsilon`` rule, computed exactly (Sherpa bins the weights in a log10 histogram;
  here the continuous, unbinned version is solved in closed form after sorting): the smallest ``m`` with
  ``Σ c_i max(0, |v_i| − m) ≤ ε Σ c_i |v_i|``.
* One stage: keep an event with probability ``min(1, |w|/w_max)``; the kept event carries
  ``sign(w)·max(1, |w|/w_max)`` in units of ``w_max`` (Sherpa's ``PartiallyUnweighted`` mode: overweights are
  kept as weights above one, never dropped nor capped).
* Two stages: surrogate weight ``s``; keep with ``min(1, |s|/s_max)``; for survivors ``x = w/s`` and keep with
  ``min(1, |x|/x_max)``; the final weight is ``sign(w)·max(1, |s|/s_max)·max(1, |x|/x_max)`` in units of
  ``s_max·x_max``.  Acceptance probability times final weight is ``|w|/(s_max x_max)`` for every event, so the
  unweighted sample is unbiased for any choice of maxima.
* Efficiencies (noise-free expectations): ``ε_full = ⟨|w|⟩/w_max``, ``ε_1 = ⟨|s|⟩/s_max``,
  ``ε_2 = ⟨|x|⟩_{s-unweighted}/x_max = (Σ|w|/Σ|s|)/x_max`` (the s-unweighted sample has density ∝ |s|).
  ``x_max`` is the ``Max_Epsilon`` maximum of ``|x|`` with weights ``|s|`` (cross-section excess of stage 2).
* Stage-1 budget (``budget``): ``"sigma"`` (default) measures the stage-1 excess in cross section, like
  Sherpa's documentation of ``Max_Epsilon`` ("the fraction of the cross section represented by" the overweight
  events): ``s_max`` is the ``Max_Epsilon`` maximum of ``|s|`` with weights ``|x|``, i.e. ``Σ max(0, |w| − |x|
  s_max) ≤ ε Σ|w|``.  ``"surrogate"`` measures it in surrogate weights (``Σ max(0, |s| − s_max) ≤ ε Σ|s|``,
  computable without the exact ME); a surrogate that is small where ``w`` is large then gets a larger
  effective budget in cross section (up to ``ε/ε_2``), which inflates ``ε_1 ε_2``.  Both stay unbiased;
  ``overweight_sigma_fraction`` reports the share of the cross section carried above weight 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .efficiency import (
    check_budget,
    reduced_maximum,
    stage1_maximum,
    stage2_maximum,
    stage_efficiencies,
)

F8 = npt.NDArray[np.float64]
B1 = npt.NDArray[np.bool_]

__all__ = [
    "TwoStageResult",
    "UnweightResult",
    "excess_fraction",
    "kish_alpha",
    "max_epsilon",
    "two_stage",
    "unweight",
]


def _as_f8(values: npt.ArrayLike, name: str) -> F8:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name} is not finite at index {bad} (value {arr[bad]!r})")
    return arr


def max_epsilon(values: npt.ArrayLike, eps: float = 1e-3, weights: npt.ArrayLike | None = None) -> float:
    """Sherpa's ``Max_Epsilon`` reduced maximum, exact (unbinned).

    Parameters
    ----------
    values : array_like, float64, shape (N,)
        Event weights (or ratios); their absolute values are used.
    eps : float
        Allowed fraction of the (weighted) sum above the maximum, ``0 ≤ eps < 1`` (Sherpa default 1e-3).
    weights : array_like, float64, shape (N,), optional
        Non-negative multiplicities ``c_i`` (default 1); for the stage-2 ratio ``x`` these are ``|s|``.

    Returns
    -------
    float
        The smallest ``m ≥ 0`` with ``Σ c_i max(0, |v_i| − m) ≤ eps · Σ c_i |v_i|``; ``max |v|`` for
        ``eps = 0``, 0 for an empty or all-zero input
        (:func:`~fame_surrogate.validation.efficiency.reduced_maximum` on validated float64 input).
    """
    a = _as_f8(values, "values")
    c = None if weights is None else _as_f8(weights, "weights")
    if a.size == 0:
        if not 0.0 <= eps < 1.0:
            raise ValueError(f"Max_Epsilon must lie in [0, 1), got {eps}")
        return 0.0
    return float(reduced_maximum(a, eps, c))


def excess_fraction(values: npt.ArrayLike, maximum: float, weights: npt.ArrayLike | None = None) -> float:
    """``Σ c max(0, |v| − maximum) / Σ c |v|``: the fraction of the sum carried above ``maximum``."""
    a = np.abs(_as_f8(values, "values"))
    c = np.ones_like(a) if weights is None else np.abs(_as_f8(weights, "weights"))
    total = float(np.sum(c * a))
    return float(np.sum(c * np.maximum(a - maximum, 0.0)) / total) if total > 0 else 0.0


def _sigma_above_one(probability: F8, expected_weight_sum: float) -> float:
    """``1 − Σp / E[Σz]``: share of the expected final-weight sum above one weight unit per event."""
    return float(1.0 - np.sum(probability) / expected_weight_sum) if expected_weight_sum > 0 else 0.0


def kish_alpha(z: npt.ArrayLike) -> float:
    """Overweight dilution (Kish factor) ``α = (Σz)² / (N Σz²)`` of final event weights ``z``; 1 for N = 0."""
    arr = _as_f8(z, "z")
    if arr.size == 0:
        return 1.0
    den = arr.size * float(np.sum(arr * arr))
    return float(np.sum(arr)) ** 2 / den if den > 0 else 1.0


@dataclass(frozen=True, eq=False)
class UnweightResult:
    """One-stage partial unweighting of ``N`` weighted events.

    Attributes
    ----------
    accepted : ndarray, bool, shape (N,)
        Kept events.
    weight : ndarray, float64, shape (n_accepted,)
        ``sign(w)·max(1, |w|/w_max)`` of the kept events (physical weight = ``weight · w_max``).
    probability : ndarray, float64, shape (N,)
        Acceptance probability ``min(1, |w|/w_max)`` of every event.
    w_max : float
        The maximum used.
    efficiency : float
        ``⟨|w|⟩/w_max`` (Sherpa's ``exp. eff``).
    overweight_fraction : float
        Fraction of the kept events with ``|w| > w_max``.
    overweight_sigma_fraction : float
        Expected share of the cross section carried by final weights above 1: ``1 − Σp/Σ(|w|/w_max)``.
    alpha : float
        Kish factor of ``weight``.
    n_trials : int
        ``N``.
    """

    accepted: B1
    weight: F8
    probability: F8
    w_max: float
    efficiency: float
    overweight_fraction: float
    overweight_sigma_fraction: float
    alpha: float
    n_trials: int

    @property
    def n_accepted(self) -> int:
        """Number of kept events."""
        return int(self.weight.size)


def unweight(
    w: npt.ArrayLike,
    rng: np.random.Generator,
    *,
    w_max: float | None = None,
    eps: float = 1e-3,
) -> UnweightResult:
    """Sherpa's one-stage partial unweighting (``EVENT_GENERATION_MODE: PartiallyUnweighted``).

    Parameters
    ----------
    w : array_like, float64, shape (N,)
        Event weights (any sign).
    rng : numpy.random.Generator
        Source of the accept/reject uniforms (seed it).
    w_max : float, optional
        Maximum; default :func:`max_epsilon` ``(w, eps)``.
    eps : float
        ``Max_Epsilon`` for the default maximum.
    """
    arr = _as_f8(w, "w")
    wmax = max_epsilon(arr, eps) if w_max is None else float(w_max)
    if not wmax > 0:
        raise ValueError(f"unweighting needs a positive maximum, found w_max = {wmax} for {arr.size} events")
    ratio = np.abs(arr) / wmax
    prob = np.minimum(1.0, ratio)
    accepted = rng.random(arr.size) < prob
    weight = np.sign(arr[accepted]) * np.maximum(1.0, ratio[accepted])
    n_acc = int(accepted.sum())
    return UnweightResult(
        accepted=accepted,
        weight=weight,
        probability=prob,
        w_max=wmax,
        efficiency=float(np.mean(np.abs(arr)) / wmax) if arr.size else 0.0,
        overweight_fraction=float(np.count_nonzero(ratio[accepted] > 1.0) / n_acc) if n_acc else 0.0,
        overweight_sigma_fraction=_sigma_above_one(prob, float(np.sum(ratio))),
        alpha=kish_alpha(weight),
        n_trials=int(arr.size),
    )


@dataclass(frozen=True, eq=False)
class TwoStageResult:
    """Two-stage (surrogate, then exact) unweighting of ``N`` events.

    Attributes
    ----------
    stage1 : ndarray, bool, shape (N,)
        Kept by stage 1 (only these need the exact ME).
    accepted : ndarray, bool, shape (N,)
        Kept by both stages.
    weight : ndarray, float64, shape (n_accepted,)
        ``sign(w)·max(1, |s|/s_max)·max(1, |x|/x_max)`` (physical weight = ``weight · s_max · x_max``).
    probability : ndarray, float64, shape (N,)
        Total acceptance probability ``min(1,|s|/s_max)·min(1,|x|/x_max)`` of every event.
    x : ndarray, float64, shape (N,)
        ``w/s`` (0 where both vanish).
    s_max, x_max : float
        Stage maxima.
    eps_1, eps_2 : float
        Stage efficiencies (module docstring).
    overweight_fraction_1 : float
        Fraction of stage-1 survivors with ``|s| > s_max``.
    overweight_fraction_2 : float
        Fraction of final events with ``|x| > x_max``.
    overweight_sigma_fraction : float
        Expected share of the cross section carried by final weights above 1:
        ``1 − Σp / Σ(|w|/(s_max x_max))``.
    alpha : float
        Kish factor of ``weight``.
    n_trials : int
        ``N``.
    """

    stage1: B1
    accepted: B1
    weight: F8
    probability: F8
    x: F8
    s_max: float
    x_max: float
    eps_1: float
    eps_2: float
    overweight_fraction_1: float
    overweight_fraction_2: float
    overweight_sigma_fraction: float
    alpha: float
    n_trials: int

    @property
    def norm(self) -> float:
        """``s_max · x_max``: the physical weight of a final event of unit ``weight``."""
        return self.s_max * self.x_max

    @property
    def n_accepted(self) -> int:
        """Number of events kept by both stages."""
        return int(self.weight.size)


def two_stage(
    w: npt.ArrayLike,
    s: npt.ArrayLike,
    rng: np.random.Generator,
    *,
    eps_s: float = 1e-3,
    eps_x: float = 1e-3,
    s_max: float | None = None,
    x_max: float | None = None,
    budget: str = "sigma",
) -> TwoStageResult:
    """The reference two-stage unweighter (arXiv:2109.11964, 2301.13562; overweights kept).

    Parameters
    ----------
    w : array_like, float64, shape (N,)
        Exact event weights.
    s : array_like, float64, shape (N,)
        Surrogate weights ``w · me2_surr / me2`` of the same events.
    rng : numpy.random.Generator
        Source of the uniforms: one per event for stage 1, then one per stage-1 survivor.
    eps_s, eps_x : float
        ``Max_Epsilon`` of the stage-1 maximum (over ``|s|``) and of the stage-2 maximum (over ``|x|``
        weighted with ``|s|``).
    s_max, x_max : float, optional
        Fixed maxima instead (e.g. from a calibration sample).
    budget : str
        Stage-1 ``Max_Epsilon`` budget: ``"sigma"`` (weights ``|x|``, excess in cross section) or
        ``"surrogate"`` (unit weights, excess in surrogate weight); see the module docstring.

    Raises
    ------
    ValueError
        An event with ``w ≠ 0`` has ``s = 0`` (stage 1 could never keep it: the sample would be biased).
    """
    wa = _as_f8(w, "w")
    sa = _as_f8(s, "s")
    if wa.shape != sa.shape:
        raise ValueError(f"w has shape {wa.shape} but s has {sa.shape}")
    zero_s = (sa == 0.0) & (wa != 0.0)
    if np.any(zero_s):
        raise ValueError(
            f"{int(zero_s.sum())} event(s) have a zero surrogate weight but a non-zero exact weight "
            f"(first at index {int(np.flatnonzero(zero_s)[0])}); stage 1 would never keep them"
        )
    check_budget(budget)
    x = _as_f8(np.divide(wa, sa, out=np.zeros_like(wa), where=sa != 0.0), "x = w/s")
    smax = xmax = 0.0  # no maxima of an empty sample
    if s_max is not None:
        smax = float(s_max)
    elif wa.size:
        smax = float(stage1_maximum(sa, x, eps_s, budget))
    if x_max is not None:
        xmax = float(x_max)
    elif wa.size:
        xmax = float(stage2_maximum(x, sa, eps_x))
    if not (smax > 0 and xmax > 0):
        raise ValueError(f"two-stage unweighting needs positive maxima, found s_max={smax}, x_max={xmax}")
    r1 = np.abs(sa) / smax
    r2 = np.abs(x) / xmax
    p1 = np.minimum(1.0, r1)
    p2 = np.minimum(1.0, r2)
    stage1 = rng.random(wa.size) < p1
    idx1 = np.flatnonzero(stage1)
    keep2 = rng.random(idx1.size) < p2[idx1]
    accepted = np.zeros(wa.size, dtype=bool)
    accepted[idx1[keep2]] = True
    weight = np.sign(wa[accepted]) * np.maximum(1.0, r1[accepted]) * np.maximum(1.0, r2[accepted])
    sum_abs_s = float(np.sum(np.abs(sa)))
    n1, n_acc = int(idx1.size), int(accepted.sum())
    eps_1 = eps_2 = 0.0
    if sum_abs_s > 0:
        e1, e2 = stage_efficiencies(wa, sa, smax, xmax)
        eps_1, eps_2 = float(e1), float(e2)
    return TwoStageResult(
        stage1=stage1,
        accepted=accepted,
        weight=weight,
        probability=p1 * p2,
        x=x,
        s_max=smax,
        x_max=xmax,
        eps_1=eps_1,
        eps_2=eps_2,
        overweight_fraction_1=float(np.count_nonzero(r1[stage1] > 1.0) / n1) if n1 else 0.0,
        overweight_fraction_2=float(np.count_nonzero(r2[accepted] > 1.0) / n_acc) if n_acc else 0.0,
        overweight_sigma_fraction=_sigma_above_one(p1 * p2, float(np.sum(np.abs(wa))) / (smax * xmax)),
        alpha=kish_alpha(weight),
        n_trials=int(wa.size),
    )
