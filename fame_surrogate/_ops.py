"""ONNX-safe float64 maths for the surrogate graph.

ONNX Runtime's CPU kernels for ``Sinh``/``Asinh`` exist for float32 only and ONNX has no ``Atan2``, so the
functions here are composed from ops that the exporter maps to float64-capable ONNX nodes (Exp, Log,
Sqrt, Mul, Div, Add, Where, Abs, Clip, MatMul).  Every function takes and returns torch tensors of any shape
and keeps the dtype (use float64).

Accuracy: :func:`sinh` and :func:`asinh` are accurate to a few ulp away from 0 and switch to their Taylor
series for small arguments (relative error < 1e-14 everywhere).

Exporter pitfall: ``torch.onnx.export(dynamo=True)`` stores Python float scalars as float32 initialisers, so
a constant like 1/6 or 8πα_s loses 1e-8 relative.  Here every scalar is exact in float32 (integers, powers of
two, round thresholds); non-exact prefactors must be float64 buffers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

#: Below this |x| the Taylor series is used (truncation error < 1e-18 relative there).
_SINH_SERIES_MAX = 0.1
_ASINH_SERIES_MAX = 0.05
#: Above this |x| asinh uses log(2|x|) + 1/(4x²) (x² would overflow long before float64's limit).
_ASINH_LARGE = 1.0e8
#: Floor for denominators of degenerate configurations (representable in float32, see :func:`sinh`).
_TINY = 1.0e-30


def sinh(x: Tensor) -> Tensor:
    """sinh(x) from Exp (float64-safe in ONNX Runtime), elementwise: x of any shape, float64, the result of
    the same shape and dtype (as every function here).  Taylor series through x⁹ for |x| < 0.1 (no
    cancellation), (eˣ − 1/eˣ)/2 elsewhere."""
    # Horner form with integer divisors only: exact in any float precision, so no float64 constant is ever
    # rounded to float32 by an exporter (the dynamo exporter stores Python scalars as float32 initialisers).
    x2 = x * x
    series = x * (1.0 + x2 / 6.0 * (1.0 + x2 / 20.0 * (1.0 + x2 / 42.0 * (1.0 + x2 / 72.0))))
    # one Exp and a reciprocal instead of two Exps (ONNX Runtime's float64 Exp is scalar, ≈ 5 ns a value)
    e = torch.exp(x)
    big = 0.5 * (e - torch.reciprocal(e))
    return torch.where(torch.abs(x) < _SINH_SERIES_MAX, series, big)


def asinh(x: Tensor) -> Tensor:
    """asinh(x) from Log and Sqrt (float64-safe in ONNX Runtime), elementwise like :func:`sinh`; odd in x:
    series through x¹¹ for |x| < 0.05, log(|x| + sqrt(x² + 1)) up to 1e8, log(2|x|) + 1/(4x²) above."""
    a = torch.abs(x)
    a2 = a * a
    # c_{n+1}/c_n = -(2n+1)² / ((2n+2)(2n+3)); integer ratios only (see sinh)
    t = 1.0 - 81.0 * a2 / 110.0
    t = 1.0 - 49.0 * a2 / 72.0 * t
    t = 1.0 - 25.0 * a2 / 42.0 * t
    t = 1.0 - 9.0 * a2 / 20.0 * t
    series = a * (1.0 - a2 / 6.0 * t)
    am = torch.clamp(a, max=_ASINH_LARGE)
    mid = torch.log(am + torch.sqrt(am * am + 1.0))
    al = torch.clamp(a, min=_ASINH_LARGE)
    large = torch.log(2.0 * al) + 0.25 / (al * al)
    pos = torch.where(a < _ASINH_SERIES_MAX, series, torch.where(a < _ASINH_LARGE, mid, large))
    return torch.where(x < 0, -pos, pos)


def minkowski_gram(momenta: Tensor) -> Tensor:
    """All Minkowski products p_i·p_j (metric +,-,-,-) by one batched MatMul.

    Parameters
    ----------
    momenta : Tensor, float64, shape (B, n, 4)
        (E, px, py, pz) in GeV.

    Returns
    -------
    Tensor, float64, shape (B, n, n)
        ``G[b, i, j] = p_i·p_j`` in GeV².
    """
    lowered = torch.cat([momenta[..., :1], -momenta[..., 1:]], dim=-1)
    return torch.matmul(lowered, momenta.transpose(1, 2))


def gram_index(pairs: Sequence[tuple[int, int]]) -> Tensor:
    """The gather index of :func:`gram_rows` for the given pairs (register it as a module buffer).

    Returns
    -------
    Tensor, int64, shape (2, 4 * len(pairs))
        Row 0: ``4 i + c`` for every component c (outer) and pair (i, j) (inner); row 1 the same for j.
    """
    left = [4 * i + c for c in range(4) for i, _ in pairs]
    right = [4 * j + c for c in range(4) for _, j in pairs]
    return torch.tensor([left, right], dtype=torch.int64)


def gram_rows(momenta: Tensor, index: Tensor) -> Tensor:
    """Minkowski products p_i·p_j of given pairs, pair-major: one row per pair, one column per event.

    Gathering whole rows (contiguous blocks of B values) is an order of magnitude cheaper in ONNX Runtime
    than gathering single columns of a (B, n²) matrix, so the feature map and the dipole basis index this;
    a surrogate computes only the pairs its dipoles and features read (10 of 49 for e+e- → 5 jets).

    Parameters
    ----------
    momenta : Tensor, float64, shape (B, n, 4)
        (E, px, py, pz) in GeV.
    index : Tensor, int64, shape (2, 4 * len(pairs))
        ``gram_index(pairs)`` (row numbers of a pair: :func:`pair_rows`).

    Returns
    -------
    Tensor, float64, shape (len(pairs), B)
        ``R[r, b] = p_i·p_j`` of event b for ``(i, j) = pairs[r]``, in GeV².
    """
    n = momenta.shape[1]
    # (4n, B) rows by one 2-D transpose: row 4i + c holds component c of particle i for every event
    flat = momenta.reshape(-1, 4 * n).transpose(0, 1)
    # the four components of the left and of the right partner of every pair, component-major: (4m, B);
    # the event axis is named, not inferred, so that no pairs (an MLP for e+e- -> mu+mu-) give (0, B)
    prod = torch.index_select(flat, 0, index[0]) * torch.index_select(flat, 0, index[1])
    prod = prod.reshape(4, -1, flat.shape[1])
    return prod[0] - prod[1] - prod[2] - prod[3]


def pair_rows(pairs: Sequence[tuple[int, int]], wanted: Sequence[tuple[int, int]]) -> list[int]:
    """Row numbers in ``gram_rows(momenta, gram_index(pairs))`` of the (unordered) pairs ``wanted``.

    Raises
    ------
    KeyError
        If a wanted pair is not in ``pairs`` (in either order), naming it and the layout.
    """
    where = {(min(a, b), max(a, b)): r for r, (a, b) in enumerate(pairs)}
    out = []
    for a, b in wanted:
        key = (min(a, b), max(a, b))
        if key not in where:
            raise KeyError(f"pair {key} is not in the Gram row layout {list(pairs)}")
        out.append(where[key])
    return out


def incoming_sum(momenta: Tensor, n_in: int) -> Tensor:
    """P_in (B, 4): the summed momentum of the ``n_in`` incoming particles of ``momenta`` (B, n, 4), by
    explicit adds (ONNX Runtime's ReduceSum over a middle axis is slow)."""
    p_in = momenta[:, 0, :]
    for k in range(1, n_in):
        p_in = p_in + momenta[:, k, :]
    return p_in


def partonic_frame(momenta: Tensor, n_in: int, n_particles: int) -> Tensor:
    """The canonical frame of a hadron-collider event: boosted along z into the partonic centre-of-mass frame,
    rotated about z so that the first final-state particle has p_y = 0, p_x > 0, and mirrored (p_y → −p_y)
    where the second final-state particle would have p_y < 0.

    |M|² is invariant under all three (unpolarised beams along ±z; the mirror keeps every invariant s_ij, and
    Sherpa's colour-summed |M|² at Z+4 jets is the same at mirrored events to 5e-13), so a network reading
    momenta in this frame need not learn these symmetries from data.

    Parameters
    ----------
    momenta : Tensor, float64, shape (B, n, 4)
        (E, px, py, pz) in GeV, incoming first, incoming partons along ±z.
    n_in : int
        Number of incoming particles (their summed momentum defines the boost; particle ``n_in`` the
        azimuth, particle ``n_in + 1`` the mirror).
    n_particles : int
        n, the number of particles (a Python int, so that the exported graph has no shape logic).

    Returns
    -------
    Tensor, float64, shape (B, n, 4)
        E' = γ(E − βp_z), p_z' = γ(p_z − βE) with β = P_z/P_E of the incoming sum, then (p_x, p_y) rotated
        by minus the azimuth of particle ``n_in``, then p_y multiplied by σ = −1 where particle ``n_in + 1``
        has p_y < 0 after the rotation (σ = 1 otherwise, and without a second final-state particle); every
        invariant is unchanged.
    """
    p_in = incoming_sum(momenta, n_in)
    beta = (p_in[:, 3:4] / p_in[:, 0:1]).unsqueeze(1)
    gamma = 1.0 / torch.sqrt((1.0 - beta) * (1.0 + beta))
    e_cm = gamma * (momenta[..., 0:1] - beta * momenta[..., 3:4])
    z_cm = gamma * (momenta[..., 3:4] - beta * momenta[..., 0:1])
    ref_x = momenta[:, n_in : n_in + 1, 1:2]
    ref_y = momenta[:, n_in : n_in + 1, 2:3]
    inv_pt = torch.rsqrt(torch.clamp(ref_x * ref_x + ref_y * ref_y, min=_TINY))
    cos, sin = ref_x * inv_pt, ref_y * inv_pt
    px, py = momenta[..., 1:2], momenta[..., 2:3]
    y_rot = cos * py - sin * px
    if n_particles > n_in + 1:
        y_rot = y_rot * mirror_sign(y_rot[:, n_in + 1 : n_in + 2, :])
    return torch.cat([e_cm, cos * px + sin * py, y_rot, z_cm], dim=-1)


def mirror_sign(p_y: Tensor) -> Tensor:
    """σ = −1 where ``p_y`` < 0, else 1 (same shape and dtype): the mirror of :func:`partonic_frame`."""
    return 1.0 - 2.0 * (p_y < 0.0).to(p_y.dtype)


def cos_sin_2phi(p_i: Tensor, p_j: Tensor, dim: int = -1) -> tuple[Tensor, Tensor]:
    """cos 2φ and sin 2φ of the azimuth of p_i around p_i + p_j, without Atan2 (FAME's ``calc_phi``).

    The azimuth is measured in the plane perpendicular to P = p⃗_i + p⃗_j from the "north" direction
    N ∝ |P|² e_x − P_x P (the x axis projected onto that plane), with "east" N × P.  With
    c = p⃗_i·N' and s = |P| (p_i,z P_y − p_i,y P_z) (both proportional, with the same positive factor, to
    cos φ and sin φ), cos 2φ = (c² − s²)/(c² + s²) and sin 2φ = 2cs/(c² + s²).  The result is symmetric under
    i ↔ j (φ → φ + π) and invariant under any rescaling of N, so the sign convention of FAME's reference
    vector drops out.

    Parameters
    ----------
    p_i, p_j : Tensor, float64, shape (..., 4) (the four components along ``dim``)
        Four-momenta (E, px, py, pz); only the spatial parts are used.
    dim : int
        The axis of the four components (``-1``; e.g. ``1`` for a pair-major (P, 4, B) layout).

    Returns
    -------
    cos2phi, sin2phi : Tensor, float64, the input shape without ``dim``
        Values in [-1, 1] (0 and 0 in the degenerate case P ∥ e_x or p_i ∥ P).
    """
    ix, iy, iz = (p_i.select(dim, c) for c in (1, 2, 3))
    total = p_i + p_j  # one elementwise op for all components (the energy is not used)
    px, py, pz = (total.select(dim, c) for c in (1, 2, 3))
    p2 = px * px + py * py + pz * pz
    c = p2 * ix - px * (px * ix + py * iy + pz * iz)
    s = torch.sqrt(p2) * (iz * py - iy * pz)
    c2 = c * c
    s2 = s * s
    norm = torch.clamp(c2 + s2, min=_TINY)
    return (c2 - s2) / norm, 2.0 * c * s / norm
