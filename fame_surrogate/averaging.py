"""Polyak averaging: an exponential moving average of a network's parameters during training.

With a constant learning rate, stochastic gradient steps leave the parameters jittering around the optimum on
a scale set by the step size and the mini-batch noise.  Their exponential moving average,
``θ̄ ← decay·θ̄ + (1 − decay)·θ`` after every optimiser step, averages that jitter out over ≈ 1/(1 − decay)
steps (Polyak & Juditsky 1992; Ruppert 1988).  :func:`fame_surrogate.train.train_surrogate` evaluates,
keeps and returns the averaged parameters when ``TrainConfig.ema_decay`` > 0.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor, nn

__all__ = ["ParameterAverage"]


class ParameterAverage:
    """The exponential moving average of the parameters of ``net``.

    Parameters
    ----------
    net : nn.Module
        The network being trained; its parameters are read after every :meth:`update`.
    decay : float
        The average's decay per update, 0 <= decay < 1 (0: the average is the current parameters).

    Notes
    -----
    The average starts at (and :meth:`reset` sets it to) the current parameters, so it carries no bias
    towards zero; it has the parameters' dtypes and devices.
    """

    def __init__(self, net: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ParameterAverage: decay={decay}; expected 0 <= decay < 1")
        self.decay = float(decay)
        self._params = list(net.parameters())
        self._avg = [p.detach().clone() for p in self._params]

    def update(self) -> None:
        """One step of the average: ``θ̄ ← θ̄ + (1 − decay)·(θ − θ̄)``."""
        with torch.no_grad():
            for a, p in zip(self._avg, self._params, strict=True):
                a.lerp_(p.detach(), 1.0 - self.decay)

    def reset(self) -> None:
        """Restart the average at the current parameters."""
        with torch.no_grad():
            for a, p in zip(self._avg, self._params, strict=True):
                a.copy_(p.detach())

    def averaged(self) -> list[Tensor]:
        """The averaged parameters (the module's parameter order), as tensors owned by this object."""
        return self._avg

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Within the block the network holds the averaged parameters; the trained ones are restored after."""
        with torch.no_grad():
            saved = [p.detach().clone() for p in self._params]
            for p, a in zip(self._params, self._avg, strict=True):
                p.copy_(a)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, s in zip(self._params, saved, strict=True):
                    p.copy_(s)
