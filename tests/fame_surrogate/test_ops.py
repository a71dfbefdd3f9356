"""ONNX-safe float64 maths against numpy/math references, and in ONNX Runtime against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fame_surrogate._ops import asinh, cos_sin_2phi, gram_index, gram_rows, minkowski_gram, pair_rows, sinh

ARGS = np.concatenate(
    [
        np.array([0.0, 1e-300, -1e-300, 1e-12, -3e-9, 0.0499, 0.05, 0.0501, 0.0999, 0.1, 0.1001, 0.5, -0.7]),
        np.array([1.0, -2.5, 10.0, 50.0, -300.0, 700.0, 9.99e7, 1e8, 1.01e8, -1e12, 1e200, -1e300]),
        np.random.default_rng(0).normal(scale=3.0, size=200),
        np.geomspace(1e-10, 1e10, 200),
    ]
)


def test_sinh_matches_numpy() -> None:
    x = ARGS[np.abs(ARGS) < 700]
    got = sinh(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, np.sinh(x), rtol=2e-15, atol=0.0)


def test_asinh_matches_numpy() -> None:
    got = asinh(torch.from_numpy(ARGS)).numpy()
    np.testing.assert_allclose(got, np.arcsinh(ARGS), rtol=3e-15, atol=0.0)
    # odd and monotone through the branch switches
    assert np.all(np.diff(asinh(torch.from_numpy(np.sort(ARGS))).numpy()) >= 0)


def test_sinh_asinh_roundtrip_and_gradient() -> None:
    x = torch.linspace(-20.0, 20.0, 4001, dtype=torch.float64, requires_grad=True)
    y = asinh(sinh(x))
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy(), rtol=1e-14, atol=1e-15)
    (g,) = torch.autograd.grad(sinh(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), np.cosh(x.detach().numpy()), rtol=1e-13)
    assert torch.isfinite(g).all()


def test_minkowski_gram() -> None:
    p = torch.tensor([[[3.0, 1.0, 2.0, 2.0], [5.0, 0.0, 3.0, -4.0]]], dtype=torch.float64)
    g = minkowski_gram(p)[0].numpy()
    assert g.tolist() == [[0.0, 3 * 5 - (0 + 6 - 8)], [15.0 + 2.0, 0.0]]


def test_gram_rows_of_listed_pairs() -> None:
    """Row r of gram_rows holds p_i·p_j of pairs[r] for every event, in either orientation and for i = j
    (numpy einsum with the metric as truth); pair_rows finds a pair's row and names a missing one."""
    rng = np.random.default_rng(3)
    p = rng.normal(size=(6, 5, 4))
    full = np.einsum("bim,m,bjm->ijb", p, np.array([1.0, -1.0, -1.0, -1.0]), p)
    pairs = [(3, 4), (0, 2), (4, 1), (2, 3), (1, 1)]
    rows = gram_rows(torch.from_numpy(p), gram_index(pairs)).numpy()
    assert rows.shape == (5, 6)
    np.testing.assert_allclose(rows, [full[i, j] for i, j in pairs], rtol=1e-13, atol=1e-13)
    two = torch.tensor([[[3.0, 1.0, 2.0, 2.0], [5.0, 0.0, 3.0, -4.0]]], dtype=torch.float64)
    assert gram_rows(two, gram_index([(0, 0), (0, 1), (1, 0)]))[:, 0].tolist() == [0.0, 17.0, 17.0]
    assert gram_rows(two, gram_index([])).shape == (0, 1)  # no pairs: no rows, still one column per event
    assert pair_rows(pairs, [(1, 4), (3, 2), (0, 2)]) == [2, 3, 1]
    with pytest.raises(KeyError, match=r"pair \(0, 1\) is not in the Gram row layout"):
        pair_rows(pairs, [(1, 0)])


