"""Surrogate reweighting of LHE files with a bundle (issue 8): values, coverage, references, command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pylhe
import pytest

from fame_surrogate.config import TrainConfig
from fame_surrogate.export import export_onnx
from fame_surrogate.me import generate_ee, matrix_element
from fame_surrogate.train import train_surrogate
from lhe_tools import EventBatch, read_dump
from lhe_tools.groups import reduce_channels
from sherpa_plugin.bundle import Bundle
from sherpa_plugin.bundle_manifest import write_bundle
from sherpa_plugin.cli import main
from sherpa_plugin.reweight import reweight_file
from sherpa_plugin.reweight_config import ReweightConfig

D3 = "2_3__e-__e+__G__d__db"
U3 = "2_3__e-__e+__G__u__ub"
CANONICAL = {D3: [11, -11, 21, 1, -1]}


@pytest.fixture(scope="module")
def bundle(sherpa_ee: Path, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """A real bundle (2 tiny replicas, so me2_std > 0) for e+e- -> d db g, trained on Sherpa data."""
    batch = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(slice(0, 300))
    res = train_surrogate(batch, TrainConfig(model="mlp", epochs=3, hidden=(8,), replicas=2, threads=1))
    folder = tmp_path_factory.mktemp("bundle")
    model = export_onnx(res.model, folder / "m.onnx", {"process": D3, "members": [D3], "sqrt_s": 1000.0})
    (group,) = reduce_channels([(CANONICAL[D3], 2)])
    write_bundle(folder / "b", [(group, model, res.metrics.to_json())], snippet=False)
    return Bundle.load(folder / "b")


@pytest.fixture(scope="module")
def lhe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 d db g and 40 u ub g weighted events at sqrt(s) = 1000 GeV from the exact built-in |M|^2,
    interleaved, half of the d events with the final state written as d db g (not canonical), with a
    stored weight 'me2ref' = exact |M|^2; momenta and weights with 17 significant digits."""
    d = generate_ee([11, -11, 21, 1, -1], 120, seed=5)
    u = generate_ee([11, -11, 21, 2, -2], 40, seed=6)
    lines = ['<LesHouchesEvents version="3.0">', "<header>", "<initrwgt>",
             "<weight id='me2ref'>exact |M|^2</weight>", "</initrwgt>", "</header>", "<init>",
             "11 -11 5.0e+02 5.0e+02 0 0 -1 -1 4 1", "1.0e+00 1.0e-01 1.0e+00 1", "</init>"]
    order = [("d", i) for i in range(120)]
    for k in range(40):
        order.insert(3 * k + 1, ("u", k))
    for kind, i in order:
        b = d if kind == "d" else u
        assert b.me2 is not None
        rows = [0, 1, 2, 3, 4] if kind == "u" or i % 2 else [0, 1, 3, 4, 2]
        lines += ["<event>", f"5 1 {b.weight[i]:.17e} 9.1187600e+01 -1.0 1.18e-01"]
        for r in rows:
            e, px, py, pz = b.momenta[i, r]
            st = -1 if r < 2 else 1
            lines.append(f"{b.pdg[r]} {st} 0 0 0 0 {px:.17e} {py:.17e} {pz:.17e} {e:.17e} 0.0 0. 9.")
        lines += ["<rwgt>", f"<wgt id='me2ref'> {b.me2[i]:.17e} </wgt>", "</rwgt>", "</event>"]
    lines.append("</LesHouchesEvents>")
    path = tmp_path_factory.mktemp("lhe") / "ee3j.lhe"
    path.write_text("\n".join(lines) + "\n")
    return path


def read_back(path: Path) -> list[tuple[float, dict[str, float], list[int], np.ndarray]]:
    """Per event: XWGTUP, weights, pdg and (E, px, py, pz) of the incoming then outgoing particles (pylhe)."""
    out = []
    for ev in pylhe.LHEFile.fromfile(path).events:
        parts = [p for p in ev.particles if p.status == -1] + [p for p in ev.particles if p.status == 1]
        mom = np.array([[p.e, p.px, p.py, p.pz] for p in parts])
        out.append((ev.eventinfo.weight, dict(ev.weights), [int(p.id) for p in parts], mom))
    return out


def canonical(pdg: list[int], mom: np.ndarray) -> np.ndarray:
    want = CANONICAL[D3]
    idx = [pdg.index(x) for x in want]
    return mom[idx]


