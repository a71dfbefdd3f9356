"""validate(): stage efficiencies, times with their sources, gains and closure on Sherpa data (and, for the
closure, on 240k points from the built-in exact ME at the same settings)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.validation.gain import effective_gain, ideal_gain
from fame_surrogate.validation.unweighting import max_epsilon
from lhe_tools import EventBatch, read_dump
from sherpa_plugin.validate import validate
from sherpa_plugin.validate_config import ValidateConfig


class HalfWrong:
    """``factor`` x the true |M|^2 where the leading-energy parton goes forward (half of phase space)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def predict(self, batch: EventBatch) -> tuple[np.ndarray, np.ndarray]:
        assert batch.me2 is not None
        final = batch.momenta[:, batch.n_in :]
        lead = np.take_along_axis(final, np.argmax(final[..., 0], axis=1)[:, None, None], axis=1)[:, 0]
        return batch.me2 * np.where(lead[:, 3] > 0, self.factor, 1.0), np.zeros(len(batch))


@pytest.fixture(scope="module")
def ee3(sherpa_ee: Path) -> EventBatch:
    return read_dump(sherpa_ee / "ee_3j_ycut0.01.npz")  # the 12k real Sherpa points of tests/data


def test_bad_surrogate_closes_with_low_eps2(ee3_large: EventBatch) -> None:
    # closure needs hundreds of unweighted events: 240k points (conftest), where 12k real ones keep ≈ 56
    ee3 = ee3_large
    cfg = ValidateConfig(timing_points=2048, timing_repeats=1, n_bins=8, report=False)
    res = validate(HalfWrong(0.5), [ee3], None, cfg)
    assert res.report is None and res.config == cfg and res.n_points == len(ee3)
    r = res.to_json()  # what summary.json holds
    assert r["report"] is None
    w = ee3.weight
    assert r["eps_full"] == pytest.approx(np.mean(np.abs(w)) / max_epsilon(w, 1e-3), rel=1e-12)
    assert r["eps_2"] < 0.75
    assert r["closure_min_p"] > 1e-3
    assert abs(r["channels"][ee3.process]["sigma_pull"]) < 4
    # sigma in pb from the README's recipe: (1/2s) w sum(me2) / N_generated
    sigma = w.sum() / (len(ee3) / ee3.meta["cut_efficiency"]) / (2 * 1e6) * 3.89379656e8
    assert r["sigma_unit"] == "pb"
    assert r["sigma_weighted"]["value"] == pytest.approx(sigma, rel=1e-12)
    su, sw = r["sigma_unweighted"], r["sigma_weighted"]
    assert abs(su["value"] - sw["value"]) < 4 * np.hypot(su["error"], sw["error"])
    json.dumps(r)  # JSON-ready


def test_times_and_gains_on_sherpa_points(ee3: EventBatch) -> None:
    cfg = ValidateConfig(timing_points=2048, timing_repeats=1, n_bins=4, report=False)
    res = validate(HalfWrong(0.5), [ee3], None, cfg)
    r = res.to_json()
    assert (res.f_eff, res.sigma_weighted.value, res.sigma_pull) == (
        r["f_eff"],
        r["sigma_weighted"]["value"],
        r["channels"][ee3.process]["sigma_pull"],
    )
    # times and where they came from
    assert r["t_me_ms"] == ee3.meta["me_ms_per_point"]
    assert "recorded in the data" in r["time_sources"]["t_me"]
    assert "measured here" in r["time_sources"]["t_surr"] and r["t_surr_ms"] > 0
    assert "RAMBO" in r["time_sources"]["t_ps"] and r["t_ps_ms"] > 0
    args = (r["t_me_ms"], r["t_surr_ms"], r["t_ps_ms"])
    assert r["f_eff"] == pytest.approx(effective_gain(r["eps_full"], r["eps_1"], r["eps_2"], *args))
    assert r["f_ideal"] == pytest.approx(ideal_gain(r["eps_full"], *args))
    assert r["f_eff"] < r["f_ideal"]
    assert r["f_eff_alpha"] == pytest.approx(r["alpha"] * r["f_eff"])
    # the batch behind t_surr, and the gain for a host that calls the surrogate once per event
    assert r["t_surr_batch_size"] == 2048
    assert "single-event batches" in r["time_sources"]["t_surr_batch1"] and r["t_surr_batch1_ms"] > 0
    one = (r["t_me_ms"], r["t_surr_batch1_ms"], r["t_ps_ms"])
    assert r["f_eff_batch1"] == pytest.approx(effective_gain(r["eps_full"], r["eps_1"], r["eps_2"], *one))
    assert r["f_ideal_batch1"] == pytest.approx(ideal_gain(r["eps_full"], *one))
    json.dumps(r)  # JSON-ready


