"""``fame validate BUNDLE DATA --out REPORT --json`` on a real (tiny) bundle and Sherpa points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.config import TrainConfig
from fame_surrogate.export import export_onnx
from fame_surrogate.train import train_surrogate
from lhe_tools import EventBatch, read_dump, write_dump
from lhe_tools.groups import reduce_channels
from sherpa_plugin.bundle_manifest import write_bundle
from sherpa_plugin.cli import main


@pytest.fixture(scope="module")
def data(sherpa_ee: Path) -> EventBatch:
    return read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(slice(0, 12000))


@pytest.fixture(scope="module")
def bundle(data: EventBatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny, barely trained) surrogate for e+e- -> d db g in a bundle."""
    tmp = tmp_path_factory.mktemp("bundle")
    res = train_surrogate(
        data.take(slice(0, 500)), TrainConfig(model="mlp", replicas=1, epochs=2, hidden=(8,), threads=1)
    )
    model = export_onnx(res.model, tmp / "m.onnx", {"process": data.process, "sqrt_s": 1000.0})
    (group,) = reduce_channels([(tuple(int(p) for p in data.pdg), 2)])
    return write_bundle(tmp / "bundle", [(group, model, {})], snippet=False)


def _max_epsilon(v: np.ndarray, eps: float, c: np.ndarray | None = None) -> float:
    """Sherpa's Max_Epsilon by bisection: the smallest m with Σ c max(0, |v| - m) <= eps Σ c |v|."""
    a = np.abs(v)
    c = np.ones_like(a) if c is None else np.abs(c)
    target = eps * np.sum(c * a)
    lo, hi = 0.0, float(a.max())
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if np.sum(c * np.maximum(0.0, a - mid)) <= target else (mid, hi)
    return hi


def test_cli_figures_from_their_definitions(
    data: EventBatch, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stage efficiencies and the gain of ``fame validate`` recomputed from the README's definitions, with
    the surrogate evaluated by ONNX Runtime directly on the bundle's model file."""
    import onnxruntime as ort

    batch = data.take(slice(2000, 12000))
    val = write_dump(tmp_path / "val.npz", batch)
    argv = ["validate", str(bundle), str(val), "--out", str(tmp_path / "report"), "--json", "--eps", "0.05"]
    assert main([*argv, "--bins", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["report"] == str(tmp_path / "report" / "index.html")
    assert (tmp_path / "report" / "index.html").is_file()
    # the independent side: |M|^2 of the surrogate from ONNX Runtime, weights w = ps_weight |M|^2 (Sherpa)
    (model,) = (bundle / "models").glob("*.onnx")
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    surr = sess.run(["me2"], {"momenta": batch.momenta})[0]
    assert batch.me2 is not None and batch.ps_weight is not None
    w = batch.ps_weight * batch.me2
    s = w * surr / batch.me2
    x = w / s
    eps_full = np.mean(np.abs(w)) / _max_epsilon(w, 0.05)
    # --budget sigma (the default): the stage-1 excess is measured in cross section, |s| weighted by |x|
    eps_1 = np.mean(np.abs(s)) / _max_epsilon(s, 0.05, x)
    eps_2 = np.sum(np.abs(w)) / np.sum(np.abs(s)) / _max_epsilon(x, 1e-3, s)
    assert out["eps_full"] == pytest.approx(eps_full, rel=1e-9)
    assert out["eps_1"] == pytest.approx(eps_1, rel=1e-9)
    assert out["eps_2"] == pytest.approx(eps_2, rel=1e-9)
    assert 0.0 < eps_full < eps_1 and eps_2 < 0.9  # a barely trained surrogate: a visible stage 2
    t_me, t_surr, t_ps = out["t_me_ms"], out["t_surr_ms"], out["t_ps_ms"]
    assert t_me == data.meta["me_ms_per_point"] and t_surr > 0 and t_ps > 0
    f_eff = ((t_me + t_ps) / eps_full) / ((t_surr + t_ps) / (eps_1 * eps_2) + t_me / eps_2)
    assert out["f_eff"] == pytest.approx(f_eff, rel=1e-9)
    assert out["closure_min_p"] is None or 0.0 <= out["closure_min_p"] <= 1.0
    # the default stage 1 is the bundle's recorded β; this bundle records none, so s as it is (above)
    assert out["channels"][batch.process]["temper"] == 1.0


@pytest.mark.parametrize("bad", ["0", "1.5", "-0.5"])
def test_cli_refuses_a_temper_outside_0_1(
    data: EventBatch, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    val = write_dump(tmp_path / "val.npz", data.take(slice(2000, 2500)))
    assert main(["validate", str(bundle), str(val), "--out", str(tmp_path / "r"), "--temper", bad]) == 1
    err = capsys.readouterr().err  # one line, as for any bad value (sherpa_plugin/cli.py)
    assert f"ValidateConfig.temper={float(bad)}; expected 0 < temper <= 1" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_cli_reports_uncovered_process(
    sherpa_ee: Path, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d4 = read_dump(sherpa_ee / "ee_4j_ycut0.01.npz").take(slice(0, 300))
    val = write_dump(tmp_path / "val4.npz", d4)
    assert main(["validate", str(bundle), str(val), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "no surrogate for" in err and d4.process in err
    assert not (tmp_path / "r").exists()
