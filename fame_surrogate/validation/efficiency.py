"""Sherpa's ``Max_Epsilon`` maximum and the two-stage efficiencies, written once for numpy and torch.

These are the formulas that :mod:`fame_surrogate.validation.unweighting` (numpy, the reference unweighter)
and :mod:`fame_surrogate.gain_loss` (torch, differentiable) share; the array namespace follows the input
(:mod:`fame_surrogate.validation._xp`).

* ``Max_Epsilon`` maximum, exact (unbinned): the smallest ``m ≥ 0`` with
  ``Σ c_i max(0, |v_i| − m) ≤ ε Σ c_i |v_i|``, solved in closed form after sorting.  Sorting, cumulative sums
  and the closed form are differentiable in the values (the index of the bracketing interval is piecewise
  constant), so with torch gradients reach every value that sets the maximum.
* Stage maxima: ``s_max`` the ``Max_Epsilon`` maximum of ``|s|`` with weights ``|x|`` (budget ``"sigma"``:
  the excess measured in cross section) or unit weights (``"surrogate"``); ``x_max`` that of ``|x|`` with
  weights ``|s|``.
* Stage efficiencies: ``ε_1 = ⟨|s|⟩/s_max``, ``ε_2 = (Σ|w|/Σ|s|)/x_max``.
"""

from __future__ import annotations

from ._xp import (
    Array,
    argsort_descending,
    clamp_min,
    maximum,
    minimum,
    ones_like,
    search_right,
    shift_right,
    tiny,
)

__all__ = [
    "STAGE1_BUDGETS",
    "check_budget",
    "reduced_maximum",
    "stage1_maximum",
    "stage2_maximum",
    "stage_efficiencies",
]

#: how the stage-1 ``Max_Epsilon`` excess is measured (module docstring of ``unweighting``)
STAGE1_BUDGETS: tuple[str, ...] = ("sigma", "surrogate")


def check_budget(budget: str) -> None:
    """Raise ``ValueError`` unless ``budget`` is one of :data:`STAGE1_BUDGETS`."""
    if budget not in STAGE1_BUDGETS:
        raise ValueError(f"budget={budget!r}; expected one of {STAGE1_BUDGETS}")


def reduced_maximum(values: Array, eps: float = 1e-3, weights: Array | None = None) -> Array:
    """Sherpa's ``Max_Epsilon`` reduced maximum, exact (unbinned).

    Parameters
    ----------
    values : ndarray or Tensor, float, shape (N,), N ≥ 1
        Event weights (or ratios); their absolute values are used.  Assumed finite.
    eps : float
        Allowed fraction of the (weighted) sum above the maximum, ``0 ≤ eps < 1`` (Sherpa default 1e-3).
    weights : ndarray or Tensor, shape (N,), optional
        Multiplicities ``c_i`` (absolute values used; default 1); for the stage-2 ratio ``x`` these are
        ``|s|``.

    Returns
    -------
    ndarray or Tensor, 0-d
        Same kind and dtype as ``values``: the smallest ``m ≥ 0`` with
        ``Σ c_i max(0, |v_i| − m) ≤ eps · Σ c_i |v_i|``; ``max |v|`` for ``eps = 0``, 0 for all-zero input.
        Differentiable in ``values`` and ``weights`` for torch.
    """
    if not 0.0 <= eps < 1.0:
        raise ValueError(f"Max_Epsilon must lie in [0, 1), got {eps}")
    a = abs(values.reshape(-1))
    c = ones_like(a) if weights is None else abs(weights.reshape(-1))
    n = a.shape[0]
    if n == 0:
        raise ValueError("the Max_Epsilon maximum needs at least one value")
    if c.shape != a.shape:
        raise ValueError(f"weights have shape {tuple(c.shape)}, values {tuple(a.shape)}")
    order = argsort_descending(a)
    a_s, c_s = a[order], c[order]
    cum_c = c_s.cumsum(0)
    cum_ca = (c_s * a_s).cumsum(0)
    target = eps * cum_ca[-1]
    # excess when the maximum sits at a_s[k] (non-decreasing in k): the k larger entries contribute
    excess = clamp_min(shift_right(cum_ca) - shift_right(cum_c) * a_s, 0.0)
    k = max(search_right(excess, target) - 1, 0)
    # on [a_s[k+1], a_s[k]] the entries 0..k lie above m: excess(m) = cum_ca[k] - cum_c[k] * m
    m = (cum_ca[k] - target) / clamp_min(cum_c[k], tiny(a))
    lower = a_s[k + 1] if k + 1 < n else a_s[k] * 0.0
    return minimum(maximum(m, lower), a_s[k])


def stage1_maximum(s: Array, x: Array, eps_s: float = 1e-3, budget: str = "sigma") -> Array:
    """``s_max``: the ``Max_Epsilon`` maximum of ``|s|``, weighted with ``|x|`` for budget ``"sigma"``.

    Parameters
    ----------
    s, x : ndarray or Tensor, float, shape (N,)
        Surrogate weights and ``x = w/s``.
    eps_s : float
        ``Max_Epsilon`` of the stage-1 maximum.
    budget : str
        ``"sigma"`` (excess in cross section) or ``"surrogate"`` (excess in surrogate weight).
    """
    check_budget(budget)
    return reduced_maximum(s, eps_s, weights=x if budget == "sigma" else None)


def stage2_maximum(x: Array, s: Array, eps_x: float = 1e-3) -> Array:
    """``x_max``: the ``Max_Epsilon`` maximum of ``|x|`` weighted with ``|s|`` (cross-section excess)."""
    return reduced_maximum(x, eps_x, weights=s)


def stage_efficiencies(w: Array, s: Array, s_max: Array | float, x_max: Array | float) -> tuple[Array, Array]:
    """``(ε_1, ε_2) = (⟨|s|⟩/s_max, (Σ|w|/Σ|s|)/x_max)`` (noise-free expectations of the two stages).

    Parameters
    ----------
    w, s : ndarray or Tensor, float, shape (N,), N ≥ 1
        Exact and surrogate weights (absolute values used); ``Σ|s| > 0``.
    s_max, x_max : float or 0-d array
        Positive stage maxima.

    Returns
    -------
    (ndarray or Tensor, ndarray or Tensor), 0-d each
        Differentiable in ``s`` (and the maxima) for torch.
    """
    abs_s = abs(s)
    return abs_s.mean() / s_max, abs(w).sum() / abs_s.sum() / x_max