def test_channels_combine_and_fixed_times(sherpa_ee: Path, ee3: EventBatch) -> None:
    b4 = read_dump(sherpa_ee / "ee_4j_ycut0.01.npz").take(slice(0, 6000))
    b3 = ee3.take(slice(0, 12000))
    cfg = ValidateConfig(t_me_ms=1.0, t_surr_ms=0.01, t_ps_ms=0.02, n_bins=6, report=False)
    res = validate(HalfWrong(2.0), [b3.take(slice(0, 6000)), b4, b3.take(slice(6000, 12000))], None, cfg)
    r = res.to_json()
    assert res.sigma_pull is None and "sigma_pull" not in r  # a pull per channel only
    assert set(r["channels"]) == {b3.process, b4.process}
    assert r["channels"][b3.process]["n_points"] == 12000  # same process joined
    assert r["time_sources"]["t_me"] == "given (ValidateConfig.t_me_ms)"
    f = [c["f_eff"] for c in r["channels"].values()]
    assert min(f) <= r["f_eff"] <= max(f)
    e2 = [c["eps_2"] for c in r["channels"].values()]
    assert min(e2) <= r["eps_2"] <= max(e2)
    assert r["sigma_weighted"]["value"] == pytest.approx(
        sum(c["sigma_weighted"]["value"] for c in r["channels"].values())
    )
    assert r["channels_left_out"] == {}
    # a given t_surr stands for both: the per-event gain is the batched one
    assert r["t_surr_batch1_ms"] == 0.01 and r["f_eff_batch1"] == pytest.approx(r["f_eff"])
    # a channel with a single point (a rare channel of a weighted sample) is left out, and said to be
    lone = validate(HalfWrong(2.0), [b3, b4.take(slice(0, 1))], None, cfg).to_json()
    assert set(lone["channels"]) == {b3.process} and lone["channels_left_out"] == {b4.process: 1}
    with pytest.raises(ValueError, match="every channel has a single point"):
        validate(HalfWrong(2.0), [b4.take(slice(0, 1))], None, cfg)


def test_recorded_cpu_times_are_used_when_asked(ee3: EventBatch) -> None:
    # a hadron dump records wall and CPU times of Sherpa; the CPU ones when asked, else the wall ones
    meta = {**ee3.meta, "ps_ms_per_point": 0.5, "me_cpu_ms_per_point": 0.123, "ps_cpu_ms_per_point": 0.25}
    batch = ee3.take(slice(0, 20000)).with_columns(meta=meta)
    cfg = ValidateConfig(t_surr_ms=0.001, n_bins=6, report=False)
    wall = validate(HalfWrong(1.0), [batch], None, cfg).to_json()
    cpu = validate(HalfWrong(1.0), [batch], None, dataclasses.replace(cfg, recorded_times="cpu")).to_json()
    assert (wall["t_me_ms"], wall["t_ps_ms"]) == (ee3.meta["me_ms_per_point"], 0.5)
    assert (cpu["t_me_ms"], cpu["t_ps_ms"]) == (0.123, 0.25)
    assert "me_cpu_ms_per_point" in cpu["time_sources"]["t_me"]
    assert cpu["f_ideal"] == pytest.approx(ideal_gain(cpu["eps_full"], 0.123, 0.001, 0.25))
    with pytest.raises(ValueError, match="recorded_times"):
        ValidateConfig(recorded_times="gpu")


def test_missing_exact_me_is_an_error(ee3: EventBatch) -> None:
    b = ee3.take(slice(0, 100))
    pp = EventBatch(
        momenta=b.momenta, pdg=np.array([2, -2, 21, 1, -1]), weight=b.weight, process="2_3__u__ub__G__d__db"
    )
    with pytest.raises(ValueError, match="no exact me2"):
        validate(HalfWrong(1.0), [pp], None, ValidateConfig(report=False))


def test_gain_blocks_are_the_blocks_validated_alone(ee3: EventBatch) -> None:
    # each block's f_eff and f_ideal are what validate() gives for that block alone (fixed times, the same
    # seeds); with a perfect surrogate every block has x = 1, so x_max = 1 − Max_Epsilon, ε_2 = 1/(1 − ε_x)
    # and ε_1 = ε_full: f_eff/f_ideal is that same 1/(1 − ε_x)
    cfg = ValidateConfig(t_me_ms=1.0, t_surr_ms=0.01, t_ps_ms=0.02, n_bins=6, report=False, gain_blocks=3)
    res = validate(HalfWrong(0.5), [ee3], None, cfg)
    blocks = res.channels[ee3.process].gain_blocks
    assert blocks is not None and blocks.block_points == len(ee3) // 3 and len(blocks.f_eff) == 3
    one = dataclasses.replace(cfg, gain_blocks=1)
    for k in range(3):
        part = ee3.take(slice(k * blocks.block_points, (k + 1) * blocks.block_points))
        alone = validate(HalfWrong(0.5), [part], None, one)
        assert alone.channels[ee3.process].gain_blocks is None
        assert blocks.f_eff[k] == pytest.approx(alone.f_eff, rel=1e-12)
        assert blocks.f_ideal[k] == pytest.approx(alone.f_ideal, rel=1e-12)
        assert blocks.eps_2[k] == pytest.approx(alone.eps_2, rel=1e-12)
    exact = validate(HalfWrong(1.0), [ee3], None, cfg).channels[ee3.process].gain_blocks
    assert exact is not None
    np.testing.assert_allclose(exact.eps_2, 1.0 / (1.0 - cfg.eps_x), rtol=1e-12)
    np.testing.assert_allclose(exact.f_eff_over_ideal, 1.0 / (1.0 - cfg.eps_x), rtol=1e-12)
    json.dumps(res.to_json())
    # too few points per block: not computed
    small = validate(HalfWrong(0.5), [ee3.take(slice(0, 150))], None, cfg)
    assert small.channels[ee3.process].gain_blocks is None
