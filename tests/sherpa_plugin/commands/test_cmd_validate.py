"""``fame validate BUNDLE DATA --out REPORT --json`` on a real (tiny) bundle and Sherpa points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fame_surrogate.export import export_onnx
from fame_surrogate.train import TrainConfig, train_surrogate
from lhe_tools import EventBatch, read_dump, write_dump
from lhe_tools.groups import reduce_channels
from sherpa_plugin.bundle import Bundle, write_bundle
from sherpa_plugin.cli import main
from sherpa_plugin.validate import ValidateConfig, validate


@pytest.fixture(scope="module")
def data(sherpa_ee: Path) -> EventBatch:
    return read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(slice(0, 12000))


@pytest.fixture(scope="module")
def bundle(data: EventBatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny, barely trained) surrogate for e+e- -> d db g in a bundle."""
    tmp = tmp_path_factory.mktemp("bundle")
    res = train_surrogate(
        data.take(slice(0, 500)), TrainConfig(model="mlp", epochs=2, hidden=(8,), threads=1)
    )
    model = export_onnx(res.model, tmp / "m.onnx", {"process": data.process, "sqrt_s": 1000.0})
    (group,) = reduce_channels([(tuple(int(p) for p in data.pdg), 2)])
    return write_bundle(tmp / "bundle", [(group, model, {})], snippet=False)


def test_cli_matches_the_library(
    data: EventBatch, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    val = write_dump(tmp_path / "val.npz", data.take(slice(2000, 12000)))
    argv = ["validate", str(bundle), str(val), "--out", str(tmp_path / "report"), "--json", "--eps", "0.05"]
    assert main([*argv, "--bins", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("eps_full", "eps_1", "eps_2", "f_eff", "closure_min_p"):
        assert isinstance(out[key], float), key
    assert out["report"] == str(tmp_path / "report" / "index.html")
    assert (tmp_path / "report" / "index.html").is_file()
    # the same numbers from the library on the same inputs (timings aside)
    cfg = ValidateConfig(eps=0.05, n_bins=4, report=False, timing_points=512, timing_repeats=1)
    lib = validate(Bundle.load(bundle), [read_dump(val)], None, cfg)
    for key in ("eps_full", "eps_1", "eps_2", "closure_min_p"):
        assert out[key] == pytest.approx(lib[key], rel=1e-12), key
    assert out["t_me_ms"] == data.meta["me_ms_per_point"]


def test_cli_reports_uncovered_process(
    sherpa_ee: Path, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d4 = read_dump(sherpa_ee / "ee_4j_ycut0.01.npz").take(slice(0, 300))
    val = write_dump(tmp_path / "val4.npz", d4)
    assert main(["validate", str(bundle), str(val), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "no surrogate for" in err and d4.process in err
    assert not (tmp_path / "r").exists()
