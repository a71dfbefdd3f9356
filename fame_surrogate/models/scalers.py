"""The standardisation of a model's inputs and target, and its export-time fold into the first layer."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._ops import sinh

__all__ = ["FIT_CHUNK", "Standardise", "TargetTransform", "fold_input_standardisation"]

#: rows per chunk where scalers are fitted over a training set (bounds the temporaries: ≈ 30 MB per 100
#: float64 feature columns)
FIT_CHUNK = 1 << 15


class Standardise(nn.Module):
    """``(x - mean) / std`` per column, as buffers (columns without spread are centred, not scaled)."""

    mean: Tensor
    std: Tensor

    def __init__(self, n: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n, dtype=torch.float64))
        self.register_buffer("std", torch.ones(n, dtype=torch.float64))
        #: set by :func:`fold_input_standardisation` once the first Linear layer absorbed mean and std
        self.folded = False

    def fit(self, x: Tensor) -> None:
        """Set mean and (sample) std from ``x`` (B, n), accumulated in float64 over chunks of
        :data:`FIT_CHUNK` rows (two passes; no full-size temporaries); non-finite columns are an error."""
        n, chunk = x.shape[0], FIT_CHUNK
        total = torch.zeros(x.shape[1], dtype=torch.float64)
        top = torch.zeros_like(total)
        for start in range(0, n, chunk):
            xc = x[start : start + chunk].to(torch.float64)
            if not bool(torch.isfinite(xc).all()):
                bad = (~torch.isfinite(xc)).any(0).nonzero().flatten().tolist()
                raise ValueError(f"non-finite network inputs in feature columns {bad}")
            total += xc.sum(0)
            top = torch.maximum(top, xc.abs().amax(0))
        mean = total / n
        squares = torch.zeros_like(total)
        for start in range(0, n, chunk):
            squares += ((x[start : start + chunk].to(torch.float64) - mean) ** 2).sum(0)
        std = torch.sqrt(squares / (n - 1))  # NaN for a single row, as torch.std
        self.mean.copy_(mean)
        self.std.copy_(torch.where(std > 1e-12 * (1.0 + top), std, torch.ones_like(std)))

    def forward(self, x: Tensor) -> Tensor:
        if self.folded:
            return x
        return (x - self.mean) / self.std


@torch.no_grad()
def fold_input_standardisation(
    x_norm: Standardise, net: nn.Sequential, skip: tuple[Tensor, Tensor] | None = None
) -> None:
    """Absorb ``(x - mean)/std`` into the first Linear layer of ``net`` (in place; an export-time rewrite).

    ``W' = W / std`` (per input column) and ``b' = b - W' · mean``, computed in float64 and stored in the
    layer's dtype, so ``W' x + b' = W (x - mean)/std + b`` up to rounding; ``x_norm`` then passes its input
    through.  Saves a Sub and a Div over all features.  ``skip`` = (weight (n,), bias ()) of a linear
    read-out of the same standardised features is folded the same way.  A float32 network then reads
    float32 features (models compute them in the network's dtype): every feature is O(1–20) with an O(1)
    spread (momenta over √ŝ, logarithms), so rounding it before the centring moves the standardised input
    by ≲ 1e-6.
    """
    if x_norm.folded:
        return
    first = net[0]
    if not isinstance(first, nn.Linear):
        raise TypeError(f"expected a Linear first layer to fold the standardisation into, got {first!r}")
    weight = first.weight.to(x_norm.std.dtype) / x_norm.std[None, :]
    bias = first.bias.to(weight.dtype) - weight @ x_norm.mean
    first.weight.copy_(weight.to(first.weight.dtype))
    first.bias.copy_(bias.to(first.bias.dtype))
    if skip is not None:  # a linear read-out of the standardised features (DipoleModel's skip), in place
        skip_w, skip_b = skip
        folded_w = skip_w / x_norm.std
        skip_b.sub_(folded_w @ x_norm.mean)
        skip_w.copy_(folded_w)
    x_norm.folded = True


class TargetTransform(nn.Module):
    """The standardised target ``t = (asinh(me2/scale) - mean)/std`` and its inverse (SPEC §4.2).

    ``scale`` is set to a small quantile of the training |M|^2 so that ``asinh`` acts as a logarithm over
    the bulk of the data: an MSE in ``t`` is then an MSE in the relative error.
    """

    scale: Tensor
    mean: Tensor
    std: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("std", torch.ones((), dtype=torch.float64))

    def fit(
        self,
        me2: Tensor,
        scale_quantile: float = 0.01,
        scale_factor: float = 0.1,
        scale_from: Tensor | None = None,
    ) -> None:
        """Set the constants from training |M|^2 (B,) float64.

        ``scale_from`` (M,) float64, optional: the |M|^2 whose small quantile sets ``scale`` instead of
        ``me2``'s (the whole training split when ``me2`` is an importance subsample of it, which leaves out
        most of the smallest |M|^2: from the subsample alone they would sit in the linear part of
        ``asinh``, where a small error of an MLP's output flips the sign of its prediction).
        """
        if not bool(torch.isfinite(me2).all()):
            raise ValueError("non-finite |M|^2 in the training target")
        ref = me2 if scale_from is None else scale_from
        positive = ref.abs()[ref.abs() > 0]
        if positive.numel() == 0:
            raise ValueError("all training |M|^2 are zero: nothing to learn")
        self.scale.copy_(scale_factor * torch.quantile(positive, scale_quantile))
        a = torch.asinh(me2 / self.scale)
        self.mean.copy_(a.mean())
        self.std.copy_(a.std().clamp_min(1e-12))

    def encode(self, me2: Tensor) -> Tensor:
        """|M|^2 -> standardised target (training only: uses torch.asinh)."""
        return (torch.asinh(me2 / self.scale) - self.mean) / self.std

    def decode(self, t: Tensor) -> Tensor:
        """Standardised target -> |M|^2 (ONNX-safe float64 sinh)."""
        return self.scale * sinh(t * self.std + self.mean)