def test_cos_sin_2phi_component_axis() -> None:
    """Components along dim=1 of a (P, 4, B) layout give the same values as the (..., 4) layout."""
    rng = np.random.default_rng(4)
    pi, pj = rng.normal(size=(2, 6, 7, 4))
    c, s = cos_sin_2phi(torch.from_numpy(pi), torch.from_numpy(pj))
    ct, st = cos_sin_2phi(
        torch.from_numpy(pi.transpose(0, 2, 1)), torch.from_numpy(pj.transpose(0, 2, 1)), dim=1
    )
    np.testing.assert_array_equal(ct.numpy(), c.numpy())
    np.testing.assert_array_equal(st.numpy(), s.numpy())


def _phi_reference(p_i: np.ndarray, p_j: np.ndarray) -> float:
    """FAME's calc_phi with arctan2 (physics.md §2.6): north = x axis projected ⊥ P, east = north × P."""
    big_p = p_i + p_j
    north = np.array([1.0, 0.0, 0.0]) - big_p[0] / (big_p @ big_p) * big_p
    north /= np.linalg.norm(north)
    east = np.cross(north, big_p)
    east /= np.linalg.norm(east)
    perp = p_i - (big_p @ p_i) / (big_p @ big_p) * big_p
    return math.atan2(perp @ east, perp @ north)


@pytest.mark.parametrize("seed", range(5))
def test_cos_sin_2phi_against_atan2(seed: int) -> None:
    rng = np.random.default_rng(seed)
    vi, vj = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    # include P_x < 0 (FAME's north flips sign there; 2φ does not)
    pi = np.concatenate([np.linalg.norm(vi, axis=1, keepdims=True), vi], axis=1)
    pj = np.concatenate([np.linalg.norm(vj, axis=1, keepdims=True), vj], axis=1)
    c, s = cos_sin_2phi(torch.from_numpy(pi), torch.from_numpy(pj))
    phi = np.array([_phi_reference(a, b) for a, b in zip(vi, vj, strict=True)])
    np.testing.assert_allclose(c.numpy(), np.cos(2 * phi), atol=1e-12)
    np.testing.assert_allclose(s.numpy(), np.sin(2 * phi), atol=1e-12)
    # i ↔ j symmetric (φ → φ + π)
    c2, s2 = cos_sin_2phi(torch.from_numpy(pj), torch.from_numpy(pi))
    np.testing.assert_allclose(c2.numpy(), c.numpy(), atol=1e-12)
    np.testing.assert_allclose(s2.numpy(), s.numpy(), atol=1e-12)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy exporter warns about itself
def test_ops_in_onnx_runtime_float64(tmp_path: object) -> None:
    """sinh/asinh/φ exported with the TorchScript exporter (opset 17) run in ONNX Runtime in float64.

    (Both exporters are exercised on the full DipoleBasis in test_dipoles.py.)
    """
    import onnxruntime as ort

    class Ops(torch.nn.Module):
        def forward(self, x: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, ...]:
            c, s = cos_sin_2phi(p[:, 0], p[:, 1])
            return sinh(x), asinh(x), c, s

    x = ARGS[np.abs(ARGS) < 700]
    rng = np.random.default_rng(1)
    v = rng.normal(size=(len(x), 2, 3))
    p = np.concatenate([np.linalg.norm(v, axis=2, keepdims=True), v], axis=2)
    path = f"{tmp_path}/ops.onnx"
    torch.onnx.export(
        Ops(),
        (torch.from_numpy(x[:3]), torch.from_numpy(p[:3])),
        path,
        dynamo=False,
        opset_version=17,
        input_names=["x", "p"],
        dynamic_axes={"x": {0: "n"}, "p": {0: "n"}},
    )
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    outs = sess.run(None, {"x": x, "p": p})
    refs = Ops()(torch.from_numpy(x), torch.from_numpy(p))
    for got, ref in zip(outs, refs, strict=True):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, ref.numpy(), rtol=1e-13, atol=1e-13)