def test_ratio_to_exact_me(bundle: Bundle, lhe_file: Path, tmp_path: Path) -> None:
    config = ReweightConfig(ratio_to="me", prefix="fame")
    res = reweight_file(lhe_file, tmp_path / "out.lhe.gz", bundle, config)
    assert (res.events, res.reweighted, res.skipped) == (160, 120, 40)
    assert res.skipped_channels == {U3: 40} and res.invalid == 0
    events = read_back(tmp_path / "out.lhe.gz")
    d_events = [(w, wts, canonical(pdg, mom)) for w, wts, pdg, mom in events if 1 in pdg]
    assert len(d_events) == 120
    mom = np.stack([m for _, _, m in d_events])
    me2, std = _predict(bundle, mom)
    exact = matrix_element(mom, CANONICAL[D3])
    w = np.array([x for x, _, _ in d_events])
    want = w * me2 / exact
    got = np.array([wts["fame"] for _, wts, _ in d_events])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.all(std > 0)
    got_up = np.array([wts["fame_std_up"] for _, wts, _ in d_events])
    np.testing.assert_allclose(got_up, want * (1 + std / me2), rtol=1e-12)
    for w_u, wts, pdg, _ in events:
        if 2 in pdg:
            assert wts["fame"] == wts["fame_std_up"] == w_u
            assert wts["me2ref"] > 0


def _predict(bundle: Bundle, mom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    batch = EventBatch(momenta=mom, pdg=np.array(CANONICAL[D3]), weight=np.ones(len(mom)), process=D3)
    return bundle.predict(batch)


def test_a_bundle_trained_for_unweighting_is_reweighted_with_a_warning(
    bundle: Bundle, lhe_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The objective recorded at training reaches the user: pointwise bundles reweight silently, one trained
    for unweighting (the default for Sherpa's pp dumps) with a warning that names its groups."""
    (entry,) = bundle.entries
    assert entry.train["objective"] == "pointwise"  # e+e- points: the auto objective
    with caplog.at_level("WARNING", logger="sherpa_plugin.reweight"):
        plain = reweight_file(lhe_file, tmp_path / "a.lhe", bundle)
    assert not [r for r in caplog.records if "unweighting" in r.getMessage()]
    onnx = bundle.root / entry.model
    recorded = {**entry.train, "objective": "unweighting"}
    write_bundle(tmp_path / "u", [(entry.group, onnx, recorded)], snippet=False)
    caplog.clear()
    with caplog.at_level("WARNING", logger="sherpa_plugin.reweight"):
        flagged = reweight_file(lhe_file, tmp_path / "b.lhe", tmp_path / "u")
    (record,) = [r for r in caplog.records if "unweighting" in r.getMessage()]
    assert D3 in record.getMessage() and "--objective pointwise" in record.getMessage()
    assert flagged.reweighted == plain.reweighted > 0  # a warning, not a refusal


def test_ratio_to_itself_and_to_a_stored_weight(bundle: Bundle, lhe_file: Path, tmp_path: Path) -> None:
    reweight_file(lhe_file, tmp_path / "self.lhe", bundle, ReweightConfig(ratio_to=str(bundle.root)))
    for w, wts, _, _ in read_back(tmp_path / "self.lhe"):
        assert wts["fame"] == pytest.approx(w, rel=1e-15)
    reweight_file(lhe_file, tmp_path / "me.lhe", bundle, ReweightConfig(ratio_to="me"))
    res = reweight_file(lhe_file, tmp_path / "st.lhe", bundle, ReweightConfig(ratio_to="weight:me2ref"))
    assert res.reweighted == 120
    by_me = [wts["fame"] for _, wts, _, _ in read_back(tmp_path / "me.lhe")]
    by_stored = [wts["fame"] for _, wts, _, _ in read_back(tmp_path / "st.lhe")]
    np.testing.assert_allclose(by_stored, by_me, rtol=1e-9)
    with pytest.raises(ValueError, match="expected 'me'"):
        reweight_file(lhe_file, tmp_path / "x.lhe", bundle, ReweightConfig(ratio_to="nonsense"))


def test_fame_reweight_command(
    bundle: Bundle, testdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = testdata / "pylhe-testfile-sherpa-3.0.1-eejjj.lhe"
    out = tmp_path / "sherpa.lhe.gz"
    # the file is at sqrt(s) = 44 GeV, the bundle was trained at 1000 GeV: refused unless allowed (issue 19)
    argv = ["reweight", str(src), "--bundle", str(bundle.root), "--out", str(out), "--no-progress", "--json"]
    assert main(argv) == 1
    assert "outside the domain" in json.loads(capsys.readouterr().out)["error"] and not out.exists()
    code = main([*argv, "--allow-out-of-domain"])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert sum(res["out_of_domain"].values()) == res["reweighted"]
    # independent count from pylhe: events whose final state is d db g, or s sb g / b bb g, which Comix maps
    # onto d db g (massless down-type quarks, the same couplings; this file's b quarks are massless)
    down = ([-1, 1, 21], [-3, 3, 21], [-5, 5, 21])
    finals = [sorted(p.id for p in e.particles if p.status == 1) for e in pylhe.LHEFile.fromfile(src).events]
    n_down = sum(f in down for f in finals)
    assert (res["events"], res["reweighted"], res["skipped"]) == (100, n_down, 100 - n_down)
    assert sum(f == [-1, 1, 21] for f in finals) < n_down  # the s sb g events are reweighted too
    back = read_back(out)
    assert len(back) == 100
    changed = sum(wts["fame"] != w for w, wts, _, _ in back)
    assert changed == n_down
