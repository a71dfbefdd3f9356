"""``benchmarks/bench_pp_accuracy.py --temper`` end to end on a real Sherpa pp subset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.config import TrainConfig
from fame_surrogate.onnx_session import OnnxSurrogate
from fame_surrogate.split import validation_split
from fame_surrogate.validation import scan_temper
from lhe_tools import read_dump

REPO = Path(__file__).resolve().parents[2]
BENCH = str(REPO / "benchmarks" / "bench_pp_accuracy.py")


def test_temper_auto_scores_the_beta_chosen_on_the_held_out_split(sherpa_pp: Path, tmp_path: Path) -> None:
    dump = str(sherpa_pp / "z4j_gu_val.npz")
    cmd = [sys.executable, BENCH, "--train", dump, "--val", dump, "--models", "mlp", "--budget", "3",
           "--timing-points", "64", "--temper", "auto", "--keep-onnx", str(tmp_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    (row,) = json.loads(run.stdout)["models"]
    t = row["temper"]
    # β is chosen as fame train chooses it: on the events no replica trained on (TrainConfig's seeded
    # held-out split), with the run's recorded Sherpa CPU times and t_surr 0
    batch = read_dump(dump)
    meta = batch.meta
    train_scan = t["train_scan"]
    assert train_scan["t_surr_ms"] == 0.0
    assert train_scan["t_me_ms"] == meta["me_cpu_ms_per_point"]
    assert train_scan["t_ps_ms"] == meta["ps_cpu_ms_per_point"]
    assert t["beta"] == train_scan["beta"] and t["beta"] in train_scan["betas"]
    config = TrainConfig()
    _, held = validation_split(len(batch), config.val_fraction, config.seed)
    assert train_scan["n_points"] == held.size == round(config.val_fraction * len(batch))
    pred, _ = OnnxSurrogate(tmp_path / "mlp.onnx", threads=1).predict(batch.momenta[held])
    assert batch.me2 is not None
    w = np.abs(batch.weight[held])
    s = w * np.abs(pred) / batch.me2[held]
    scan = scan_temper(w, s, train_scan["t_me_ms"], 0.0, train_scan["t_ps_ms"])
    np.testing.assert_allclose(train_scan["f_eff_over_ideal"], scan.ratios, rtol=1e-9)
    # validate's two-stage unweighter at β gives the validation scan's figure at β (two code paths); the
    # training run is the validation run here, so its in-sample scan differs only by the timed t_surr
    val_scan = t["val_scan"]
    at_beta = val_scan["f_eff_over_ideal"][val_scan["betas"].index(t["beta"])]
    assert t["f_eff_over_ideal"] == pytest.approx(at_beta, rel=1e-9)
    assert val_scan["f_eff_over_ideal"][0] == pytest.approx(row["f_eff_over_ideal"], rel=1e-9)  # β = 1
    in_sample = t["train_scan_in_sample"]
    assert in_sample["n_points"] == len(batch)
    assert val_scan["eps_1"] == pytest.approx(in_sample["eps_1"], rel=1e-12)
    assert val_scan["eps_2"] == pytest.approx(in_sample["eps_2"], rel=1e-12)


def test_temper_out_of_range_is_a_usage_error(sherpa_pp: Path) -> None:
    dump = str(sherpa_pp / "z4j_gu_val.npz")
    for bad in ("1.5", "0", "half"):
        run = subprocess.run([sys.executable, BENCH, "--score", "x.onnx", "--val", dump, "--temper", bad],
                             capture_output=True, text=True, timeout=300, cwd=REPO)
        assert run.returncode == 2 and "--temper" in run.stderr


def test_baselines_apply_to_the_tempered_stage_one_too(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))  # the module sets it
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    bench = importlib.import_module("bench_pp_accuracy")
    from fame_surrogate.validation import Baseline

    row = {"eps_full": 1e-3, "eps_1": 1.2e-3, "eps_2": 0.8, "t_me_ms": 3.0, "t_surr_ms": 0.02, "t_ps_ms": 0.5,
           "temper": {"beta": 0.7, "eps_1": 6e-3, "eps_2": 0.2}}
    # colour summing costs (3.0 + 0.5)/1e-3 = 3500 ms per unweighted event; this one (0.2 + 0.5)/4e-4 = 1750
    sampled_fast = Baseline("colour-sampled", 4e-4, 0.2, 0.5)

    def by_hand(eps_1: float, eps_2: float, baseline_ms: float) -> float:  # SPEC: f_eff of two-stage
        return baseline_ms / ((0.02 + 0.5) / (eps_1 * eps_2) + 3.0 / eps_2)

    out = bench.with_baselines(row, [sampled_fast])
    assert out["fastest"] == out["temper"]["fastest"] == "colour-sampled"
    assert out["f_eff_vs_fastest"] == pytest.approx(by_hand(1.2e-3, 0.8, 1750.0), rel=1e-12)
    assert out["temper"]["f_eff_vs_fastest"] == pytest.approx(by_hand(6e-3, 0.2, 1750.0), rel=1e-12)
    assert out["temper"]["beta"] == 0.7
    summed = out["temper"]["baselines"]["colour-summed"]
    assert summed["f_eff"] == pytest.approx(by_hand(6e-3, 0.2, 3500.0), rel=1e-12)
    # a slower second baseline leaves colour summing the fastest; a row without temper gets none
    out = bench.with_baselines({k: v for k, v in row.items() if k != "temper"},
                               [Baseline("colour-sampled", 1e-4, 0.2, 0.5)])
    assert out["fastest"] == "colour-summed" and "temper" not in out
