"""Muon and its pairing with AdamW, against numpy's SVD: the Newton–Schulz iteration acts on the singular
values alone, by a known polynomial, so each update has a closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from fame_surrogate.optim import NS_COEFFICIENTS, Muon, MuonAdamW, newton_schulz


def _quintic(x: np.ndarray, steps: int) -> np.ndarray:
    a, b, c = NS_COEFFICIENTS
    for _ in range(steps):
        x = a * x + b * x**3 + c * x**5
    return x


def _polar_like(g: np.ndarray, steps: int = 5) -> np.ndarray:
    """U p(S/‖g‖_F) Vᵀ from numpy's SVD, p the quintic iterated ``steps`` times."""
    u, s, vt = np.linalg.svd(g, full_matrices=False)
    return (u * _quintic(s / np.linalg.norm(s), steps)) @ vt


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5)])
def test_newton_schulz_maps_the_singular_values_by_the_iterated_quintic(shape: tuple[int, int]) -> None:
    """Odd matrix polynomials keep the singular vectors: the result is U p⁵(S/‖g‖_F) Vᵀ, for tall, wide and
    square matrices, and does not depend on the scale of g."""
    rng = np.random.default_rng(3)
    g = rng.normal(size=shape)
    want = _polar_like(g)
    for scale in (1.0, 1e6):  # (where ‖g‖_F ≫ the 1e-7 guard against 0)
        got = newton_schulz(torch.from_numpy(scale * g)).numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    # singular values not far below the largest land in a band around 1 (Jordan et al.'s coefficients)
    s = np.linalg.svd(want, compute_uv=False)
    assert s.min() > 0.6 and s.max() < 1.25


def test_muon_steps_are_nesterov_momentum_then_the_quintic_factor_at_adamw_scale() -> None:
    """Two steps on one 3 × 5 matrix, recomputed with numpy's SVD: B ← μB + g, O = p⁵ factor of g + μB,
    W ← W(1 − lr·wd) − lr·0.2·√5·O."""
    rng = np.random.default_rng(7)
    w0, g1, g2 = (rng.normal(size=(3, 5)) for _ in range(3))
    lr, wd, mu = 0.01, 0.1, 0.9
    w = nn.Parameter(torch.from_numpy(w0.copy()))
    opt = Muon([w], lr=lr, weight_decay=wd, momentum=mu)
    want = w0
    buf = np.zeros_like(w0)
    for g in (g1, g2):
        w.grad = torch.from_numpy(g.copy())
        opt.step()
        buf = mu * buf + g
        want = want * (1.0 - lr * wd) - lr * 0.2 * math.sqrt(5) * _polar_like(g + mu * buf)
        np.testing.assert_allclose(w.detach().numpy(), want, rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="2-d weight matrices; got one of shape \\(3,\\)"):
        Muon([nn.Parameter(torch.zeros(3))], lr=lr)


def test_muon_adamw_gives_the_hidden_matrices_to_muon_and_the_rest_to_adamw() -> None:
    """Every ``nn.Linear`` weight but the readout's goes to Muon; the readout, the biases and any other
    parameter to AdamW, with the same learning rate and weight decay, which training sets per group."""
    net = nn.Sequential(nn.Linear(4, 8), nn.SiLU(), nn.Linear(8, 8), nn.SiLU(), nn.Linear(8, 2))
    opt = MuonAdamW(net, lr=3e-3, weight_decay=0.01)
    muon = {id(p) for p in opt.muon.param_groups[0]["params"]}
    assert muon == {id(net[0].weight), id(net[2].weight)}
    adamw = {id(p) for g in opt.adamw.param_groups for p in g["params"]}
    assert adamw == {id(p) for p in net.parameters()} - muon
    assert all((g["lr"], g["weight_decay"]) == (3e-3, 0.01) for g in opt.param_groups)
    x = torch.randn(16, 4)
    before = [p.detach().clone() for p in net.parameters()]
    net(x).square().mean().backward()
    opt.step()
    assert all(not torch.equal(p, b) for p, b in zip(net.parameters(), before, strict=True))
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())
