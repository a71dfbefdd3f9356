"""Optimisers of a surrogate's network: Muon for the hidden weight matrices, AdamW for the rest.

Muon (Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural networks") replaces each hidden
weight matrix's momentum update by the nearest semi-orthogonal matrix (the polar factor U Vᵀ of
U S Vᵀ, approximated by a Newton–Schulz iteration), so every direction of the update moves at the same
rate, however ill-conditioned the gradient is.  The update is scaled to the root mean square of an AdamW
update (0.2·√max(rows, columns), Liu et al. 2025, "Muon is scalable for LLM training"), so the learning
rate, its schedule and the weight decay of AdamW carry over.  The readout layer and the biases keep AdamW.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import torch
from torch import Tensor, nn

__all__ = ["NS_COEFFICIENTS", "Muon", "MuonAdamW", "TrainingOptimizer", "newton_schulz"]

#: the quintic a·x + b·x³ + c·x⁵ that each Newton–Schulz step applies to the singular values (Jordan et al.):
#: steep at 0, so that small singular values grow fast, at the price of ending in a band around 1
#: (about 0.7–1.2 after five steps) rather than at 1 exactly
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


class TrainingOptimizer(Protocol):
    """What training needs of an optimiser: its parameter groups (the learning rate is set in each), and
    ``zero_grad`` and ``step``."""

    @property
    def param_groups(self) -> list[dict[str, Any]]: ...

    def zero_grad(self, set_to_none: bool = True) -> None: ...

    def step(self) -> Any: ...


def newton_schulz(g: Tensor, steps: int = 5) -> Tensor:
    """The Newton–Schulz approximation of the polar factor U Vᵀ of a matrix g = U S Vᵀ.

    Parameters
    ----------
    g : Tensor, shape (m, n), float32 or float64
        A weight matrix's update.
    steps : int
        Iterations of X ← a·X + (b·XXᵀ + c·(XXᵀ)²)·X from X = g/(‖g‖_F + 1e-7) (:data:`NS_COEFFICIENTS`).

    Returns
    -------
    Tensor, shape (m, n), the dtype of ``g``
        U p(S/‖g‖_F) Vᵀ, with p the quintic iterated ``steps`` times: the singular vectors of g, and
        singular values in a band around 1 for those not far below the largest.
    """
    a, b, c = NS_COEFFICIENTS
    x = g / (torch.linalg.matrix_norm(g) + 1e-7)
    wide = x.shape[0] <= x.shape[1]  # iterate on the smaller Gram matrix
    if not wide:
        x = x.mT
    for _ in range(steps):  # each product and sum as one fused a·X + (b·G + c·G²)·X, G = XXᵀ
        gram = x @ x.mT
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    out: Tensor = x if wide else x.mT
    return out


class Muon(torch.optim.Optimizer):
    """Muon for 2-d weight matrices: Nesterov momentum, then its :func:`newton_schulz` factor, scaled to
    an AdamW update's root mean square, with decoupled weight decay.

    Per step, for a matrix W (m × n) with gradient g and momentum buffer B (zero at first):
    B ← μB + g;  O = newton_schulz(g + μB);  W ← W·(1 − lr·wd) − lr·0.2·√max(m, n)·O.

    Parameters
    ----------
    params : iterable of Tensor
        2-d parameters.
    lr : float
        Learning rate (as AdamW's).
    weight_decay : float
        Decoupled weight decay wd.
    momentum : float
        μ.
    ns_steps : int
        Newton–Schulz iterations.
    """

    def __init__(
        self, params: Iterable[Tensor], lr: float, weight_decay: float = 0.0, momentum: float = 0.95,
        ns_steps: int = 5,
    ) -> None:
        params = list(params)
        for p in params:
            if p.ndim != 2:
                raise ValueError(f"Muon updates 2-d weight matrices; got one of shape {tuple(p.shape)}")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "ns_steps": ns_steps}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One update of every matrix with a gradient (``closure``: re-evaluates the loss, returned)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                lr, wd, mu = group["lr"], group["weight_decay"], group["momentum"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["momentum"] = torch.zeros_like(p)
                    buf = state["momentum"]
                    buf.mul_(mu).add_(p.grad)
                    update = newton_schulz(p.grad.add(buf, alpha=mu), group["ns_steps"])
                    if wd != 0.0:
                        p.mul_(1.0 - lr * wd)
                    p.add_(update, alpha=-lr * 0.2 * math.sqrt(max(p.shape)))
        return loss


class MuonAdamW:
    """:class:`Muon` on a network's hidden weight matrices (every ``nn.Linear`` weight but the readout's),
    the fused AdamW on the rest (the readout, the biases).

    Parameters
    ----------
    net : nn.Sequential
        The network; its last ``nn.Linear`` is the readout.
    lr : float
        The learning rate of both (Muon's update is scaled to AdamW's).
    weight_decay : float
        Decoupled weight decay of both.
    """

    def __init__(self, net: nn.Sequential, lr: float, weight_decay: float) -> None:
        linear = [m for m in net if isinstance(m, nn.Linear)]
        matrices = [m.weight for m in linear[:-1]]
        chosen = {id(p) for p in matrices}
        rest = [p for p in net.parameters() if id(p) not in chosen]
        self.muon = Muon(matrices, lr=lr, weight_decay=weight_decay)
        self.adamw = torch.optim.AdamW(rest, lr=lr, weight_decay=weight_decay, fused=True)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """Muon's parameter groups, then AdamW's (training sets the learning rate in each)."""
        return [*self.muon.param_groups, *self.adamw.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter."""
        self.muon.zero_grad(set_to_none=set_to_none)
        self.adamw.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        """One update of every parameter."""
        self.muon.step()
        self.adamw.step()
