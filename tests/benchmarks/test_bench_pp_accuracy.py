"""``benchmarks/bench_pp_accuracy.py --temper`` end to end on a real Sherpa pp subset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lhe_tools import read_dump

REPO = Path(__file__).resolve().parents[2]
BENCH = str(REPO / "benchmarks" / "bench_pp_accuracy.py")


def test_temper_auto_scores_the_beta_chosen_on_the_training_run(sherpa_pp: Path) -> None:
    dump = str(sherpa_pp / "z4j_gu_val.npz")
    cmd = [sys.executable, BENCH, "--train", dump, "--val", dump, "--models", "mlp", "--budget", "3",
           "--timing-points", "64", "--temper", "auto"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    (row,) = json.loads(run.stdout)["models"]
    t = row["temper"]
    # β is chosen as fame train chooses it: on the training run, with its recorded Sherpa CPU times, t_surr 0
    meta = read_dump(dump).meta
    train_scan = t["train_scan"]
    assert train_scan["t_surr_ms"] == 0.0
    assert train_scan["t_me_ms"] == meta["me_cpu_ms_per_point"]
    assert train_scan["t_ps_ms"] == meta["ps_cpu_ms_per_point"]
    assert t["beta"] == train_scan["best_beta"] and t["beta"] in train_scan["betas"]
    # validate's two-stage unweighter at β gives the validation scan's figure at β (two code paths); the
    # training run is the validation run here, so the two scans differ only by the timed t_surr
    val_scan = t["val_scan"]
    at_beta = val_scan["f_eff_over_ideal"][val_scan["betas"].index(t["beta"])]
    assert t["f_eff_over_ideal"] == pytest.approx(at_beta, rel=1e-9)
    assert val_scan["f_eff_over_ideal"][0] == pytest.approx(row["f_eff_over_ideal"], rel=1e-9)  # β = 1
    assert val_scan["eps_1"] == pytest.approx(train_scan["eps_1"], rel=1e-12)
    assert val_scan["eps_2"] == pytest.approx(train_scan["eps_2"], rel=1e-12)


def test_temper_out_of_range_is_a_usage_error(sherpa_pp: Path) -> None:
    dump = str(sherpa_pp / "z4j_gu_val.npz")
    for bad in ("1.5", "0", "half"):
        run = subprocess.run([sys.executable, BENCH, "--score", "x.onnx", "--val", dump, "--temper", bad],
                             capture_output=True, text=True, timeout=300, cwd=REPO)
        assert run.returncode == 2 and "--temper" in run.stderr
