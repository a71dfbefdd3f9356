"""fame-onnx/1 export: ONNX Runtime and onnx.reference reproduce torch; the loader enforces the contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx.reference import ReferenceEvaluator

from fame_surrogate.config import TrainConfig
from fame_surrogate.export import SMALL_BATCH_MAX, export_onnx, small_batch_graph
from fame_surrogate.models import net_dtype
from fame_surrogate.onnx_meta import CONTRACT, ContractError, OnnxMetadata
from fame_surrogate.onnx_parity import parity_tolerance
from fame_surrogate.onnx_session import OnnxSurrogate
from fame_surrogate.train import TrainResult, train_surrogate
from lhe_tools import EventBatch, read_dump

TINY = TrainConfig(hidden=(16, 16), epochs=3, batch_size=64, replicas=2, val_fraction=0.25)
MEMBERS = [{"process": "2_3__e-__e+__G__d__db"}, {"process": "2_3__e-__e+__G__s__sb"}]


@pytest.fixture(scope="module")
def batch3(sherpa_ee: Path) -> EventBatch:
    return read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(np.arange(300))


@pytest.fixture(scope="module", params=["dipole", "mlp"])
def exported(
    request: pytest.FixtureRequest, batch3: EventBatch, tmp_path_factory: pytest.TempPathFactory
) -> tuple[TrainResult, Path]:
    import dataclasses

    res = train_surrogate(batch3, dataclasses.replace(TINY, model=request.param))
    path = tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx"
    meta = {
        "process": batch3.process,
        "members": MEMBERS,
        "sqrt_s": 1000.0,
        "cuts": {"y_cut": 0.01},
        "train": res.metrics.to_json(),
    }
    export_onnx(res.model, path, meta)
    return res, path


def _torch(res: TrainResult, momenta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        me2, std = res.model(torch.from_numpy(momenta))
    return me2.numpy(), std.numpy()


def test_onnx_runtime_matches_torch_on_every_point(
    exported: tuple[TrainResult, Path], batch3: EventBatch
) -> None:
    res, path = exported
    sur = OnnxSurrogate(path, expected_process=batch3.process)
    me2, std = sur.predict(batch3.momenta)
    want, want_std = _torch(res, batch3.momenta)
    assert me2.dtype == np.float64 and std.dtype == np.float64
    np.testing.assert_allclose(me2, want, rtol=1e-6, atol=0.0)
    # with a float64 network the graph is float64 throughout: any float32 constant (an exporter folding
    # c_scale · 1/2 into a float32 initialiser once cost 1.3e-8) shows up far above rounding
    assert net_dtype(res.model.members[0].net) == torch.float64
    np.testing.assert_allclose(me2, want, rtol=1e-12, atol=0.0)
    np.testing.assert_allclose(std, want_std, rtol=1e-6, atol=1e-6 * np.abs(want).max())
    assert (std > 0).all()  # two replicas really differ
    # batch 1 and a 100k batch (rows repeated) give the same numbers
    one, _ = sur.predict(batch3.momenta[7:8])
    np.testing.assert_allclose(one, want[7:8], rtol=1e-6, atol=0.0)
    big = np.tile(batch3.momenta, (334, 1, 1))[:100_000]
    got_big, _ = sur.predict(big, chunk=100_000)
    np.testing.assert_allclose(got_big, np.tile(want, 334)[:100_000], rtol=1e-6, atol=0.0)


def test_float32_network_export(batch3: EventBatch, tmp_path: Path) -> None:
    import copy
    import dataclasses

    res = train_surrogate(batch3, dataclasses.replace(TINY, net_dtype="float32"))
    member = res.model.members[0]
    assert member.net[0].weight.dtype == torch.float32 and member.skip_weight.dtype == torch.float64
    path = export_onnx(res.model, tmp_path / "f32.onnx", {"process": batch3.process})
    graphs = [onnx.load(str(path)).graph]
    for g in list(graphs):  # the batch-size branches (export_onnx: an If on the batch size)
        for node in g.node:
            graphs += [a.g for a in node.attribute if a.type == onnx.AttributeProto.GRAPH]
    assert len(graphs) == 3
    for graph in graphs[1:]:
        gemm_weights = {n.input[1] for n in graph.node if n.op_type == "Gemm"}
        kinds = {i.data_type for i in graph.initializer if i.name in gemm_weights}
        assert kinds == {onnx.TensorProto.FLOAT}  # the network really runs in float32 in both branches
    me2, _ = OnnxSurrogate(path).predict(batch3.momenta)
    want, _ = _torch(res, batch3.momenta)
    np.testing.assert_allclose(me2, want, rtol=parity_tolerance(res.model), atol=0.0)
    # the same weights in float64 give the same |M|^2 to float32 rounding
    wide = copy.deepcopy(res.model)
    for m in wide.members:
        m.net.to(torch.float64)
    with torch.no_grad():
        exact = wide(torch.from_numpy(batch3.momenta))[0].numpy()
    np.testing.assert_allclose(me2, exact, rtol=1e-5, atol=0.0)
    assert parity_tolerance(wide) == 1e-6 < parity_tolerance(res.model)


def test_reference_evaluator_agrees(exported: tuple[TrainResult, Path], batch3: EventBatch) -> None:
    res, path = exported
    ref = ReferenceEvaluator(str(path))
    pts = batch3.momenta[:3]
    me2, std = ref.run(None, {"momenta": pts})
    want, want_std = _torch(res, pts)
    np.testing.assert_allclose(me2, want, rtol=1e-6, atol=0.0)
    np.testing.assert_allclose(std, want_std, rtol=1e-6, atol=1e-6 * np.abs(want).max())


def test_graph_and_metadata_follow_the_contract(
    exported: tuple[TrainResult, Path], batch3: EventBatch
) -> None:
    res, path = exported
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx")) >= 17
    (inp,) = model.graph.input
    assert inp.name == "momenta" and inp.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim][1:] == [5, 4]
    assert [o.name for o in model.graph.output] == ["me2", "me2_std"]
    props = {p.key: p.value for p in model.metadata_props}
    assert props["fame.contract"] == CONTRACT == "fame-onnx/1"
    expected_keys = {"contract", "process", "members", "pdg", "sqrt_s", "cuts", "model", "replicas", "train"}
    assert {f"fame.{k}" for k in expected_keys | {"version"}} <= set(props)
    assert json.loads(props["fame.pdg"]) == [11, -11, 21, 1, -1]
    sur = OnnxSurrogate(path)
    assert sur.process == batch3.process and sur.n_particles == 5
    assert sur.kind == res.model.kind and sur.metadata.replicas == 2
    assert sur.metadata.sqrt_s == 1000.0 and sur.metadata.cuts == {"y_cut": 0.01}
    assert sur.metadata.train["n_train"] == res.metrics.n_train
    assert sur.members == [m["process"] for m in MEMBERS]
    # the typed metadata writes back the file's metadata_props exactly
    assert OnnxMetadata.from_props(props, str(path)).to_props() == props
    assert sur.metadata.to_json()["members"] == MEMBERS


def _tampered(path: Path, out: Path, metadata: dict[str, str], n_particles: int | None = None) -> Path:
    """A copy of the ONNX file ``path`` at ``out`` with ``metadata`` values replaced (and the second
    dimension of its input set to ``n_particles``)."""
    model = onnx.load(str(path))
    if n_particles is not None:
        model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = n_particles
    for p in model.metadata_props:
        if p.key in metadata:
            p.value = metadata[p.key]
    onnx.save(model, str(out))
    return out


def test_loader_refuses_wrong_process_shape_and_contract(
    exported: tuple[TrainResult, Path], tmp_path: Path
) -> None:
    _, path = exported
    # a member of the group is accepted, another process is refused with both names in the message
    OnnxSurrogate(path, expected_process="2_3__e-__e+__G__s__sb")
    with pytest.raises(ContractError, match=r"2_3__e-__e\+__G__d__db.*not for the requested '2_4__e-__e\+"):
        OnnxSurrogate(path, expected_process="2_4__e-__e+__G__G__d__db")
    sur = OnnxSurrogate(path)
    with pytest.raises(ValueError, match=r"shape \(2, 6, 4\), expected \(N, 5, 4\)"):
        sur.predict(np.zeros((2, 6, 4)))
    # a tampered contract string
    bad = _tampered(path, tmp_path / "bad.onnx", {"fame.contract": "fame-onnx/0"})
    with pytest.raises(ContractError, match=r"fame-onnx/0.*expected 'fame-onnx/1'"):
        OnnxSurrogate(bad)
    # a graph whose input does not fit the pdg list
    wrong = _tampered(path, tmp_path / "wrong.onnx", {"fame.pdg": "[11, -11, 21, 1, -1]"}, n_particles=6)
    with pytest.raises(ContractError, match=r"shape .*6, 4\], expected \[batch, 5, 4\]"):
        OnnxSurrogate(wrong)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx file")
    with pytest.raises(ContractError, match="cannot load"):
        OnnxSurrogate(junk)


def test_failed_export_writes_nothing(exported: tuple[TrainResult, Path], tmp_path: Path) -> None:
    res, _ = exported
    out = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match="process"):
        export_onnx(res.model, out, {"sqrt_s": 1000.0})
    with pytest.raises(ContractError, match="pdg"):
        export_onnx(res.model, out, {"process": "x", "pdg": [11, -11, 21, 2, -2, 21]})
    assert list(tmp_path.iterdir()) == []



def test_small_batch_graph_is_the_whole_function(
    exported: tuple[TrainResult, Path], batch3: EventBatch
) -> None:
    # the If's small-batch branch as a graph of its own (what OnnxSurrogate runs for per-event calls): the
    # same |M|^2 as torch at every batch size, and OnnxSurrogate's small-batch calls equal its large ones
    import onnxruntime as ort

    res, path = exported
    proto = onnx.load(str(path))
    small = small_batch_graph(proto)
    assert small is not None
    onnx.checker.check_model(small, full_check=True)
    assert not any(n.op_type == "If" for n in small.graph.node)
    assert {p.key: p.value for p in small.metadata_props} == {p.key: p.value for p in proto.metadata_props}
    sess = ort.InferenceSession(small.SerializeToString(), providers=["CPUExecutionProvider"])
    want, _ = _torch(res, batch3.momenta)
    for batch in (1, SMALL_BATCH_MAX, 300):
        pts = batch3.momenta[:batch]
        me2, std = sess.run(None, {"momenta": pts})
        with torch.no_grad():  # torch's own branch for this batch size
            ref, ref_std = res.model(torch.from_numpy(pts))
        np.testing.assert_allclose(me2, ref.numpy(), rtol=1e-12, atol=0.0)
        np.testing.assert_allclose(std, ref_std.numpy(), rtol=1e-9, atol=1e-12 * np.abs(ref.numpy()).max())
        np.testing.assert_allclose(me2, want[:batch], rtol=1e-9, atol=0.0)  # and the other branch
    sur = OnnxSurrogate(path)
    assert sur.small_batch_session is not None
    one = np.concatenate([sur.predict(batch3.momenta[i : i + 1])[0] for i in range(40)])
    np.testing.assert_allclose(one, want[:40], rtol=1e-9, atol=0.0)
    # a graph without the batch-size If (e.g. the large-batch branch alone) has no small-batch graph
    assert small_batch_graph(small) is None
