"""The Minkowski product, written once for every array namespace (numpy arrays, torch tensors).

Only indexing (``p[..., k]`` or ``p[k]``), ``*``, ``+`` and ``-`` are used, so the same function serves
numpy in the physics checks and the matrix elements and torch in the models, as scikit-hep ``vector`` writes
one formula against its backends.  Metric (+, -, -, -); components (E, px, py, pz).

The Sherpa-side RAMBO (:mod:`sherpa_plugin.sherpa_side.rambo`) keeps its own copy: it runs in Sherpa's Python
without fame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import numpy.typing as npt

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["mdot", "msq"]

#: a numpy array (any dtype: float64 momenta, complex128 currents) or a torch tensor
A = TypeVar("A", npt.NDArray[Any], "Tensor")


def _components(p: A, axis: int) -> tuple[A, A, A, A]:
    if axis == -1:
        return p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    if axis == 0:
        return p[0], p[1], p[2], p[3]
    raise ValueError(f"the Lorentz index must be the last (axis=-1) or the first (axis=0) axis, got {axis}")


def mdot(p: A, q: A, *, axis: int = -1) -> A:
    """Minkowski product p·q = p⁰q⁰ − (p¹q¹ + p²q² + p³q³).

    Parameters
    ----------
    p, q : ndarray or Tensor, shape (..., 4) (``axis=-1``) or (4, ...) (``axis=0``)
        Four-vectors (E, px, py, pz), e.g. momenta in GeV (float64) or currents (complex128); broadcast
        against each other.
    axis : int
        Position of the Lorentz index: -1 (last, default) or 0 (first).

    Returns
    -------
    ndarray or Tensor, shape (...)
        p·q, dtype of the inputs (GeV² for momenta).
    """
    p0, p1, p2, p3 = _components(p, axis)
    q0, q1, q2, q3 = _components(q, axis)
    out: A = p0 * q0 - (p1 * q1 + p2 * q2 + p3 * q3)
    return out


def msq(p: A, *, axis: int = -1) -> A:
    """Minkowski square p² = p·p (the invariant mass squared of a momentum), shape as :func:`mdot`."""
    return mdot(p, p, axis=axis)
