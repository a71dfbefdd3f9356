"""Polyak averaging against its closed form, and the parameters restored after use."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fame_surrogate.averaging import ParameterAverage


def test_average_equals_the_closed_form_of_the_exponential_moving_average() -> None:
    torch.manual_seed(3)
    net = nn.Linear(3, 2, dtype=torch.float64)
    decay = 0.7
    history = [[p.detach().clone().numpy() for p in net.parameters()]]
    avg = ParameterAverage(net, decay)
    rng = np.random.default_rng(0)
    for _ in range(6):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.from_numpy(rng.normal(size=tuple(p.shape))))
        history.append([p.detach().clone().numpy() for p in net.parameters()])
        avg.update()
    n = len(history) - 1
    for i, got in enumerate(avg.averaged()):
        # θ̄_n = decay^n θ_0 + Σ_k (1 − decay) decay^(n−k) θ_k
        want = decay**n * history[0][i] + sum(
            (1 - decay) * decay ** (n - k) * history[k][i] for k in range(1, n + 1)
        )
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-13, atol=1e-14)


def test_applied_swaps_in_the_average_and_restores_the_trained_parameters() -> None:
    torch.manual_seed(4)
    net = nn.Linear(2, 1, dtype=torch.float64)
    avg = ParameterAverage(net, 0.5)
    start = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    trained = [p.detach().clone() for p in net.parameters()]
    avg.update()  # halfway between the start and the trained parameters
    x = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    with avg.applied():
        for p, s in zip(net.parameters(), start, strict=True):
            torch.testing.assert_close(p.detach(), s + 0.5, rtol=0, atol=1e-15)
        halfway = net(x)
    for p, t in zip(net.parameters(), trained, strict=True):
        assert torch.equal(p.detach(), t)
    want = x @ (start[0] + 0.5).T + start[1] + 0.5
    torch.testing.assert_close(halfway.detach(), want, rtol=1e-14, atol=0)
    avg.reset()
    assert all(torch.equal(a, p.detach()) for a, p in zip(avg.averaged(), net.parameters(), strict=True))


@pytest.mark.parametrize("decay", [-0.1, 1.0])
def test_decay_outside_the_unit_interval_is_refused(decay: float) -> None:
    with pytest.raises(ValueError, match="decay="):
        ParameterAverage(nn.Linear(1, 1), decay)
