"""``fame predict``: the figures equal an independent comparison of ONNX predictions with the file's me2."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.config import TrainConfig
from fame_surrogate.export import export_onnx
from fame_surrogate.onnx_session import OnnxSurrogate
from fame_surrogate.train import train_surrogate
from lhe_tools import EventBatch, read_dump, write_dump
from sherpa_plugin.cli import main


@pytest.fixture(scope="module")
def setup(sherpa_ee: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, EventBatch]:
    full = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz")
    train = full.take(np.arange(400))
    # 100 epochs of 5 steps: Muon (the default) trails AdamW over the first few hundred steps
    res = train_surrogate(train, TrainConfig(replicas=1, hidden=(16, 16), epochs=100, batch_size=64))
    root = tmp_path_factory.mktemp("predict")
    metadata = {"process": train.process, "train": res.metrics.to_json()}
    model = export_onnx(res.model, root / "m.onnx", metadata)
    test = full.take(np.arange(1000, 1300))
    data = write_dump(root / "test.npz", test)
    return model, data, test


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object] | None, str]:
    code = main(["predict", *argv, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def _expected(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    rel = np.abs(pred / truth - 1.0)
    return {
        "frac_within_1pct": float(np.mean(rel < 0.01)),
        "frac_within_0p1pct": float(np.mean(rel < 0.001)),
        "median_abs_rel_dev": float(np.median(rel)),
    }


def test_predict_with_a_model_file(
    setup: tuple[Path, Path, EventBatch], capsys: pytest.CaptureFixture[str]
) -> None:
    model, data, test = setup
    code, out, _ = _run(capsys, str(model), str(data))
    assert code == 0 and out is not None
    assert out["points"] == 300
    assert test.me2 is not None
    want = _expected(OnnxSurrogate(model).predict(test.momenta)[0], test.me2)
    for key, value in want.items():
        assert out[key] == pytest.approx(value, rel=1e-12)
    # a trained model is far better than a constant (median deviation > 0.3 on these points)
    assert float(out["median_abs_rel_dev"]) < 0.1  # type: ignore[arg-type]


def test_predict_with_a_bundle(
    setup: tuple[Path, Path, EventBatch], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from lhe_tools.groups import reduce_channels
    from sherpa_plugin.bundle_manifest import write_bundle

    model, data, test = setup
    (group,) = reduce_channels([([int(p) for p in test.pdg], 2)])
    bundle = write_bundle(tmp_path / "bundle", [(group, model, {})], snippet=False)
    code, out, _ = _run(capsys, str(bundle), str(data))
    assert code == 0 and out is not None
    _, out1, _ = _run(capsys, str(model), str(data))
    assert out1 is not None
    for key in ("points", "frac_within_1pct", "frac_within_0p1pct", "median_abs_rel_dev"):
        assert out[key] == out1[key]


def test_predict_refuses_missing_me2_and_foreign_process(
    setup: tuple[Path, Path, EventBatch], capsys: pytest.CaptureFixture[str], tmp_path: Path, sherpa_ee: Path
) -> None:
    model, _, test = setup
    no_me2 = write_dump(tmp_path / "nome2.npz", dataclasses.replace(test, me2=None))
    code, out, err = _run(capsys, str(model), str(no_me2))
    # --json on failure: the one JSON object is the error (issue 19)
    assert code == 1 and out is not None and "no me2 column" in str(out["error"]) and "no me2 column" in err
    four = write_dump(tmp_path / "4j.npz", read_dump(sherpa_ee / "ee_4j_ycut0.01.npz").take(np.arange(5)))
    code, out, err = _run(capsys, str(model), str(four))
    assert code == 1 and "2_4__e-__e+__G__G__d__db" in err and "2_3__e-__e+__G__d__db" in err
