"""``benchmarks/bench_pp_error_map.py`` on a real Sherpa pp subset and a surrogate trained on it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fame_surrogate.config import TrainConfig
from fame_surrogate.export import export_onnx
from fame_surrogate.train import train_surrogate
from lhe_tools import read_dump

REPO = Path(__file__).resolve().parents[2]


def test_error_scaling_and_the_map_of_the_heavy_events(sherpa_pp: Path, tmp_path: Path) -> None:
    dump = sherpa_pp / "z4j_gu_val.npz"
    batch = read_dump(dump)
    cfg = TrainConfig(replicas=1, hidden=(16,), epochs=2, gain_epochs=1, val_fraction=0.25, max_seconds=60.0)
    onnx = export_onnx(train_surrogate(batch, cfg).model, tmp_path / "z4.onnx", {"process": batch.process})
    cmd = [sys.executable, str(REPO / "benchmarks" / "bench_pp_error_map.py"), "--val", str(dump),
           "--onnx", str(onnx), "--heavy", "500", "--scales", "1", "0",
           "--rank-edges", "100", "500", "5000"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    one, zero = out["scaled"]
    assert one["eps_2"] == pytest.approx(out["eps_2"], rel=1e-12)  # k = 1: the surrogate as it is
    # k = 0: the exact |M|², x = w/s = 1 everywhere; Max_Epsilon (1e-3) then sets x_max = 1 − 1e-3
    assert zero["eps_2"] == pytest.approx(1.0 / (1.0 - 1e-3), rel=1e-12)
    assert zero["median_abs_rel_dev"] == 0.0
    assert out["heavy"]["n"] == 500
    # every heavy event lies in one y_min bin (0 < |s_ij|/ŝ ≤ 1 for massless momenta)
    assert sum(b["FF"]["n"] + b["IF"]["n"] for b in out["by_ymin"]) == 500
    # the rank bins partition the run, heaviest first (an edge beyond the run is dropped): their σ fractions
    # sum to 1, and each carries less per event than the one before
    ranks = out["by_weight_rank"]
    assert len(batch) < 5000
    assert [b["ranks"] for b in ranks] == [[1, 100], [101, 500], [501, len(batch)]]
    assert sum(b["n"] for b in ranks) == len(batch)
    assert sum(b["sigma_fraction"] for b in ranks) == pytest.approx(1.0, rel=1e-12)
    per_event = [b["sigma_fraction"] / b["n"] for b in ranks]
    assert per_event == sorted(per_event, reverse=True)
