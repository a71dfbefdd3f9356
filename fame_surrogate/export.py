"""ONNX export by the ``fame-onnx/1`` contract (SPEC §3.4): tracing, the batch-size branches, writing.

One graph from raw momenta to ``me2`` and ``me2_std``: input ``momenta`` float64 ``[batch, n, 4]``, outputs
float64 ``[batch]``; features, dipoles, φ terms, coefficient network and the sum over dipoles are all inside
the graph.  ``metadata_props`` carry ``fame.contract``, ``fame.process``, ``fame.members``, ``fame.pdg``,
``fame.sqrt_s``, ``fame.cuts``, ``fame.model``, ``fame.replicas``, ``fame.train``, ``fame.version``
(:class:`~fame_surrogate.onnx_meta.OnnxMetadata`).

The graph is written only after ONNX Runtime has reproduced torch (:mod:`fame_surrogate.onnx_parity`); it is
loaded by :class:`~fame_surrogate.onnx_session.OnnxSurrogate`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Mapping
from copy import deepcopy
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import torch
from torch import Tensor, nn

from lhe_tools import atomic_path

from .models import FUSED_BATCH_MAX, Ensemble, Surrogate
from .onnx_meta import OnnxMetadata
from .onnx_parity import check_parity, example_momenta

__all__ = ["DEFAULT_OPSET", "SMALL_BATCH_MAX", "export_onnx", "small_batch_graph"]

#: opset of the exported graphs (the contract requires >= 17)
DEFAULT_OPSET = 18


class _Graph(nn.Module):
    """The exported function: momenta -> (me2, me2_std)."""

    def __init__(self, model: Surrogate | Ensemble) -> None:
        super().__init__()
        self.model = model

    def forward(self, momenta: Tensor) -> tuple[Tensor, Tensor]:
        me2, std = self.model(momenta)
        return me2, std


def _trace(model: Surrogate | Ensemble, example: Tensor, opset: int, dynamo: bool) -> onnx.ModelProto:
    """The ONNX graph of ``model.for_export()``: evaluation mode (the ONNX form of every operation) with
    the export-time rewrites; ``forward`` itself has no export branch."""
    graph = _Graph(model.for_export()).eval()
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporter chatter (TracerWarning, deprecation notes) is not ours
        if dynamo:
            batch = torch.export.Dim("batch", min=1)
            quiet = logging.getLogger("torch.onnx")
            level = quiet.level
            quiet.setLevel(logging.ERROR)
            with contextlib.redirect_stdout(io.StringIO()):
                prog = torch.onnx.export(
                    graph,
                    (example,),
                    input_names=["momenta"],
                    output_names=["me2", "me2_std"],
                    opset_version=opset,
                    dynamo=True,
                    dynamic_shapes=({0: batch},),
                    optimize=True,
                    verbose=False,
                )
            quiet.setLevel(level)
            if prog is None:
                raise RuntimeError("the dynamo ONNX exporter returned no program")
            return prog.model_proto
        torch.onnx.export(
            graph,
            (example,),
            buf,  # type: ignore[arg-type]
            input_names=["momenta"],
            output_names=["me2", "me2_std"],
            opset_version=opset,
            dynamo=False,
            dynamic_axes={"momenta": {0: "batch"}, "me2": {0: "batch"}, "me2_std": {0: "batch"}},
        )
    return onnx.load_from_string(buf.getvalue())


#: batches up to this size take the fused branch of the exported graph (fewest nodes), larger ones the
#: batched branch (fewest bytes per point); see :func:`_batch_branches`.  The torch models branch the same
#: way (``models.FUSED_BATCH_MAX``).
SMALL_BATCH_MAX = FUSED_BATCH_MAX


def _unfused_copy(model: Surrogate | Ensemble) -> Surrogate | Ensemble:
    """A copy of ``model`` that evaluates through FeatureMap and DipoleBasis (no FusedInputs)."""
    copy = deepcopy(model)
    for m in copy.member_models():
        m.fused = None
    return copy


def _as_branch(proto: onnx.ModelProto, prefix: str) -> onnx.GraphProto:
    """``proto``'s graph as an If branch: every name but the input ``momenta`` prefixed, ``Constant`` nodes
    as initializers (ONNX Runtime would run them on every call inside a branch), no graph inputs (the
    branch reads ``momenta`` from the enclosing graph), outputs ``prefix + me2`` and ``prefix + me2_std``."""

    def name(x: str) -> str:
        return x if x in ("", "momenta") else prefix + x

    graph = deepcopy(proto.graph)
    kept = []
    for node in graph.node:
        value = [a for a in node.attribute if a.name == "value"]
        if node.op_type == "Constant" and len(node.attribute) == 1 and value:
            tensor = deepcopy(value[0].t)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    for node in graph.node:
        node.name = prefix + node.name
        node.input[:] = [name(x) for x in node.input]
        node.output[:] = [name(x) for x in node.output]
    for init in graph.initializer:
        init.name = name(init.name)
    for out in graph.output:
        out.name = name(out.name)
    del graph.input[:]
    del graph.value_info[:]
    graph.name = prefix.strip("_") or "branch"
    return graph


def _batch_branches(small: onnx.ModelProto, large: onnx.ModelProto, n: int) -> onnx.ModelProto:
    """One ``fame-onnx/1`` graph that runs ``small`` for batches up to :data:`SMALL_BATCH_MAX` and ``large``
    above (an ONNX ``If`` on the batch size; both compute the same function up to rounding).

    ONNX Runtime pays ≈ 0.3–0.5 µs per executed node at batch 1, and the fused form of the inputs
    (:class:`~fame_surrogate._fused.FusedInputs`) executes 60–80% fewer nodes (68 against 163 at e+e- → 5
    jets, 89 against 403 at Z+4); its stacked intermediates and constant-matrix products carry more bytes
    and multiply-adds per point, which costs at batch ≳ 64–128, where the per-family form is faster.  The
    ``If`` costs ≈ 6–10 µs per call at batch 1 (its branch's execution frame), which
    :func:`small_batch_graph` avoids for per-event hosts.
    """
    helper = onnx.helper
    momenta = helper.make_tensor_value_info("momenta", onnx.TensorProto.DOUBLE, ["batch", n, 4])
    outputs = [
        helper.make_tensor_value_info(o, onnx.TensorProto.DOUBLE, ["batch"]) for o in ("me2", "me2_std")
    ]
    limit = onnx.numpy_helper.from_array(np.array([SMALL_BATCH_MAX], dtype=np.int64), "small_batch_max")
    nodes = [
        helper.make_node("Shape", ["momenta"], ["batch_size"], start=0, end=1),
        helper.make_node("LessOrEqual", ["batch_size", "small_batch_max"], ["is_small"]),
        helper.make_node(
            "If",
            ["is_small"],
            ["me2", "me2_std"],
            then_branch=_as_branch(small, "small_"),
            else_branch=_as_branch(large, "large_"),
        ),
    ]
    graph = helper.make_graph(nodes, "fame", [momenta], outputs, initializer=[limit])
    out = helper.make_model(graph, opset_imports=list(small.opset_import))
    out.ir_version = small.ir_version
    return out


def small_batch_graph(proto: onnx.ModelProto) -> onnx.ModelProto | None:
    """The small-batch branch of an exported graph as a model of its own (None for a graph without the
    batch-size ``If`` of :func:`_batch_branches`).

    The branch computes the whole ``fame-onnx/1`` function at every batch size (it is only slower per point
    than the large-batch branch above ~64 points), so a host that calls the surrogate once per event can
    run it directly and save the ``If``: ≈ 6–10 µs of a batch-1 call on this machine, where ONNX Runtime
    sets up the branch's execution frame on every call (``benchmarks/bench_inference.py``).
    :class:`~fame_surrogate.onnx_session.OnnxSurrogate` does so for batches up to :data:`SMALL_BATCH_MAX`.
    The input, the outputs and the ``metadata_props`` are those of ``proto``.
    """
    ifs = [n for n in proto.graph.node if n.op_type == "If"]
    if len(ifs) != 1 or [o.name for o in proto.graph.output] != ["me2", "me2_std"]:
        return None
    branch = next((a.g for a in ifs[0].attribute if a.name == "then_branch"), None)
    if branch is None or len(branch.output) != 2:
        return None
    rename = {branch.output[0].name: "me2", branch.output[1].name: "me2_std"}
    nodes = []
    for node in branch.node:
        node = deepcopy(node)
        node.input[:] = [rename.get(x, x) for x in node.input]
        node.output[:] = [rename.get(x, x) for x in node.output]
        nodes.append(node)
    graph = onnx.helper.make_graph(
        nodes,
        "fame_small_batch",
        list(proto.graph.input),
        list(proto.graph.output),
        initializer=list(branch.initializer),
    )
    out = onnx.helper.make_model(graph, opset_imports=list(proto.opset_import))
    out.ir_version = proto.ir_version
    out.doc_string = proto.doc_string
    out.metadata_props.extend(proto.metadata_props)
    return out


def export_onnx(
    model: Surrogate | Ensemble,
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any],
    *,
    opset: int = DEFAULT_OPSET,
    dynamo: bool = False,
    check_points: npt.ArrayLike | None = None,
) -> Path:
    """Write ``model`` as one ONNX graph following ``fame-onnx/1`` (atomically).

    A model with :class:`~fame_surrogate._fused.FusedInputs` (the default) is written as an ``If`` on the
    batch size: batches up to :data:`SMALL_BATCH_MAX` (a generator's per-event calls) run the fused form,
    which has the fewest nodes, larger ones the per-family form, which moves the fewest bytes per point
    (:func:`_batch_branches`); the parity check covers both.

    Parameters
    ----------
    model : Surrogate or Ensemble
        Trained surrogate with ``pdg``, ``n_in``, ``kind`` attributes (float64; its networks float64 or
        float32, see ``TrainConfig.net_dtype``).
    path : path
        Output ``.onnx`` file.
    metadata : mapping
        Keys of SPEC §3.4 without the ``fame.`` prefix: ``process`` (required), ``members`` (list),
        ``pdg`` (defaults to the model's), ``sqrt_s``, ``cuts`` (dict), ``train`` (dict).  ``model``,
        ``replicas``, ``contract`` and ``version`` are filled in from the model and the package
        (:meth:`~fame_surrogate.onnx_meta.OnnxMetadata.for_export`).
    opset : int
        ONNX opset (>= 17).
    dynamo : bool
        Use the torch.export-based exporter instead of the TorchScript tracer (benchmarks/bench_inference.py).
    check_points : array_like (N, n, 4), optional
        Points at which ONNX Runtime must reproduce torch to
        :func:`~fame_surrogate.onnx_parity.parity_tolerance` (1e-6 relative for float64 networks) before
        the file is written (default: 16 RAMBO points at √s = 1000 GeV, on the model's mass shells).
        Points where torch's |M|² is not finite are not compared; if none is finite, the export fails.

    Returns
    -------
    Path
        ``path``.
    """
    if opset < 17:
        raise ValueError(f"opset {opset} requested; fame-onnx/1 requires opset >= 17")
    meta = OnnxMetadata.for_export(metadata, pdg=model.pdg, model=model.kind, replicas=model.replicas)
    model = model.eval()
    n = len(meta.pdg)
    proto = _trace(model, example_momenta(n), opset, dynamo)
    fused = any(m.fused is not None for m in model.member_models())
    if fused and not dynamo:
        proto = _batch_branches(proto, _trace(_unfused_copy(model), example_momenta(n), opset, dynamo), n)
    proto.doc_string = f"fame surrogate ({meta.model}, {meta.replicas} replica(s)) for {meta.process}"
    del proto.metadata_props[:]
    for key, value in meta.to_props().items():
        entry = proto.metadata_props.add()
        entry.key = key
        entry.value = value
    onnx.checker.check_model(proto, full_check=True)

    pts = example_momenta(n, 16, model.member_models()[0].masses)
    if check_points is not None:
        pts = torch.as_tensor(check_points, dtype=torch.float64)
    check_parity(model, proto, pts, SMALL_BATCH_MAX)
    path = Path(path)
    with atomic_path(path, suffix=".onnx") as tmp:
        onnx.save(proto, str(tmp))
    return path
