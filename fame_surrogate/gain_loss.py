"""The "gain" training loss: a differentiable estimate of the two-stage unweighting gain (SPEC §4.4).

Following the KISS 2025 talk (Herrmann, Janßen, Siegert, Schumann), the network is first trained with the MSE
and then on the effective gain itself.  On a mini-batch with exact ``|M|²`` values ``m``, predictions ``m̂``
and non-ME weight factors ``c`` (phase space × PDF × flux; 1 when absent) the weights are ``w = c m`` and ``s
= c m̂``.  With the ``Max_Epsilon`` maxima (``sherpa_plugin.unweighting``, reproduced here in torch)

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

__all__ = ["gain_loss", "gain_terms", "max_epsilon_torch"]


def max_epsilon_torch(values: Tensor, eps: float = 1e-3, weights: Tensor | None = None) -> Tensor:
    """Differentiable exact ``Max_Epsilon`` maximum: smallest ``m`` with ``Σ c max(0,|v|−m) ≤ eps Σ c|v|``.

    Parameters
    ----------
    values : Tensor, shape (B,)
        Absolute values are used.
    eps : float
        Allowed excess fraction, ``0 ≤ eps < 1``.
    weights : Tensor, shape (B,), optional
        Non-negative multiplicities ``c`` (default 1).

    Returns
    -------
    Tensor, 0-d
        Same dtype as ``values``; identical to ``sherpa_plugin.unweighting.max_epsilon``.
    """
    if not 0.0 <= eps < 1.0:
        raise ValueError(f"Max_Epsilon must lie in [0, 1), got {eps}")
    a = values.abs().reshape(-1)
    c = torch.ones_like(a) if weights is None else weights.abs().reshape(-1)
    if a.numel() == 0:
        raise ValueError("max_epsilon_torch needs at least one value")
    a_s, order = torch.sort(a, descending=True)
    c_s = c[order]
    cum_c = torch.cumsum(c_s, 0)
    cum_ca = torch.cumsum(c_s * a_s, 0)
    target = eps * cum_ca[-1]
    zero = a_s.new_zeros(1)
    above_c = torch.cat([zero, cum_c[:-1]])
    above_ca = torch.cat([zero, cum_ca[:-1]])
    excess = (above_ca - above_c * a_s).clamp_min(0.0)
    k = int(torch.searchsorted(excess.detach().contiguous(), target.detach().reshape(1), right=True)) - 1
    k = max(k, 0)
    m = (cum_ca[k] - target) / cum_c[k].clamp_min(torch.finfo(a.dtype).tiny)
    lower = a_s[k + 1] if k + 1 < a.numel() else a_s.new_zeros(())
    return torch.minimum(torch.maximum(m, lower), a_s[k])


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
        ``"surrogate"`` (excess in surrogate weight), as in ``sherpa_plugin.unweighting.two_stage``.  With
        ``"surrogate"`` the loss can be lowered by shrinking the surrogate where ``w`` peaks, which buys
        cross-section budget rather than accuracy.
    """
    if budget not in ("sigma", "surrogate"):
        raise ValueError(f"budget={budget!r}; expected 'sigma' or 'surrogate'")
    if pred_me2.shape != true_me2.shape:
        raise ValueError(f"pred_me2 has shape {tuple(pred_me2.shape)}, true_me2 {tuple(true_me2.shape)}")
    tiny = torch.finfo(pred_me2.dtype).tiny
    c = torch.ones_like(true_me2) if weight is None else weight.to(true_me2.dtype).abs()
    w = (c * true_me2).abs()
    s = (c * pred_me2).abs().clamp_min(tiny)
    x = w / s
    s_max = max_epsilon_torch(s, eps_s, weights=x if budget == "sigma" else None)
    x_max = max_epsilon_torch(x, eps_x, weights=s)
    eps_1 = s.mean() / s_max
    eps_2 = w.sum() / s.sum() / x_max
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
