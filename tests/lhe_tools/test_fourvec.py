"""The one Minkowski product: numpy and torch, Lorentz index last or first, real and complex."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lhe_tools.fourvec import mdot, msq

METRIC = np.diag([1.0, -1.0, -1.0, -1.0])


def test_numpy_matches_the_metric_contraction() -> None:
    rng = np.random.default_rng(1)
    p, q = rng.normal(size=(2, 5, 3, 4)) * 100.0
    expect = np.einsum("...i,ij,...j->...", p, METRIC, q)
    np.testing.assert_allclose(mdot(p, q), expect, rtol=1e-13, atol=1e-9)
    np.testing.assert_allclose(msq(p), np.einsum("...i,ij,...j->...", p, METRIC, p), rtol=1e-13, atol=1e-9)
    # Lorentz index first (the matrix-element currents), complex entries
    c = p + 1j * q
    np.testing.assert_allclose(mdot(np.moveaxis(c, -1, 0), np.moveaxis(p, -1, 0), axis=0), mdot(c, p + 0j))
    assert mdot(p, q).shape == (5, 3)
    # a massless momentum, a boosted massive one
    assert msq(np.array([5.0, 3.0, 0.0, 4.0])) == 0.0
    assert msq(np.array([5.0, 0.0, 0.0, 3.0])) == 16.0
    with pytest.raises(ValueError, match=r"last .* or the first"):
        mdot(p, q, axis=1)


def test_torch_gives_the_numpy_values() -> None:
    rng = np.random.default_rng(2)
    p, q = rng.normal(size=(2, 7, 4))
    got = mdot(torch.from_numpy(p), torch.from_numpy(q))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_array_equal(got.numpy(), mdot(p, q))
    np.testing.assert_array_equal(msq(torch.from_numpy(p.T.copy()), axis=0).numpy(), msq(p))
