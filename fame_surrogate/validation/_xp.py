"""The few array operations whose spelling differs between numpy and torch, dispatched on the array's type.

The validation formulas (:mod:`fame_surrogate.validation.efficiency`) are written once against these helpers
and the operations both libraries spell alike (``abs``, ``cumsum``, ``minimum``, ``maximum``, indexing,
arithmetic), in the style of scikit-hep ``vector``'s backends: numpy for validation, torch (differentiable)
for the gain loss.  ``array_api_compat`` is not a dependency; torch is never imported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: a numpy ndarray or a torch Tensor (the formulas accept either; results keep the input's kind)
Array = Any

__all__ = [
    "Array",
    "argsort_descending",
    "clamp_min",
    "is_torch",
    "maximum",
    "minimum",
    "ones_like",
    "search_right",
    "shift_right",
    "tiny",
]


def is_torch(x: Array) -> bool:
    """True for a torch Tensor (checked by type, without importing torch)."""
    return type(x).__module__.split(".", 1)[0] == "torch"


def argsort_descending(a: Array) -> Array:
    """Indices that sort the 1-d ``a`` into descending order, stable (ties keep their input order)."""
    if is_torch(a):
        return a.argsort(descending=True, stable=True)
    return np.argsort(-a, kind="stable")


def shift_right(v: Array) -> Array:
    """``[0, v[0], …, v[-2]]``: the 1-d ``v`` shifted by one place, a zero in front (same dtype, device)."""
    if is_torch(v):
        import torch

        return torch.cat([v.new_zeros(1), v[:-1]])
    return np.concatenate([np.zeros(1, dtype=v.dtype), v[:-1]])


def clamp_min(x: Array, low: float) -> Array:
    """``max(x, low)`` elementwise (differentiable in ``x`` for torch)."""
    if is_torch(x):
        return x.clamp_min(low)
    return np.maximum(x, low)


def ones_like(x: Array) -> Array:
    """Ones of ``x``'s shape, dtype (and device)."""
    return x.new_ones(x.shape) if is_torch(x) else np.ones_like(x)


def maximum(a: Array, b: Array) -> Array:
    """Elementwise maximum of two arrays of the same kind (differentiable for torch)."""
    if is_torch(a):
        import torch

        return torch.maximum(a, b)
    return np.maximum(a, b)


def minimum(a: Array, b: Array) -> Array:
    """Elementwise minimum of two arrays of the same kind (differentiable for torch)."""
    if is_torch(a):
        import torch

        return torch.minimum(a, b)
    return np.minimum(a, b)


def search_right(sorted_values: Array, value: Array) -> int:
    """Number of entries of the non-decreasing 1-d ``sorted_values`` that are ``≤ value`` (no gradient)."""
    if is_torch(sorted_values):
        import torch

        found = torch.searchsorted(sorted_values.detach().contiguous(), value.detach().reshape(1), right=True)
        return int(found)
    return int(np.searchsorted(sorted_values, value, side="right"))


def tiny(x: Array) -> float:
    """Smallest positive normal number of ``x``'s floating dtype."""
    if is_torch(x):
        import torch

        return float(torch.finfo(x.dtype).tiny)
    return float(np.finfo(x.dtype).tiny)
