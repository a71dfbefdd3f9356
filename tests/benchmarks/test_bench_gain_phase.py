"""``benchmarks/bench_gain_phase.py`` end to end on a real Sherpa pp subset (it shares its scorer with
``bench_pp_accuracy.py``, whose options it must keep up with)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.validation.efficiency import reduced_maximum
from lhe_tools import read_dump

REPO = Path(__file__).resolve().parents[2]


def test_the_mse_model_and_every_variant_are_scored(sherpa_pp: Path) -> None:
    dump = sherpa_pp / "z4j_gu_val.npz"
    cmd = [
        sys.executable, str(REPO / "benchmarks" / "bench_gain_phase.py"),
        "--train", str(dump), "--val", str(dump),
        "--mse-budget", "3", "--gain-budget", "2", "--variant", "1e-4", "--variant", "gain_mse_weight=30",
        "--timing-points", "64", "--val-blocks", "2", "--tail", "3",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = json.loads(run.stdout)["rows"]
    assert [r["model"] for r in rows] == ["mse", "gain0", "gain1"]
    assert [r.get("variant") for r in rows] == [None, "1e-4", "gain_mse_weight=30"]
    # ε_full is the validation run's own (Sherpa's Max_Epsilon rule, SPEC §4.4), whatever the surrogate
    w = np.abs(read_dump(dump).weight)
    eps_full = float(w.mean() / reduced_maximum(w, 1e-3))
    for r in rows:
        assert r["eps_full"] == pytest.approx(eps_full, rel=1e-9)
        assert 0.0 < r["eps_2"] <= 1.0
        assert len(r["val_blocks"]["eps_2"]) == 2
        assert len(r["tail"]["largest_s"]) == 3
