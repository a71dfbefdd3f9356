"""The effective gain against its limits and against the CPU cost of the unweighters it describes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from unweighting_counts import count_unweighted

from fame_surrogate.validation.gain import (
    effective_gain,
    events_per_cpu_hour_standard,
    events_per_cpu_hour_two_stage,
    ideal_gain,
    summarize_gain,
)
from fame_surrogate.validation.unweighting import two_stage, unweight
from lhe_tools import read_dump


def test_limits() -> None:
    # free surrogate and phase space: f = eps_2 / eps_full
    assert effective_gain(0.01, 0.008, 0.5, 1.0, 0.0, 0.0) == pytest.approx(0.5 / 0.01)
    # surrogate as expensive as the ME, perfect: one ME per unweighted event is never cheaper than standard
    assert ideal_gain(0.01, 1.0, 1.0, 0.0) == pytest.approx(1 / (1 + 0.01))
    # closed form of the ideal gain
    eps, tm, ts, tp = 0.003, 0.22, 0.002, 0.003
    assert ideal_gain(eps, tm, ts, tp) == pytest.approx((tm + tp) / (ts + tp + eps * tm))
    with pytest.raises(ValueError, match="eps_1 and eps_2"):
        effective_gain(0.1, 0.0, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="t_surr"):
        effective_gain(0.1, 0.1, 1.0, 1.0, -1.0, 1.0)


@pytest.fixture(scope="module")
def weights(sherpa_ee: Path) -> tuple[np.ndarray, np.ndarray]:
    """Real Sherpa e+e- → 4 jet weights w and surrogate weights s: half too small forward, 5% scatter."""
    b = read_dump(sherpa_ee / "ee_4j_ycut0.01.npz")
    w = b.weight
    fwd = b.momenta[:, 2, 3] > 0
    s = w * np.where(fwd, 0.5, 1.0) * np.exp(0.05 * np.random.default_rng(1).standard_normal(w.size))
    return w, s


def test_events_per_hour_are_what_an_unweighting_loop_delivers(
    weights: tuple[np.ndarray, np.ndarray],
) -> None:
    """Count the events and the CPU milliseconds of simulated unweighting runs on real Sherpa weights."""
    w, s = weights
    t_me, t_surr, t_ps = 0.04, 0.002, 0.004
    std = unweight(w, np.random.default_rng(0))
    two = two_stage(w, s, np.random.default_rng(0))
    g = summarize_gain(std.efficiency, two.eps_1, two.eps_2, 0.9, t_me, t_surr, t_ps)
    # the loop: every trial pays phase space and the ME (standard) or phase space and the surrogate, plus the
    # ME for the stage-1 survivors (two-stage); an event is kept when its uniform draw falls below its
    # acceptance probability.  The sample is reused with fresh random numbers, pass after pass.
    rng = np.random.default_rng(7)
    p_std = np.abs(w) / std.w_max
    p1 = np.abs(s) / two.s_max
    p2 = np.abs(two.x) / two.x_max
    events, ms = count_unweighted(rng, 100, p_std, p1, p2, t_me + t_ps, t_surr + t_ps, t_me)
    per_hour = events / ms * 3.6e6
    err = per_hour / np.sqrt(events)  # Poisson error of the counted events
    # equal within the counting error (the overweights, kept once here, are a per-mille effect)
    assert abs(per_hour[0] - g.events_per_cpu_hour_standard) < 4 * err[0]
    assert abs(per_hour[1] - g.events_per_cpu_hour_two_stage) < 4 * err[1]
    assert per_hour[1] / per_hour[0] == pytest.approx(g.f_eff, rel=4 * np.hypot(*(err / per_hour)))
    assert events.min() > 1500 and g.f_eff > 1.5  # a real test: enough events and a gain far from 1
    assert g.events_per_cpu_hour_two_stage_alpha == pytest.approx(0.9 * g.events_per_cpu_hour_two_stage)
    # closed forms: one ME-priced trial per ms keeps eps_full of them
    assert events_per_cpu_hour_standard(0.5, 1.0, 0.0) == pytest.approx(3.6e6 * 0.5)
    assert events_per_cpu_hour_two_stage(1.0, 1.0, 1.0, 0.0, 0.0) == pytest.approx(3.6e6)


def test_gain_equals_cpu_cost_of_the_unweighters(weights: tuple[np.ndarray, np.ndarray]) -> None:
    """Cost per unit of final weight, counted from the acceptance probabilities of the actual algorithms."""
    w, s = weights
    t_me, t_surr, t_ps = 0.04, 0.002, 0.004
    std = unweight(w, np.random.default_rng(0))
    two = two_stage(w, s, np.random.default_rng(0))
    n = w.size
    # expected final-weight sum (unweighted events counted with their overweight) and stage-1 survivors
    yield_std = np.sum(std.probability * np.maximum(1, np.abs(w) / std.w_max))
    p1 = np.minimum(1, np.abs(s) / two.s_max)
    yield_two = np.sum(
        two.probability * np.maximum(1, np.abs(s) / two.s_max) * np.maximum(1, np.abs(two.x) / two.x_max)
    )
    cost_std = n * (t_me + t_ps) / yield_std
    cost_two = (n * (t_surr + t_ps) + np.sum(p1) * t_me) / yield_two
    f = effective_gain(std.efficiency, two.eps_1, two.eps_2, t_me, t_surr, t_ps)
    # equal up to the stage-1 overweights (Σ min(1,|s|/s_max) vs Σ |s|/s_max), a per-mille effect
    assert cost_std / cost_two == pytest.approx(f, rel=3e-3)
    assert f > 1.0
