"""Parity of an exported ``fame-onnx/1`` graph with its torch model (SPEC §3.4).

:func:`~fame_surrogate.export.export_onnx` writes a graph only after ONNX Runtime has reproduced torch's
|M|² at check points (:func:`check_parity`) to :func:`parity_tolerance`; :func:`example_momenta` gives the
default points (and the tracing example).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import Tensor

from .models import Ensemble, Surrogate, net_dtype
from .onnx_meta import ContractError

__all__ = ["check_parity", "example_momenta", "parity_tolerance"]


def example_momenta(n: int, batch: int = 4, masses: Sequence[float] | None = None) -> Tensor:
    """Momentum-conserving example points at √s = 1000 GeV (tracing, and the export's parity check).

    The final state is RAMBO's, its 3-momenta rescaled by the ξ with Σ_i √(m_i² + ξ²|p⃗_i|²) = √s where the
    process has massive final-state particles (``masses``, per particle: tt̄ + jets), so the points are on
    the model's mass shells and its massive features finite.
    """
    from .phasespace import rambo

    rng = np.random.default_rng(12345)
    final = rambo(n - 2, 1000.0, batch, rng)
    m = np.zeros(n - 2) if masses is None else np.asarray(masses[2:], dtype=np.float64)
    if np.any(m > 0):
        p2 = np.sum(final[..., 1:] ** 2, axis=-1)
        xi = np.ones(batch)
        for _ in range(50):  # Newton's method; converges in a few steps from ξ = 1
            e = np.sqrt(m**2 + xi[:, None] ** 2 * p2)
            xi = xi - (e.sum(1) - 1000.0) / (xi[:, None] * p2 / e).sum(1)
        final[..., 1:] *= xi[:, None, None]
        final[..., 0] = np.sqrt(m**2 + xi[:, None] ** 2 * p2)
    beams = np.zeros((batch, 2, 4))
    beams[:, 0] = [500.0, 0.0, 0.0, 500.0]
    beams[:, 1] = [500.0, 0.0, 0.0, -500.0]
    return torch.from_numpy(np.concatenate([beams, final], axis=1))


def parity_tolerance(model: Surrogate | Ensemble) -> float:
    """Largest relative |me2| deviation of ONNX Runtime from torch that an export accepts.

    1e-6 for float64 networks (they agree to ≈ 1e-15).  A float32 network (``TrainConfig.net_dtype``) is
    defined only to float32 rounding: torch's and ONNX Runtime's float32 matmul kernels sum in different
    orders, which moves the network outputs by ~1e-7 relative and |M|^2 by up to ~1e-6 (1.1e-6 at most,
    7e-7 at the 99.9% quantile, on 20k held-out points of trained 4- and 5-jet models), so 1e-5 is
    accepted there.
    """
    nets = [m.net for m in model.member_models()]
    return 1e-6 if all(net_dtype(n) == torch.float64 for n in nets) else 1e-5


def check_parity(
    model: Surrogate | Ensemble, proto: onnx.ModelProto, pts: Tensor, small_batch_max: int
) -> None:
    """Check that ONNX Runtime evaluates ``proto`` as torch evaluates ``model`` at the points ``pts``.

    Every point is evaluated once in a batch larger than ``small_batch_max`` (the points repeated where
    there are fewer) and, for the first 16, once alone: both branches of a graph with the batch-size ``If``
    (:func:`~fame_surrogate.export.small_batch_graph`).  Points where torch's |M|² is not finite are not
    compared.

    Parameters
    ----------
    model : Surrogate or Ensemble
        The torch model, in evaluation mode.
    proto : onnx.ModelProto
        Its exported graph.
    pts : Tensor, float64, shape (N, n, 4)
        Check points on the model's mass shells.
    small_batch_max : int
        The graph's largest small-batch size.

    Raises
    ------
    ContractError
        Where no point has a finite torch |M|² (a check that compares nothing must not pass), or where the
        largest relative deviation exceeds :func:`parity_tolerance`.
    """
    big = pts.repeat(-(-(small_batch_max + 1) // len(pts)), 1, 1) if len(pts) else pts
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = np.concatenate(
        [sess.run(["me2"], {"momenta": big.numpy()})[0]]
        + [sess.run(["me2"], {"momenta": pts[i : i + 1].numpy()})[0] for i in range(min(len(pts), 16))]
    )
    with torch.no_grad():
        want = np.concatenate(
            [model(big)[0].numpy()] + [model(pts[i : i + 1])[0].numpy() for i in range(min(len(pts), 16))]
        )
    ok = np.isfinite(want)
    if len(pts) and not ok.any():  # a check that compares nothing must not pass
        raise ContractError(
            "torch gives no finite |M|^2 at any export check point (momenta off the model's mass shells "
            f"{model.member_models()[0].masses}?); the graph is not written"
        )
    dev = np.abs(got[ok] / want[ok] - 1.0) if ok.any() else np.zeros(0)
    tol = parity_tolerance(model)
    if dev.size and not float(dev.max()) <= tol:
        raise ContractError(
            f"ONNX Runtime disagrees with torch by {float(dev.max()):.3g} (relative) on the export check "
            f"points, more than {tol:g}; the graph is not written"
        )
