"""``fame train`` records the stage-1 temper β of each pp group (train_tasks._stage1_temper), chosen on the
held-out split of the 2 000 real Sherpa Z+4 events of tests/data/sherpa-pp, in the manifest and the run-card
snippet; ``fame validate`` on the exported file reproduces it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from fame_surrogate.config import TrainConfig
from fame_surrogate.onnx_session import OnnxSurrogate
from fame_surrogate.split import validation_split
from fame_surrogate.validation import TEMPER_GRID, TEMPER_TOLERANCE, scan_temper
from lhe_tools import EventBatch, read_dump, write_dump
from sherpa_plugin.bundle import Bundle
from sherpa_plugin.bundle_manifest import MANIFEST, SNIPPET
from sherpa_plugin.orchestrate import train_bundle
from sherpa_plugin.train_tasks import stage1_temper_scan
from sherpa_plugin.validate import validate
from sherpa_plugin.validate_config import ValidateConfig

CONFIG = TrainConfig(model="mlp", replicas=1, epochs=3, gain_epochs=2, hidden=(16,), batch_size=256)


class Onnx:
    def __init__(self, path: Path) -> None:
        self.model = OnnxSurrogate(path, threads=1)

    def predict(self, batch: EventBatch) -> tuple[np.ndarray, np.ndarray]:
        pred, std = self.model.predict(batch.momenta)
        return np.asarray(pred, dtype=np.float64), np.asarray(std, dtype=np.float64)


def held_out(batch: EventBatch, config: TrainConfig) -> EventBatch:
    """The events no replica trained on: TrainConfig's seeded held-out split, drawn here on its own."""
    return batch.take(validation_split(len(batch), config.val_fraction, config.seed)[1])


def test_train_records_the_temper_that_validate_reproduces(sherpa_pp: Path, tmp_path: Path) -> None:
    z4 = read_dump(sherpa_pp / "z4j_gu_val.npz")
    (tmp_path / "data").mkdir()
    write_dump(tmp_path / "data" / "z4.npz", z4)
    res = train_bundle([tmp_path / "data"], tmp_path / "bundle", CONFIG, progress=False)
    assert res.failed == 0
    (group,) = json.loads((tmp_path / "bundle" / MANIFEST).read_text())["groups"]
    assert group["train"]["objective"] == "pointwise"  # the default for every kind of event
    rec = group["train"]["stage1_temper"]
    assert rec["betas"] == list(TEMPER_GRID) and rec["beta"] in TEMPER_GRID
    assert rec["beta"] <= rec["best_beta"]
    held = held_out(z4, CONFIG)  # β is chosen on the events the surrogate never trained on
    assert rec["n_points"] == len(held) == 200 and rec["t_surr_ms"] == 0.0
    assert rec["t_me_ms"] == z4.meta["me_cpu_ms_per_point"]
    assert rec["t_ps_ms"] == z4.meta["ps_cpu_ms_per_point"]
    # the run-card snippet gives a host the same β for every member of the group
    snippet = yaml.safe_load((tmp_path / "bundle" / SNIPPET).read_text())["MLHANDLER"]
    assert snippet["STAGE1_TEMPER"] == {m["process"]: rec["beta"] for m in group["members"]}

    # the exported ONNX file, through ONNX Runtime: the same scan, and validate's two-stage unweighter
    onnx = Onnx(tmp_path / "bundle" / group["model"])
    pred, _ = onnx.predict(held)
    assert held.me2 is not None
    w = np.abs(held.weight)
    scan = scan_temper(w, w * np.abs(pred) / held.me2, rec["t_me_ms"], 0.0, rec["t_ps_ms"])
    np.testing.assert_allclose(scan.ratios, rec["f_eff_over_ideal"], rtol=1e-4)
    assert scan.beta == rec["beta"] and rec["tolerance"] == TEMPER_TOLERANCE
    beta = rec["beta"]
    cfg = ValidateConfig(report=False, recorded_times="cpu", t_surr_ms=0.0, gain_blocks=1, temper=beta)
    r = validate(onnx, [held], None, cfg).to_json()
    recorded = rec["f_eff_over_ideal"][TEMPER_GRID.index(beta)]
    assert r["f_eff"] / r["f_ideal"] == pytest.approx(recorded, rel=1e-4)

    # fame validate takes that β per channel by default: the same figures as --temper β
    bundle = Bundle.load(tmp_path / "bundle")
    assert bundle.stage1_temper(z4.process) == beta
    assert bundle.stage1_temper("2_3__e-__e+__G__d__db") is None  # in no group of this bundle
    by_beta = validate(bundle, [z4], None, cfg).to_json()  # cfg: temper=β, t_surr 0
    per_channel = dataclasses.replace(cfg, temper=None)  # the default
    got = validate(bundle, [z4], None, per_channel).to_json()
    assert got["channels"][z4.process]["temper"] == beta
    for key in ("eps_1", "eps_2", "f_eff", "f_ideal"):
        assert got[key] == by_beta[key]
    # --temper 1 gives stage 1 on s itself: the scan's β = 1 figure
    plain = validate(bundle, [held], None, dataclasses.replace(cfg, temper=1.0)).to_json()
    assert plain["channels"][z4.process]["temper"] == 1.0
    assert plain["f_eff"] / plain["f_ideal"] == pytest.approx(rec["f_eff_over_ideal"][0], rel=1e-4)


