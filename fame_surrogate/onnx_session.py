"""ONNX Runtime sessions of ``fame-onnx/1`` graphs (SPEC §3.4).

:class:`OnnxSurrogate` loads a graph written by :func:`~fame_surrogate.export.export_onnx`, checks it against
the contract and evaluates it (the small-batch branch, :func:`~fame_surrogate.export.small_batch_graph`, as a
session of its own); :func:`session_options` are the settings suited to per-event calls.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort

from .export import SMALL_BATCH_MAX, small_batch_graph
from .onnx_meta import ContractError, OnnxMetadata

__all__ = ["OnnxSurrogate", "session_options"]

F8 = npt.NDArray[np.float64]


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
        if (
            expected_process is not None
            and expected_process != self.process
            and (expected_process not in self.members)
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
