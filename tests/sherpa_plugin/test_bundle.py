"""The bundle (SPEC §3.5): layout, sha256 and contract checks, atomic writing, member permutations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.config import TrainConfig
from fame_surrogate.export import export_onnx
from fame_surrogate.onnx_session import OnnxSurrogate
from fame_surrogate.train import train_surrogate
from lhe_tools import EventBatch, read_dump
from lhe_tools.groups import GroupMember, ReducedGroup, reduce_channels
from sherpa_plugin.bundle import Bundle, record_validation
from sherpa_plugin.bundle_manifest import MANIFEST, BundleError, manifest_digest, sha256_file, write_bundle

D3 = "2_3__e-__e+__G__d__db"
S3 = "2_3__e-__e+__G__s__sb"


@pytest.fixture(scope="module")
def d3(sherpa_ee: Path) -> EventBatch:
    """300 Sherpa points of e+e- -> d db g."""
    return read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(slice(0, 300))


@pytest.fixture(scope="module")
def model_file(d3: EventBatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny) trained and exported surrogate for the d db g group with its s sb g member."""
    res = train_surrogate(d3, TrainConfig(model="mlp", replicas=1, epochs=3, hidden=(8,), threads=1))
    members = [{"process": D3}, {"process": S3}]
    path = tmp_path_factory.mktemp("model") / "m.onnx"
    return export_onnx(res.model, path, {"process": D3, "members": members, "sqrt_s": 1000.0})


@pytest.fixture(scope="module")
def group() -> ReducedGroup:
    (g,) = reduce_channels([((11, -11, 21, 1, -1), 2), ((11, -11, 21, 3, -3), 2)])
    return g


@pytest.fixture()
def bundle_dir(tmp_path: Path, group: ReducedGroup, model_file: Path) -> Path:
    out = tmp_path / "bundle"
    write_bundle(out, [(group, model_file, {"val_frac_within_1pct": 0.5})], snippet=False)
    return out


def test_layout_manifest_and_sha256(bundle_dir: Path, group: ReducedGroup, model_file: Path) -> None:
    manifest = json.loads((bundle_dir / MANIFEST).read_text())
    assert manifest["format"] == "fame-bundle/1"
    (entry,) = manifest["groups"]
    assert entry["name"] == D3 == group.name
    assert entry["model"] == f"models/{D3}.onnx"
    assert entry["sha256"] == sha256_file(model_file) == sha256_file(bundle_dir / entry["model"])
    assert [m["process"] for m in entry["members"]] == [D3, S3]
    assert entry["train"] == {"val_frac_within_1pct": 0.5}
    assert not list(bundle_dir.parent.glob(".bundle*")), "temporary folder left behind"


def test_load_predicts_like_the_onnx_model(bundle_dir: Path, model_file: Path, d3: EventBatch) -> None:
    bundle = Bundle.load(bundle_dir)
    assert [g.name for g in bundle.groups] == [D3]
    assert bundle.covers(D3) and bundle.covers(S3) and not bundle.covers("2_3__e-__e+__G__u__ub")
    direct, direct_std = OnnxSurrogate(model_file).predict(d3.momenta)
    me2, std = bundle.predict(d3)
    np.testing.assert_array_equal(me2, direct)
    np.testing.assert_array_equal(std, direct_std)
    assert np.all(np.isfinite(me2)) and np.all(me2 > 0)
    # the s-quark member has the same |M|^2 (same couplings, massless): same prediction at the same momenta
    s3 = d3.with_columns(pdg=np.array([11, -11, 21, 3, -3]), process=S3)
    np.testing.assert_array_equal(bundle.predict(s3)[0], direct)
    sess, member = bundle.surrogate_for(S3)
    assert member.process == S3 and sess.process == D3


def test_predict_applies_member_permutation(
    tmp_path: Path, model_file: Path, d3: EventBatch
) -> None:
    # a member listed in another particle order (s, sb, g): permutation (0, 1, 4, 2, 3) maps it to (g, d, db)
    member = GroupMember(process=S3, pdg=(11, -11, 3, -3, 21), permutation=(0, 1, 4, 2, 3))
    rep = GroupMember(process=D3, pdg=(11, -11, 21, 1, -1), permutation=(0, 1, 2, 3, 4))
    group = ReducedGroup(name=D3, pdg=(11, -11, 21, 1, -1), n_in=2, members=(rep, member))
    write_bundle(tmp_path / "b", [(group, model_file, {})], snippet=False)
    bundle = Bundle.load(tmp_path / "b")
    order = [0, 1, 3, 4, 2]  # member order: e-, e+, s (was d), sb (was db), g
    batch = EventBatch(momenta=d3.momenta[:, order], pdg=np.array(member.pdg), weight=d3.weight, process=S3)
    want = OnnxSurrogate(model_file).predict(d3.momenta)[0]
    np.testing.assert_array_equal(bundle.predict(batch)[0], want)
    # without a process name, a non-canonical batch is put into canonical order first
    unnamed = EventBatch(momenta=d3.momenta[:, order], pdg=np.array([11, -11, 1, -1, 21]), weight=d3.weight)
    np.testing.assert_array_equal(bundle.predict(unnamed)[0], want)
    # a wrong permutation would give a different answer (the test can fail)
    assert not np.array_equal(OnnxSurrogate(model_file).predict(batch.momenta)[0], want)


