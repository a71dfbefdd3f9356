"""The "gain" training loss: a differentiable estimate of the two-stage unweighting gain (SPEC §4.4).

Following the KISS 2025 talk (Herrmann, Janßen, Siegert, Schumann), the network is first trained with the MSE
and then on the effective gain itself.  On a mini-batch with exact ``|M|²`` values ``m``, predictions ``m̂``
and non-ME weight factors ``c`` (phase space × PDF × flux; 1 when absent) the weights are ``w = c m`` and ``s
= c m̂``.  With the ``Max_Epsilon`` maxima (:mod:`fame_surrogate.validation.efficiency`, the same code that
:mod:`fame_surrogate.validation.unweighting` runs in numpy, here on torch tensors)

    ε_1 = ⟨|s|⟩ / s_max,     ε_2 = (Σ|w| / Σ|s|) / x_max,     x = w/s,

``x_max`` the ``|s|``-weighted ``Max_Epsilon`` maximum of ``|x|`` and, by default, ``s_max`` the
``|x|``-weighted one of ``|s|`` (both excesses measured in cross section).  Because ``ε_full`` does not depend
on the surrogate,

    −log f_eff = log[ r/(ε_1 ε_2) + 1/ε_2 ] + const,     r = (t_surr + t_PS)/t_ME,

which is the loss.  Sorting, cumulative sums and the closed-form maximum are differentiable in the values (the
index of the bracketing interval is piecewise constant), so gradients reach every prediction that sets a
maximum or an efficiency.  The loss is invariant under an overall rescaling of the predictions, hence the MSE
warm-up.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .validation.efficiency import check_budget, stage1_maximum, stage2_maximum, stage_efficiencies

__all__ = ["gain_loss", "gain_terms"]


def gain_terms(
    pred_me2: Tensor,
    true_me2: Tensor,
    weight: Tensor | None = None,
    *,
    eps_s: float = 1e-3,
    eps_x: float = 1e-3,
    budget: str = "sigma",
) -> tuple[Tensor, Tensor]:
    """Stage efficiencies ``(ε_1, ε_2)`` of a mini-batch, differentiable in ``pred_me2``.

    Parameters
    ----------
    pred_me2, true_me2 : Tensor, shape (B,)
        Surrogate and exact ``|M|²`` (same units).
    weight : Tensor, shape (B,), optional
        Non-ME weight factor per point (phase space, PDFs, flux); default 1 (e.g. RAMBO's constant weight).
    eps_s, eps_x : float
        ``Max_Epsilon`` of the stage-1 and stage-2 maxima.
    budget : str
        Stage-1 ``Max_Epsilon`` budget, ``"sigma"`` (excess in cross section, weights ``|x|``) or
        ``"surrogate"`` (excess in surrogate weight), as in :func:`fame_surrogate.validation.two_stage`.  With
        ``"surrogate"`` the loss can be lowered by shrinking the surrogate where ``w`` peaks, which buys
        cross-section budget rather than accuracy.
    """
    check_budget(budget)
    if pred_me2.shape != true_me2.shape:
        raise ValueError(f"pred_me2 has shape {tuple(pred_me2.shape)}, true_me2 {tuple(true_me2.shape)}")
    tiny = torch.finfo(pred_me2.dtype).tiny
    c = torch.ones_like(true_me2) if weight is None else weight.to(true_me2.dtype).abs()
    w = (c * true_me2).abs()
    s = (c * pred_me2).abs().clamp_min(tiny)
    x = w / s
    s_max = stage1_maximum(s, x, eps_s, budget)
    x_max = stage2_maximum(x, s, eps_x)
    eps_1, eps_2 = stage_efficiencies(w, s, s_max, x_max)
    return eps_1, eps_2


def gain_loss(
    pred_me2: Tensor,
    true_me2: Tensor,
    weight: Tensor | None = None,
    *,
    time_ratio: float = 0.1,
    eps_s: float = 1e-3,
    eps_x: float = 1e-3,
    budget: str = "sigma",
) -> Tensor:
    """``log[r/(ε_1 ε_2) + 1/ε_2]`` = ``−log f_eff`` + a surrogate-independent constant (minimise it).

    Parameters
    ----------
    pred_me2, true_me2 : Tensor, shape (B,)
        Surrogate and exact ``|M|²``.
    weight : Tensor, shape (B,), optional
        Non-ME weight factor (see :func:`gain_terms`).
    time_ratio : float
        ``r = (t_surr + t_PS)/t_ME`` (small where the surrogate pays: the loss then mostly maximises ε_2).
    eps_s, eps_x : float
        ``Max_Epsilon`` of the stage maxima.
    budget : str
        Stage-1 budget (see :func:`gain_terms`).

    Returns
    -------
    Tensor, 0-d
        For a perfect surrogate, ``log(r/ε_full + 1)`` up to the ``Max_Epsilon`` reduction of ``x_max``.
    """
    if not time_ratio >= 0.0:
        raise ValueError(f"time_ratio must be non-negative, got {time_ratio}")
    eps_1, eps_2 = gain_terms(pred_me2, true_me2, weight, eps_s=eps_s, eps_x=eps_x, budget=budget)
    return torch.log(time_ratio / (eps_1 * eps_2) + 1.0 / eps_2)
