"""ONNX export and loading by the ``fame-onnx/1`` contract (SPEC §3.4).

One graph from raw momenta to ``me2`` and ``me2_std``: input ``momenta`` float64 ``[batch, n, 4]``, outputs
float64 ``[batch]``; features, dipoles, φ terms, coefficient network and the sum over dipoles are all inside
the graph.  ``metadata_props`` carry ``fame.contract``, ``fame.process``, ``fame.members``, ``fame.pdg``,
``fame.sqrt_s``, ``fame.cuts``, ``fame.model``, ``fame.replicas``, ``fame.train``, ``fame.version``
(:class:`~fame_surrogate.onnx_meta.OnnxMetadata`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from copy import deepcopy
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import torch
from torch import Tensor, nn

from lhe_tools import atomic_path

from .models import FUSED_BATCH_MAX, Ensemble, Surrogate, net_dtype
from .onnx_meta import ContractError, OnnxMetadata

__all__ = [
    "DEFAULT_OPSET",
    "OnnxSurrogate",
    "export_onnx",
    "parity_tolerance",
    "session_options",
    "small_batch_graph",
]

#: opset of the exported graphs (the contract requires >= 17)
DEFAULT_OPSET = 18

F8 = npt.NDArray[np.float64]


class _Graph(nn.Module):
    """The exported function: momenta -> (me2, me2_std)."""

    def __init__(self, model: Surrogate | Ensemble) -> None:
        super().__init__()
        self.model = model

    def forward(self, momenta: Tensor) -> tuple[Tensor, Tensor]:
        me2, std = self.model(momenta)
        return me2, std


def _example_momenta(n: int, batch: int = 4, masses: Sequence[float] | None = None) -> Tensor:
    """Momentum-conserving example points at √s = 1000 GeV (tracing, and the export's parity check).

    The final state is RAMBO's, its 3-momenta rescaled by the ξ with Σ_i √(m_i² + ξ²|p⃗_i|²) = √s where the
    process has massive final-state particles (``masses``, per particle: tt̄ + jets), so the points are on
    the model's mass shells and its massive features finite.
    """
    from .phasespace import rambo

    rng = np.random.default_rng(12345)
    final = rambo(n - 2, 1000.0, batch, rng)
    m = np.zeros(n - 2) if masses is None else np.asarray(masses[2:], dtype=np.float64)
    if np.any(m > 0):
        p2 = np.sum(final[..., 1:] ** 2, axis=-1)
        xi = np.ones(batch)
        for _ in range(50):  # Newton's method; converges in a few steps from ξ = 1
            e = np.sqrt(m**2 + xi[:, None] ** 2 * p2)
            xi = xi - (e.sum(1) - 1000.0) / (xi[:, None] * p2 / e).sum(1)
        final[..., 1:] *= xi[:, None, None]
        final[..., 0] = np.sqrt(m**2 + xi[:, None] ** 2 * p2)
    beams = np.zeros((batch, 2, 4))
    beams[:, 0] = [500.0, 0.0, 0.0, 500.0]
    beams[:, 1] = [500.0, 0.0, 0.0, -500.0]
    return torch.from_numpy(np.concatenate([beams, final], axis=1))


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
    :class:`OnnxSurrogate` does so for batches up to :data:`SMALL_BATCH_MAX`.  The input, the outputs and
    the ``metadata_props`` are those of ``proto``.
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


def parity_tolerance(model: Surrogate | Ensemble) -> float:
    """Largest relative |me2| deviation of ONNX Runtime from torch that an export accepts.

    1e-6 for float64 networks (they agree to ≈ 1e-15).  A float32 network (``TrainConfig.net_dtype``) is
    defined only to float32 rounding: torch's and ONNX Runtime's float32 matmul kernels sum in different
    orders, which moves the network outputs by ~1e-7 relative and |M|^2 by up to ~1e-6 (1.1e-6 at most,
    7e-7 at the 99.9% quantile, on 20k held-out points of trained 4- and 5-jet models), so 1e-5 is
    accepted there.
    """
    nets = [m.net for m in model.member_models()]
    return 1e-6 if all(net_dtype(n) == torch.float64 for n in nets) else 1e-5


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
        Points at which ONNX Runtime must reproduce torch to :func:`parity_tolerance` (1e-6 relative for
        float64 networks) before the file is written (default: 16 RAMBO points at √s = 1000 GeV, on the
        model's mass shells).  Points where torch's |M|² is not finite are not compared; if none is finite,
        the export fails.

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
    proto = _trace(model, _example_momenta(n), opset, dynamo)
    fused = any(m.fused is not None for m in model.member_models())
    if fused and not dynamo:
        proto = _batch_branches(proto, _trace(_unfused_copy(model), _example_momenta(n), opset, dynamo), n)
    proto.doc_string = f"fame surrogate ({meta.model}, {meta.replicas} replica(s)) for {meta.process}"
    del proto.metadata_props[:]
    for key, value in meta.to_props().items():
        entry = proto.metadata_props.add()
        entry.key = key
        entry.value = value
    onnx.checker.check_model(proto, full_check=True)

    pts = _example_momenta(n, 16, model.member_models()[0].features.masses)
    if check_points is not None:
        pts = torch.as_tensor(check_points, dtype=torch.float64)
    # every point once in a batch larger than SMALL_BATCH_MAX (the points repeated where there are fewer)
    # and once alone: both branches of the graph
    big = pts.repeat(-(-(SMALL_BATCH_MAX + 1) // len(pts)), 1, 1) if len(pts) else pts
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = np.concatenate(
        [sess.run(["me2"], {"momenta": big.numpy()})[0]]
        + [sess.run(["me2"], {"momenta": pts[i : i + 1].numpy()})[0] for i in range(min(len(pts), 16))]
    )
    with torch.no_grad():
        want = np.concatenate(
            [model(big)[0].numpy()] + [model(pts[i : i + 1])[0].numpy() for i in range(min(len(pts), 16))]
        )
    ok = np.isfinite(want)
    if len(pts) and not ok.any():  # a check that compares nothing must not pass
        raise ContractError(
            "torch gives no finite |M|^2 at any export check point (momenta off the model's mass shells "
            f"{model.member_models()[0].features.masses}?); the graph is not written"
        )
    dev = np.abs(got[ok] / want[ok] - 1.0) if ok.any() else np.zeros(0)
    tol = parity_tolerance(model)
    if dev.size and not float(dev.max()) <= tol:
        raise ContractError(
            f"ONNX Runtime disagrees with torch by {float(dev.max()):.3g} (relative) on the export check "
            f"points, more than {tol:g}; the graph is not written"
        )
    path = Path(path)
    with atomic_path(path, suffix=".onnx") as tmp:
        onnx.save(proto, str(tmp))
    return path


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """ONNX Runtime session options for a ``fame-onnx/1`` graph, suited to per-event (batch-1) calls.

    What a C++ host should set too (``Ort::SessionOptions`` has the same fields):

    * ``graph_optimization_level = ORT_ENABLE_ALL``: constant folding, Gather/Slice → Split fusions and the
      float32 network's SiLU fusion (``QuickGelu``); at batch 1 the cost of a call is ≈ 0.4 µs per executed
      node, so every removed node counts;
    * ``execution_mode = ORT_SEQUENTIAL``: the graph is one chain, a parallel executor has nothing to overlap
      and costs per node;
    * ``intra_op_num_threads = threads`` and ``inter_op_num_threads = 1``: a generator that calls the
      surrogate once per phase-space point runs it on its own thread (``threads=1``); more threads pay only
      at batch ≳ 1k;
    * ``session.intra_op.allow_spinning = 0`` with one thread (there is no worker thread to spin; with
      several, a host that calls at batch 1 between long stretches of its own work should also set it to
      0 so idle ONNX Runtime workers do not burn its cores);
    * ``enable_mem_pattern`` and the CPU memory arena on (defaults): every call at a given batch size reuses
      the same buffers.

    Parameters
    ----------
    threads : int, optional
        Intra-op threads (default: ONNX Runtime's choice, all cores).
    """
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.enable_mem_pattern = True
    opts.enable_cpu_mem_arena = True
    if threads is not None:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
        if int(threads) == 1:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


class OnnxSurrogate:
    """A ``fame-onnx/1`` model in ONNX Runtime, contract-checked at load.

    Parameters
    ----------
    path : path
        The ``.onnx`` file.
    expected_process : str, optional
        Refuse (:class:`ContractError`) a model whose ``fame.process`` and ``fame.members`` do not include it.
    threads : int, optional
        ONNX Runtime intra-op threads (default: ONNX Runtime's choice).

    Attributes
    ----------
    metadata : OnnxMetadata
        The parsed ``fame.*`` metadata.
    process : str
        Representative process name.
    pdg : list of int
        Particle content in the model's order.
    n_particles : int
        Second dimension of the ``momenta`` input.
    session : onnxruntime.InferenceSession
        The whole graph (every batch size).
    small_batch_session : onnxruntime.InferenceSession or None
        :func:`small_batch_graph` of the file, which :meth:`predict` runs for up to
        :data:`SMALL_BATCH_MAX` points (None for a graph without the batch-size ``If``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        expected_process: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.path = Path(path)
        where = str(self.path)
        if not self.path.is_file():
            raise FileNotFoundError(f"ONNX model {where} does not exist")
        self.session_options = session_options(threads)
        opts = self.session_options
        try:
            self.session = ort.InferenceSession(where, sess_options=opts, providers=["CPUExecutionProvider"])
            # batches up to SMALL_BATCH_MAX (a generator's per-event calls) run the small-batch branch as a
            # graph of its own: the same function without the If's per-call cost (small_batch_graph)
            small = small_batch_graph(onnx.load(where))
            self.small_batch_session: ort.InferenceSession | None = (
                None
                if small is None
                else ort.InferenceSession(
                    small.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"]
                )
            )
        except Exception as err:  # onnxruntime raises its own exception types
            raise ContractError(f"{where}: ONNX Runtime cannot load the file: {err}") from err
        # ONNX Runtime's C++ session under the Python wrapper: its run() skips the wrapper's per-call
        # argument checks (≈ 2 µs of a batch-1 call); the public run() where a version lacks it
        fast = getattr(self.small_batch_session, "_sess", None)
        self._small_run = fast.run if fast is not None and hasattr(fast, "run") else None
        self._run_options = ort.RunOptions()
        self.metadata = OnnxMetadata.from_props(self.session.get_modelmeta().custom_metadata_map, where)
        self.process: str = self.metadata.process
        self.pdg: list[int] = list(self.metadata.pdg)
        self.n_particles = len(self.pdg)
        self.members: list[str] = self.metadata.member_names
        self._check_signature(where)
        self._outputs = ["me2", "me2_std"]
        if expected_process is not None and expected_process != self.process and (
            expected_process not in self.members
        ):
            raise ContractError(
                f"{where}: model is for process {self.process!r} (members {self.members}), "
                f"not for the requested {expected_process!r}"
            )

    def _check_signature(self, where: str) -> None:
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or inputs[0].name != "momenta" or inputs[0].type != "tensor(double)":
            found = [(i.name, i.type) for i in inputs]
            raise ContractError(f"{where}: inputs are {found}, expected one 'momenta' tensor(double)")
        shape = inputs[0].shape
        if len(shape) != 3 or shape[1] != self.n_particles or shape[2] != 4:
            raise ContractError(
                f"{where}: input 'momenta' has shape {shape}, expected [batch, {self.n_particles}, 4] "
                f"for pdg {self.pdg}"
            )
        outputs = {o.name: o for o in self.session.get_outputs()}
        for name in ("me2", "me2_std"):
            out = outputs.get(name)
            if out is None or out.type != "tensor(double)" or len(out.shape) != 1:
                found_out = [(o.name, o.type, o.shape) for o in outputs.values()]
                raise ContractError(
                    f"{where}: outputs are {found_out}, expected 'me2' and 'me2_std' double [batch]"
                )

    @property
    def kind(self) -> str:
        """``"dipole"`` or ``"mlp"``."""
        return self.metadata.model

    def predict(self, momenta: npt.ArrayLike, chunk: int = 1024) -> tuple[F8, F8]:
        """Surrogate |M|^2 and its replica spread.

        Parameters
        ----------
        momenta : array_like, float64, shape (N, n, 4)
            (E, px, py, pz) in GeV, in the model's particle order.
        chunk : int
            Points per ONNX Runtime call.  The graph's intermediate tensors of ~1k points stay in the CPU's
            caches: 100k e+e- → 3/5-jet points took 26–31% less time per point in chunks of 1024 than of
            65536 (``benchmarks/bench_inference.py`` times several chunkings).

        Returns
        -------
        me2, me2_std : ndarray, float64, shape (N,)
        """
        p = np.ascontiguousarray(momenta, dtype=np.float64)
        if p.ndim != 3 or p.shape[1:] != (self.n_particles, 4):
            raise ValueError(
                f"{self.path}: momenta have shape {p.shape}, expected (N, {self.n_particles}, 4) for "
                f"{self.process}"
            )
        if p.shape[0] == 0:
            return np.zeros(0), np.zeros(0)
        chunk = max(1, int(chunk))
        if p.shape[0] <= min(chunk, SMALL_BATCH_MAX) and self.small_batch_session is not None:
            # a generator's per-event call: the small-batch graph, no copies, no concatenation
            if self._small_run is not None:
                a, b = self._small_run(self._outputs, {"momenta": p}, self._run_options)
            else:
                a, b = self.small_batch_session.run(self._outputs, {"momenta": p})
            return a, b
        if p.shape[0] <= chunk:  # one call: no copies, no concatenation
            a, b = self.session.run(self._outputs, {"momenta": p})
            return a, b
        me2, std = [], []
        for start in range(0, p.shape[0], chunk):
            a, b = self.session.run(self._outputs, {"momenta": p[start : start + chunk]})
            me2.append(a)
            std.append(b)
        return np.concatenate(me2), np.concatenate(std)

    def __repr__(self) -> str:
        return f"OnnxSurrogate({str(self.path)!r}, process={self.process!r}, model={self.kind!r})"