def test_flavour_equivalent_channel_outside_the_training_data(bundle_dir: Path, d3: EventBatch) -> None:
    """e+e- → b b̄ g was not trained on, but Comix maps it onto d d̄ g (massless, same couplings)."""
    bundle = Bundle.load(bundle_dir)
    b3 = "2_3__e-__e+__G__b__bb"
    assert b3 not in bundle.processes and bundle.covers(b3)
    batch = d3.with_columns(pdg=np.array([11, -11, 21, 5, -5]), process=b3)
    np.testing.assert_array_equal(bundle.predict(batch)[0], bundle.predict(d3)[0])
    sess, member = bundle.surrogate_for(b3)
    assert sess.process == D3 and member.process == b3 and member.permutation == (0, 1, 2, 3, 4)
    # an up-type quark couples differently to the Z: another group, not covered
    assert not bundle.covers("2_3__e-__e+__G__u__ub") and not bundle.covers("not a process")


def test_unknown_process_names_nearest(bundle_dir: Path) -> None:
    bundle = Bundle.load(bundle_dir)
    with pytest.raises(KeyError, match="nearest"):
        bundle.surrogate_for("2_3__e-__e+__G__u__ub")


def test_tampered_model_is_refused(bundle_dir: Path) -> None:
    model = bundle_dir / f"models/{D3}.onnx"
    data = bytearray(model.read_bytes())
    data[-1] ^= 0x01
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256"):
        Bundle.load(bundle_dir)


def test_model_of_another_process_is_refused(bundle_dir: Path, model_file: Path) -> None:
    # a manifest entry that claims the model serves u ub g: sha256 matches, the ONNX contract does not
    manifest = json.loads((bundle_dir / MANIFEST).read_text())
    entry = manifest["groups"][0]
    entry["name"] = "2_3__e-__e+__G__u__ub"
    entry["pdg"] = [11, -11, 21, 2, -2]
    entry["members"] = [{"process": "2_3__e-__e+__G__u__ub", "pdg": [11, -11, 21, 2, -2],
                         "permutation": [0, 1, 2, 3, 4]}]
    manifest["integrity"] = {"sha256": manifest_digest(manifest)}  # reseal: only the contract is under test
    (bundle_dir / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="not for the requested"):
        Bundle.load(bundle_dir)


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        Bundle.load(tmp_path)


def test_failed_write_keeps_the_old_bundle(bundle_dir: Path, group: ReducedGroup, tmp_path: Path) -> None:
    before = (bundle_dir / MANIFEST).read_bytes()
    with pytest.raises(FileNotFoundError):
        write_bundle(bundle_dir, [(group, tmp_path / "missing.onnx", {})], snippet=False)
    assert (bundle_dir / MANIFEST).read_bytes() == before
    Bundle.load(bundle_dir)


def test_record_validation(bundle_dir: Path) -> None:
    record_validation(bundle_dir, {"f_eff": 3.5, "eps_1": 0.1}, {D3: {"eps_2": 0.9}})
    bundle = Bundle.load(bundle_dir)
    assert bundle.manifest["validation"] == {"f_eff": 3.5, "eps_1": 0.1}
    assert bundle.entries[0].validation == {"eps_2": 0.9}
    assert bundle.entries[0].train == {"val_frac_within_1pct": 0.5}
    with pytest.raises(BundleError, match="no group"):
        record_validation(bundle_dir, {}, {"2_3__e-__e+__G__u__ub": {}})


@pytest.mark.parametrize(
    ("record", "beta"),
    [
        ({"best_beta": 0.8, "beta": 0.7}, 0.7),  # today's record: the chosen β, not the scan's argmax
        ({"best_beta": 0.8}, 0.8),  # a bundle written before the tolerance rule: its argmax was the choice
        (None, None),  # e+e- groups record none
    ],
)
def test_recorded_stage1_temper(
    tmp_path: Path, group: ReducedGroup, model_file: Path, record: dict[str, float] | None, beta: float | None
) -> None:
    out = tmp_path / "bundle"
    write_bundle(out, [(group, model_file, {"stage1_temper": record})], snippet=False)
    bundle = Bundle.load(out)
    assert bundle.stage1_temper(D3) == beta and bundle.stage1_temper(S3) == beta
