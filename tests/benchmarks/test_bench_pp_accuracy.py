"""``benchmarks/bench_pp_accuracy.py --temper`` end to end on a real Sherpa pp subset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
    # the training run is the validation run here: the same scan, so β is the best in hindsight, and
    # validate's two-stage unweighter at that β gives the scan's figure (two code paths)
    assert t["train_scan"] == t["val_scan"]
    assert t["beta"] == t["train_scan"]["best_beta"]
    assert t["f_eff_over_ideal"] == pytest.approx(max(t["val_scan"]["f_eff_over_ideal"]), rel=1e-9)
    assert t["val_scan"]["f_eff_over_ideal"][0] == pytest.approx(row["f_eff_over_ideal"], rel=1e-9)  # β = 1
    assert t["f_eff_over_ideal"] >= row["f_eff_over_ideal"]


def test_temper_out_of_range_is_a_usage_error(sherpa_pp: Path) -> None:
    dump = str(sherpa_pp / "z4j_gu_val.npz")
    for bad in ("1.5", "0", "half"):
        run = subprocess.run([sys.executable, BENCH, "--score", "x.onnx", "--val", dump, "--temper", bad],
                             capture_output=True, text=True, timeout=300, cwd=REPO)
        assert run.returncode == 2 and "--temper" in run.stderr
