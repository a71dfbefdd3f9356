"""The networks of the models: fully connected float64 (or float32) MLPs and their activation."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..config import Activation, as_enum

__all__ = ["Network", "build_net", "net_dtype", "run_net", "run_net_pair_major"]


class _SiLU(nn.SiLU):
    """SiLU whose evaluation form suits ONNX Runtime's CPU kernels of the network's dtype.

    float64: ``h + h·tanh(h)`` with ``h = x/2`` (the same function, x·sigmoid(x)).  ONNX Runtime's float64
    ``Sigmoid`` is slow (≈ 11 ns per element on this CPU); Mul + Tanh + Mul + Add costs ≈ 5 ns
    (x / (1 + exp(-x)) ≈ 6 ns).  The cancellation for x ≪ 0 costs only absolute accuracy (≈ 1e-16 |x|),
    which is what the next Linear layer sees.  float32: ``x·Sigmoid(x)``, two vectorised kernels (≈ 0.9 ns
    per element; the tanh form's four cost ≈ 1.7 ns).  Training uses torch's fused ``silu``; evaluation
    mode, the mode the exporter traces in (:meth:`Surrogate.for_export`), computes what the exported graph
    computes, so that torch and ONNX Runtime agree to the rounding of their matmul kernels, also for a
    float32 network.
    """

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            return super().forward(x)
        if x.dtype == torch.float32:
            return x * torch.sigmoid(x)
        h = 0.5 * x
        return h + h * torch.tanh(h)


_ACTIVATIONS: dict[Activation, type[nn.Module]] = {
    Activation.SILU: _SiLU,
    Activation.TANH: nn.Tanh,
    Activation.GELU: nn.GELU,
    Activation.RELU: nn.ReLU,
}


class Network(nn.Sequential):
    """The fully connected network: Linear and activation layers, then the Linear readout.

    ``bf16_hidden`` (False unless training sets it, ``TrainConfig.bf16_hidden``): in training mode the
    hidden layers run under ``torch.autocast`` in bfloat16 (products in bfloat16, weights and their
    gradients stay in the network's dtype), the readout in the network's dtype.  Evaluation mode, and so
    the exported graph, is the plain sequence.
    """

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__(*layers)
        self.bf16_hidden = False

    def forward(self, x: Tensor) -> Tensor:
        *body, last = self
        if not (self.training and self.bf16_hidden):
            for layer in self:
                x = layer(x)
            return x
        assert isinstance(last, nn.Linear)
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            for layer in body:
                x = layer(x)
        readout: Tensor = last(x.to(last.weight.dtype))
        return readout


def build_net(n_in: int, hidden: Sequence[int], n_out: int, activation: Activation | str) -> Network:
    """Fully connected network ``n_in -> hidden... -> n_out`` (float64), last layer initialised small."""
    act = _ACTIVATIONS[as_enum(Activation, activation, "unknown activation ")]
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h, dtype=torch.float64), act()]
        width = h
    last = nn.Linear(width, n_out, dtype=torch.float64)
    with torch.no_grad():
        last.weight.mul_(0.1)
        last.bias.zero_()
    layers.append(last)
    return Network(*layers)


def net_dtype(net: nn.Sequential) -> torch.dtype:
    """The dtype a coefficient/MLP network computes in (that of its first Linear layer)."""
    first = net[0]
    if not isinstance(first, nn.Linear):
        raise TypeError(f"expected a Linear first layer, got {first!r}")
    return first.weight.dtype


def run_net(net: nn.Sequential, h: Tensor) -> Tensor:
    """``net(h)`` in the network's own dtype, returned in float64.

    A float32 network (``TrainConfig.net_dtype="float32"``) gives fitted numbers good to ≈ 1e-7, far below
    the surrogate's error, while every physics quantity around it (invariants, dipoles, the sum Σ C D, the
    target transform) stays float64; only the network's inputs, the features, are then rounded to float32
    (at evaluation they are computed in float32 from float64 ratios).  ONNX Runtime's float32 Gemm and
    activations are 2.5–3.5× faster than their float64 twins on this CPU
    (``benchmarks/bench_inference.py --net-dtype``).
    """
    out: Tensor = net(h.to(net_dtype(net)))
    return out.to(torch.float64)


def run_net_pair_major(net: nn.Sequential, x: Tensor) -> Tensor:
    """:func:`run_net` on pair-major inputs: ``x`` (n_in, B) gives the outputs (n_out, B), float64.

    The last Linear layer is computed as ``W · hᵀ + b`` (one Gemm), so its output needs no Transpose: at
    batch 1, where ONNX Runtime's cost is per node, every node counts.
    """
    *body, last = net
    if not isinstance(last, nn.Linear):
        raise TypeError(f"expected a Linear last layer, got {last!r}")
    h = x.to(net_dtype(net)).transpose(0, 1)
    for layer in body:
        h = layer(h)
    out = torch.addmm(last.bias[:, None], last.weight, h.transpose(0, 1))
    return out.to(torch.float64)
