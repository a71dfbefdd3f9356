"""f_eff against several standard-unweighting baselines (colour summed, colour sampled; issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from unweighting_counts import count_unweighted

from fame_surrogate.validation.gain import (
    Baseline,
    compare_baselines,
    effective_gain,
    gain_against,
    ideal_gain,
    standard_efficiency,
)
from fame_surrogate.validation.unweighting import max_epsilon, two_stage, unweight
from lhe_tools import read_dump


@pytest.fixture(scope="module")
def weights(sherpa_ee: Path) -> np.ndarray:
    """Real Sherpa e+e- → 4 jet weights."""
    return read_dump(sherpa_ee / "ee_4j_ycut0.01.npz").weight


def test_colour_summed_baseline_is_the_effective_gain() -> None:
    eps_full, eps_1, eps_2, t_me, t_surr, t_ps = 3.3e-4, 3.0e-4, 0.56, 4.42, 0.01, 1.0
    summed = Baseline("colour-summed", eps_full, t_me, t_ps)
    assert gain_against(summed, eps_1, eps_2, t_me, t_surr, t_ps) == effective_gain(
        eps_full, eps_1, eps_2, t_me, t_surr, t_ps
    )
    # closed form: CPU per unweighted event of the baseline over that of the two-stage run
    two = (t_surr + t_ps) / (eps_1 * eps_2) + t_me / eps_2
    assert summed.ms_per_event == pytest.approx((t_me + t_ps) / eps_full, rel=1e-15)
    assert gain_against(summed, eps_1, eps_2, t_me, t_surr, t_ps) == pytest.approx(summed.ms_per_event / two)
    assert summed.events_per_cpu_hour == pytest.approx(3.6e6 / summed.ms_per_event)
    with pytest.raises(ValueError, match="eps_full must be positive"):
        Baseline("x", 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="t_ps must be non-negative"):
        Baseline("x", 0.1, 1.0, -1.0)


def test_gains_against_the_fastest_baseline() -> None:
    eps_full, eps_1, eps_2, t_me, t_surr, t_ps = 3.3e-4, 3.0e-4, 0.56, 4.42, 0.01, 1.0
    summed = Baseline("colour-summed", eps_full, t_me, t_ps)
    # colour sampling: 4× cheaper ME, 2× lower efficiency → 1.7× cheaper per unweighted event
    sampled = Baseline("colour-sampled", eps_full / 2, t_me / 4, t_ps)
    comp = compare_baselines([summed, sampled], eps_full, eps_1, eps_2, t_me, t_surr, t_ps)
    by = {g.baseline.name: g for g in comp.gains}
    assert comp.fastest.baseline.name == "colour-sampled"
    assert by["colour-summed"].f_eff / by["colour-sampled"].f_eff == pytest.approx(
        summed.ms_per_event / sampled.ms_per_event
    )
    assert comp.fastest.f_eff == min(g.f_eff for g in comp.gains) < by["colour-summed"].f_eff
    assert by["colour-summed"].f_ideal == pytest.approx(ideal_gain(eps_full, t_me, t_surr, t_ps))
    d = comp.to_json()
    assert d["fastest"] == "colour-sampled" and d["f_eff_vs_fastest"] == comp.fastest.f_eff
    assert d["baselines"]["colour-summed"]["f_eff_over_ideal"] == pytest.approx(
        by["colour-summed"].f_eff / by["colour-summed"].f_ideal
    )
    # a slower alternative leaves the colour-summed baseline the honest one
    slow = Baseline("colour-sampled", eps_full / 10, t_me / 4, t_ps)
    other = compare_baselines([summed, slow], eps_full, eps_1, eps_2, t_me, t_surr, t_ps)
    assert other.fastest.baseline is summed
    with pytest.raises(ValueError, match="names must differ"):
        compare_baselines([summed, summed], eps_full, eps_1, eps_2, t_me, t_surr, t_ps)
    with pytest.raises(ValueError, match="at least one"):
        compare_baselines([], eps_full, eps_1, eps_2, t_me, t_surr, t_ps)


def test_gain_against_a_colour_sampled_baseline_is_what_the_loops_deliver(weights: np.ndarray) -> None:
    """Simulated unweighting loops on real Sherpa weights: a colour-summed surrogate run (two stages) against
    a colour-sampled standard run whose weights are w·r (E[r] = 1, Var r = 1: the colour fluctuation) at a
    quarter of the ME cost.  The ratio of events per CPU ms is the gain against that baseline."""
    w = weights
    rng = np.random.default_rng(3)
    r = rng.gamma(1.0, 1.0, w.size)  # mean 1, variance 1
    w_cs = w * r
    s = w * np.exp(0.05 * rng.standard_normal(w.size))  # a 5%-accurate surrogate of the colour sum
    t_me, t_surr, t_ps = 0.04, 0.002, 0.004
    t_me_cs = t_me / 4
    eff_cs = unweight(w_cs, rng).efficiency
    two = two_stage(w, s, rng)
    baseline = Baseline("colour-sampled", eff_cs, t_me_cs, t_ps)
    f = gain_against(baseline, two.eps_1, two.eps_2, t_me, t_surr, t_ps)
    p_cs = np.abs(w_cs) / max_epsilon(w_cs)
    p1, p2 = np.abs(s) / two.s_max, np.abs(two.x) / two.x_max
    loop = np.random.default_rng(8)
    events, ms = count_unweighted(loop, 200, p_cs, p1, p2, t_me_cs + t_ps, t_surr + t_ps, t_me)
    per_ms = events / ms
    rel = np.hypot(*(1 / np.sqrt(events)))
    assert per_ms[1] / per_ms[0] == pytest.approx(f, rel=4 * rel)
    assert events.min() > 3000 and abs(np.log(f)) > 0.2  # enough events, a gain far from 1
    # against the colour-summed baseline of the same events the gain differs by the baselines' cost ratio
    summed = Baseline("colour-summed", unweight(w, rng).efficiency, t_me, t_ps)
    assert gain_against(summed, two.eps_1, two.eps_2, t_me, t_surr, t_ps) / f == pytest.approx(
        summed.ms_per_event / baseline.ms_per_event
    )


def test_standard_efficiency_in_blocks(weights: np.ndarray) -> None:
    w = weights
    whole, err, n = standard_efficiency(w)
    assert (err, n) == (0.0, 1) and whole == pytest.approx(np.mean(np.abs(w)) / max_epsilon(w), rel=1e-15)
    size = w.size // 4
    mean, err, n = standard_efficiency(w, block=size)
    effs = [np.mean(np.abs(b)) / max_epsilon(b) for b in (w[k * size : (k + 1) * size] for k in range(4))]
    assert n == 4 and mean == pytest.approx(np.mean(effs), rel=1e-14)
    assert err == pytest.approx(np.std(effs, ddof=1) / 2, rel=1e-12)
    with pytest.raises(ValueError, match="block of 0 events"):
        standard_efficiency(w, block=0)
