"""The gain training loss against the numpy reference unweighter and as an optimisation objective."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fame_surrogate.gain_loss import gain_loss, gain_terms
from fame_surrogate.validation import max_epsilon, reduced_maximum, two_stage, unweight
from lhe_tools import EventBatch, read_dump


@pytest.fixture(scope="module")
def ee4(sherpa_ee: Path) -> EventBatch:
    return read_dump(sherpa_ee / "ee_4j_ycut0.01.npz").take(slice(0, 40000))


@pytest.mark.parametrize("eps", [0.0, 1e-3, 0.05])
def test_max_epsilon_torch_matches_numpy(eps: float) -> None:
    """The one Max_Epsilon formula on torch tensors (what the loss uses) against the numpy reference."""
    rng = np.random.default_rng(2)
    v = rng.lognormal(0, 1.5, 5000)
    c = rng.random(5000)
    t = reduced_maximum(torch.from_numpy(v), eps)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
    assert float(t) == pytest.approx(max_epsilon(v, eps), rel=1e-12)
    tw = reduced_maximum(torch.from_numpy(v), eps, weights=torch.from_numpy(c))
    assert float(tw) == pytest.approx(max_epsilon(v, eps, weights=c), rel=1e-12)


@pytest.mark.parametrize("budget", ["sigma", "surrogate"])
def test_stage_efficiencies_match_the_reference_unweighter(ee4: EventBatch, budget: str) -> None:
    assert ee4.me2 is not None and ee4.ps_weight is not None
    rng = np.random.default_rng(0)
    pred = ee4.me2 * np.exp(0.2 * rng.standard_normal(len(ee4)))
    e1, e2 = gain_terms(
        torch.from_numpy(pred), torch.from_numpy(ee4.me2), torch.from_numpy(ee4.ps_weight), budget=budget
    )
    ref = two_stage(ee4.weight, ee4.ps_weight * pred, np.random.default_rng(1), budget=budget)
    assert float(e1) == pytest.approx(ref.eps_1, rel=1e-10)
    assert float(e2) == pytest.approx(ref.eps_2, rel=1e-10)


def test_perfect_surrogate_value_and_scale_invariance(ee4: EventBatch) -> None:
    assert ee4.me2 is not None
    me2 = torch.from_numpy(ee4.me2)
    r = 0.05
    eps_full = unweight(ee4.weight, np.random.default_rng(0)).efficiency
    expect = np.log((r / eps_full + 1.0) * (1 - 1e-3))  # eps_2 = 1/(1 - eps_x) for x == 1
    assert float(gain_loss(me2, me2, time_ratio=r)) == pytest.approx(expect, rel=1e-10)
    pred = me2 * torch.exp(
        0.1 * torch.randn(me2.shape, generator=torch.Generator().manual_seed(0), dtype=me2.dtype)
    )
    assert float(gain_loss(7.0 * pred, me2, time_ratio=r)) == pytest.approx(
        float(gain_loss(pred, me2, time_ratio=r))
    )
    assert float(gain_loss(pred, me2, time_ratio=r)) > float(gain_loss(me2, me2, time_ratio=r))


def test_gradient_descent_on_the_gain_repairs_a_bad_surrogate(ee4: EventBatch) -> None:
    """A surrogate that is off by exp(theta) in half of phase space: minimising the loss drives theta to 0."""
    assert ee4.me2 is not None
    me2 = torch.from_numpy(ee4.me2[:20000])
    half = torch.from_numpy((ee4.momenta[:20000, 2, 3] > 0).astype(np.float64))
    theta = torch.tensor(np.log(2.0), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=0.05)
    start = None
    for _ in range(100):
        pred = me2 * torch.exp(theta * half)
        loss = gain_loss(pred, me2, time_ratio=0.05)
        start = loss.item() if start is None else start
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
    assert abs(theta.item()) < 0.05
    with torch.no_grad():
        _, e2 = gain_terms(me2 * torch.exp(theta * half), me2)
    assert float(e2) > 0.95
    assert float(gain_loss(me2 * torch.exp(theta.detach() * half), me2, time_ratio=0.05)) < start