def test_an_unweighting_pp_group_records_its_temper_too(
    sherpa_pp: Path, sherpa_ee: Path, tmp_path: Path
) -> None:
    """Whatever the objective (here ``unweighting``: the gain loss on the importance subsample), a group of
    weighted pp events may serve two-stage unweighting: β is recorded
    (and equals a scan through the exported file on the held-out split, which two replicas, trained as
    separate tasks, share); an e+e- group (no coloured beam) records none."""
    z4 = read_dump(sherpa_pp / "z4j_gu_val.npz")
    (tmp_path / "data").mkdir()
    write_dump(tmp_path / "data" / "z4.npz", z4)
    cfg = dataclasses.replace(CONFIG, objective="unweighting", replicas=2, val_fraction=0.2)
    assert train_bundle([tmp_path / "data"], tmp_path / "bundle", cfg, progress=False).failed == 0
    (group,) = json.loads((tmp_path / "bundle" / MANIFEST).read_text())["groups"]
    assert group["train"]["objective"] == "unweighting"
    assert group["train"]["replica_tasks"] == 2
    rec = group["train"]["stage1_temper"]
    held = held_out(z4, cfg)
    assert rec["n_points"] == len(held) == 400
    pred, _ = Onnx(tmp_path / "bundle" / group["model"]).predict(held)
    assert held.me2 is not None
    w = np.abs(held.weight)
    scan = scan_temper(w, w * np.abs(pred) / held.me2, rec["t_me_ms"], 0.0, rec["t_ps_ms"])
    np.testing.assert_allclose(scan.ratios, rec["f_eff_over_ideal"], rtol=1e-4)
    assert Bundle.load(tmp_path / "bundle").stage1_temper(z4.process) == rec["beta"]

    ee = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(slice(0, 500))
    assert ee.ps_weight is not None and ee.me2 is not None  # weighted, with |M|², but lepton beams
    (tmp_path / "ee").mkdir()
    write_dump(tmp_path / "ee" / "ee.npz", ee)
    assert train_bundle([tmp_path / "ee"], tmp_path / "ee_bundle", cfg, progress=False).failed == 0
    (ee_group,) = json.loads((tmp_path / "ee_bundle" / MANIFEST).read_text())["groups"]
    assert ee_group["train"]["stage1_temper"] is None


def test_no_scan_without_an_event_of_nonzero_weight(sherpa_pp: Path) -> None:
    """A held-out split whose weights are all 0 has no β to choose (None: stage 1 on s itself), while the
    same events with their weights give the scan of :func:`scan_temper`."""
    z4 = read_dump(sherpa_pp / "z4j_gu_val.npz").take(slice(0, 300))
    assert z4.me2 is not None
    pred = z4.me2 * np.exp(0.3 * np.random.default_rng(1).standard_normal(len(z4)))
    assert stage1_temper_scan(dataclasses.replace(z4, weight=np.zeros(len(z4))), pred) is None
    rec = stage1_temper_scan(z4, pred)
    assert rec is not None and rec["n_points"] == len(z4)
    w = np.abs(z4.weight)
    scan = scan_temper(w, w * pred / z4.me2, rec["t_me_ms"], 0.0, rec["t_ps_ms"])
    assert rec["f_eff_over_ideal"] == list(scan.ratios) and rec["beta"] == scan.beta
