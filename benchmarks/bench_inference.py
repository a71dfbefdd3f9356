"""ONNX Runtime throughput of the exported surrogates vs Sherpa and vs the FLOP-bound limit (SPEC §5).

For e+e- -> 3/4/5 jets (Sherpa reference data, y_cut 0.01) the default surrogate (TrainConfig defaults:
architecture, replicas) is built with its scalers fitted to the data (timings do not depend on the weight
values, so no training is needed), exported with both torch exporters and timed in ONNX Runtime on
``--threads`` threads (default 1, like Sherpa's per-core timing) at batch 1, 8, 64 (a generator that calls the
surrogate per phase-space point, or in small batches), 1k, 10k and 100k.

Reported, as one JSON object on stdout:
* ``us_per_point`` (wall) per batch size and ``points_per_s`` at batch >= 1k (best of the chunkings), and
  ``cpu_us_per_point``, the process CPU time of the same calls (what the surrogate costs whatever else runs
  on this shared machine);
* ``speedup_vs_sherpa`` = Sherpa's ms/point stored in the dump (its CPU time per ME,
  ``me_cpu_ms_per_point``, where recorded, else ``me_ms_per_point``) / surrogate wall time;
* with ``--sherpa N``: Sherpa's ``MatrixElement()`` timed now on N of the same points (median wall and mean
  CPU time per call, ``benchmarks/_sherpa_now.py``), and ``speedup_vs_sherpa_now_wall`` /
  ``speedup_vs_sherpa_now_cpu``: like for like, side by side;
* ``matmul_flops_per_point`` (2·K·N of every Gemm/MatMul with a constant weight), the machine's peak in the
  network's dtype (``TrainConfig.net_dtype``, float64 by default, ``--net-dtype float32`` for the faster
  option; a large numpy matmul on the same number of threads), and ``fraction_of_flop_bound`` = achieved
  matmul GFLOP/s / peak;
* exporter comparison: export seconds, node count, max relative deviation from torch, µs/point at 10k
  (``--exporters torchscript`` skips the dynamo exporter);
* ``nodes``: nodes of the exported graph and of the graph ONNX Runtime executes after its optimisations, by
  op type, per batch-size branch (``small_batch``: batch <= 32, ``large_batch``; the If and the batch-size
  test counted in both), and ``small_batch_session_executed``: the small-batch branch as a graph of its own
  (``export.small_batch_graph``), which ``OnnxSurrogate.predict`` runs for <= 32 points (``us_per_point`` at
  batch 1 is that path); ``ort_batch1_overhead``: ONNX Runtime's cost per call and per node at batch 1 on
  this machine (chains of trivial nodes); ``batch1_profile``: ONNX Runtime's profile of batch-1 calls of
  the small-batch graph (kernel time by op type against the whole run: the rest is per-node work outside
  the kernels);
* ``cpu_us_vs_per_family_graph``: at batch 1, 64 and 1000, the exported graph against the per-family graph
  alone (the graph before the batch-size If), the fused graph alone and the small-batch session's graph,
  timed alternately through ``InferenceSession.run``;
* ``sherpa_now_cpu_over_surrogate_cpu``: per batch size, Sherpa's CPU time per ME over the surrogate's, from
  the same run (with ``--sherpa``); ``load_average_start``/``_end``: the machine's load around the run.

Usage: ``python benchmarks/bench_inference.py [--threads 1] [--jets 3 4 5] [--repeat 3] [--sherpa 2000]
[--dump z4/train/<channel>.npz --model mlp] [--net-dtype float32] [--replicas R] [--symmetry canonical]``
(``--dump``: any fame dump, e.g. Sherpa's pp Z+4-jet channel, timed against the CPU time per ME its meta
records; ``--symmetry canonical``: its models sort the identical particles inside the graph)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--threads", type=int, default=1)
_THREADS = _pre.parse_known_args()[0].threads
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(_THREADS)

import collections  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
from onnx import numpy_helper  # noqa: E402

from fame_surrogate.config import TrainConfig  # noqa: E402
from fame_surrogate.dipoles import coloured_beams  # noqa: E402
from fame_surrogate.export import _trace, _unfused_copy, export_onnx, small_batch_graph  # noqa: E402
from fame_surrogate.models import Ensemble, build_model  # noqa: E402
from fame_surrogate.onnx_parity import example_momenta  # noqa: E402
from fame_surrogate.onnx_session import OnnxSurrogate, session_options  # noqa: E402
from lhe_tools import read_dump  # noqa: E402

SHARED = Path(os.environ.get("FAME_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = SHARED / "data" / "sherpa-ee"
NET_DTYPE = {"float32": torch.float32, "float64": torch.float64}
#: batch sizes of per-event and small-batch hosts (timed with more repeats: each call is short)
SMALL_BATCHES = (1, 8, 64)


def peak_gflops(n: int = 2000, repeat: int = 5, dtype: str = "float64") -> float:
    """Best GFLOP/s of an n×n matmul in numpy in ``dtype`` (BLAS on the configured threads)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, n)).astype(dtype)
    a @ b
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best / 1e9


def _branches(graph: onnx.GraphProto) -> dict[str, onnx.GraphProto]:
    """The batch-size branches of an exported graph (export_onnx: an If on the batch size), else itself."""
    for node in graph.node:
        if node.op_type == "If":
            return {
                ("small_batch" if a.name == "then_branch" else "large_batch"): a.g
                for a in node.attribute
                if a.type == onnx.AttributeProto.GRAPH
            }
    return {"graph": graph}


def matmul_flops(path: Path) -> int:
    """FLOPs per point of all Gemm/MatMul nodes whose second operand is a constant weight matrix (of the
    large-batch branch, where the graph has two)."""
    model = onnx.load(str(path))
    branches = _branches(model.graph)
    graph = branches.get("large_batch", model.graph)
    shapes = {i.name: numpy_helper.to_array(i).shape for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    shapes[node.output[0]] = numpy_helper.to_array(a.t).shape
    flops = 0
    for node in graph.node:
        if node.op_type in ("Gemm", "MatMul") and node.input[1] in shapes:
            shape = shapes[node.input[1]]
            if len(shape) == 2:
                flops += 2 * shape[0] * shape[1]
    return flops


def time_predict(
    sur: OnnxSurrogate, momenta: np.ndarray, batch: int, chunk: int, repeat: int, points: int = 2000
) -> tuple[float, float]:
    """Best wall and best CPU seconds per point of predicting ``batch`` points in chunks of ``chunk``.

    The CPU time (``time.thread_time``: this thread, which runs ONNX Runtime with one intra-op thread;
    ``time.process_time`` with more) is what the surrogate costs whatever else runs on the machine; with one
    thread it is the wall time minus the time other jobs took the core (this VM shares its cores: wall times
    moved by up to 30% between runs of the same graph, and a loaded machine's caches inflate the CPU time
    too).  Small batches are called repeatedly (≥ ``points`` points per timing, ``repeat`` timings), so every
    figure is a mean over many calls, and the best timing is the least disturbed one.
    """
    clock = time.thread_time if sur.session_options.intra_op_num_threads == 1 else time.process_time
    pts = momenta[:batch]
    calls = max(1, points // batch)
    for _ in range(min(calls, 200)):
        sur.predict(pts[: min(batch, chunk)], chunk=chunk)
    best_wall = best_cpu = np.inf
    for _ in range(repeat):
        t, c = time.perf_counter(), clock()
        for _ in range(calls):
            sur.predict(pts, chunk=chunk)
        best_cpu = min(best_cpu, (clock() - c) / calls)
        best_wall = min(best_wall, (time.perf_counter() - t) / calls)
    return best_wall / batch, best_cpu / batch


def executed_nodes(path: Path) -> dict[str, object]:
    """Nodes of the exported graph and of the graph ONNX Runtime executes (after its optimisations)."""
    raw = onnx.load(str(path))
    with tempfile.TemporaryDirectory() as tmp:
        opts = session_options(1)
        opts.optimized_model_filepath = str(Path(tmp) / "optimised.onnx")
        # the NCHWc transformer's warning (layout of conv models; we have none) is not ours
        opts.log_severity_level = 3
        ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        done = onnx.load(opts.optimized_model_filepath)
    out: dict[str, object] = {}
    raw_branches, done_branches = _branches(raw.graph), _branches(done.graph)
    top = len(done.graph.node) if len(done_branches) > 1 else 0  # the batch-size test and the If
    for name, graph in done_branches.items():
        ops = collections.Counter(n.op_type for n in graph.node)
        out[name] = {
            "exported": len(raw_branches[name].node),
            "executed": top + len(graph.node),
            "executed_by_op": dict(ops.most_common()),
        }
    small = small_batch_graph(raw)
    if small is not None:  # what OnnxSurrogate runs for <= SMALL_BATCH_MAX points: the branch alone
        with tempfile.TemporaryDirectory() as tmp:
            opts = session_options(1)
            opts.optimized_model_filepath = str(Path(tmp) / "optimised.onnx")
            opts.log_severity_level = 3
            ort.InferenceSession(small.SerializeToString(), opts, providers=["CPUExecutionProvider"])
            out["small_batch_session_executed"] = len(onnx.load(opts.optimized_model_filepath).graph.node)
    return out


def compare_per_family(model: Ensemble, momenta: np.ndarray, n: int, rounds: int = 30) -> dict[str, object]:
    """CPU µs per point of the exported graph against the per-family graph alone (what export_onnx wrote
    before the batch-size If, at every batch size), the fused graph alone and the small-batch branch as a
    graph of its own (``small_batch_graph``: what OnnxSurrogate runs at batch <= 32), timed alternately in
    this process through ``InferenceSession.run``, best of ``rounds``."""
    graphs: dict[str, onnx.ModelProto | None] = {
        "exported": None,
        "per_family_only": _trace(_unfused_copy(model), example_momenta(n), 18, False),
        "fused_only": _trace(model, example_momenta(n), 18, False),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exported.onnx"
        export_onnx(model, path, {"process": "compare"})
        small = small_batch_graph(onnx.load(str(path)))
        if small is not None:
            graphs["small_batch_session"] = small
        sessions = {
            name: ort.InferenceSession(
                str(path) if g is None else g.SerializeToString(), session_options(1),
                providers=["CPUExecutionProvider"],
            )
            for name, g in graphs.items()
        }
    out: dict[str, object] = {}
    for batch in (1, 64, 1000):
        calls = max(2, 300 // batch)  # many short timings: the best is the least disturbed one
        best = dict.fromkeys(sessions, np.inf)
        for _ in range(rounds):
            for name, sess in sessions.items():
                for i in range(min(calls, 50)):
                    sess.run(None, {"momenta": momenta[i * batch : (i + 1) * batch]})
                c = time.thread_time()
                for i in range(calls):
                    sess.run(None, {"momenta": momenta[(i * batch) % 50000 : (i * batch) % 50000 + batch]})
                best[name] = min(best[name], (time.thread_time() - c) / calls / batch)
        out[str(batch)] = {name: 1e6 * v for name, v in best.items()}
    return out


def _chain_us(nodes: int, calls: int = 3000) -> float:
    """CPU µs of one batch-1 call of a graph of ``nodes`` trivial elementwise nodes on a (1, 28) tensor."""
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.DOUBLE, [None, 28])
    body, prev = [], "x"
    for i in range(nodes):
        body.append(onnx.helper.make_node("Neg", [prev], [f"t{i}"]))
        prev = f"t{i}"
    y = onnx.helper.make_tensor_value_info(prev, onnx.TensorProto.DOUBLE, [None, 28])
    graph = onnx.helper.make_graph(body, "chain", [x], [y])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)])
    opts = session_options(1)
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    a = np.zeros((1, 28))
    for _ in range(300):
        sess.run(None, {"x": a})
    best = np.inf
    for _ in range(5):
        c = time.thread_time()
        for _ in range(calls):
            sess.run(None, {"x": a})
        best = min(best, (time.thread_time() - c) / calls)
    return 1e6 * best


def node_overhead() -> dict[str, float]:
    """Per-call and per-node cost of ONNX Runtime at batch 1, from chains of 1 and 201 trivial nodes."""
    one, many = _chain_us(1), _chain_us(201)
    return {"call_us": one, "per_node_us": (many - one) / 200}


def profile_batch1(path: Path, momenta: np.ndarray, calls: int = 500) -> dict[str, object]:
    """ONNX Runtime's own profile of ``calls`` batch-1 calls (of the small-batch graph, which OnnxSurrogate
    runs at batch 1, where the file has one): kernel time per op type against the whole run.

    ``kernel_us`` sums the nodes' ``*_kernel_time`` events, ``run_us`` is the ``model_run`` event; both are
    inflated by the profiler itself (it records every node), so only their ratio and the split by op type
    are figures: the rest of ``run_us`` is ONNX Runtime's per-node work outside the kernels (allocation,
    shape inference, dispatch).
    """
    small = small_batch_graph(onnx.load(str(path)))
    with tempfile.TemporaryDirectory() as tmp:
        opts = session_options(1)
        opts.enable_profiling = True
        opts.profile_file_prefix = str(Path(tmp) / "prof")
        opts.log_severity_level = 3
        model = str(path) if small is None else small.SerializeToString()
        sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        for i in range(calls):
            sess.run(None, {"momenta": momenta[i : i + 1]})
        events = json.loads(Path(sess.end_profiling()).read_text())
    skip = calls // 5  # warm-up
    runs = [e["dur"] for e in events if e.get("name") == "model_run"][skip:]
    kernels = [  # an If's own event spans its branch's nodes, which have their own events
        e
        for e in events
        if e.get("cat") == "Node"
        and str(e.get("name", "")).endswith("_kernel_time")
        and e.get("args", {}).get("op_name") != "If"
    ]
    per_run = len(kernels) // max(1, len(runs) + skip)
    kernels = kernels[skip * per_run :]
    by_op: collections.Counter[str] = collections.Counter()
    for e in kernels:
        by_op[str(e["args"]["op_name"])] += e["dur"]
    n = max(1, len(runs))
    kernel_us = sum(by_op.values()) / n
    run_us = float(np.mean(runs)) if runs else float("nan")
    return {
        "nodes_per_call": per_run,
        "run_us_profiled": run_us,
        "kernel_us_profiled": kernel_us,
        "kernel_fraction": kernel_us / run_us,
        "kernel_us_by_op_profiled": {k: v / n for k, v in by_op.most_common(8)},
    }


def bench_process(
    path: Path,
    threads: int,
    repeat: int,
    workdir: Path,
    cfg: TrainConfig,
    sherpa_points: int,
    exporter_names: tuple[str, ...] = ("torchscript", "dynamo"),
) -> dict[str, object]:
    data = read_dump(path)
    assert data.me2 is not None
    n_in = int(data.n_in)
    tag = path.stem
    torch.manual_seed(0)
    members = []
    p = torch.from_numpy(data.momenta[:20000])
    canonical = cfg.symmetry == "canonical"
    hidden = cfg.hidden_for(coloured_beams(data.pdg, n_in))  # `fame train`'s default for these beams
    for _ in range(cfg.replicas):
        m = build_model(
            cfg.model, data.pdg.tolist(), n_in, hidden, cfg.activation, canonical=canonical,
            antenna=cfg.antenna,
        )
        x, terms = m.inputs(p)
        m.fit_scalers(x, terms, torch.from_numpy(data.me2[:20000]))
        m.net.to(NET_DTYPE[cfg.net_dtype])  # as training returns it
        members.append(m.eval())
    model = Ensemble(members).eval()
    n_big = 100_000
    momenta = np.ascontiguousarray(np.resize(data.momenta, (n_big, *data.momenta.shape[1:])))
    with torch.no_grad():
        want = model(torch.from_numpy(momenta[:10000]))[0].numpy()
    exporters: dict[str, dict[str, float]] = {}
    onnx_path = workdir / f"{tag}.onnx"
    for name, dynamo in (("torchscript", False), ("dynamo", True)):
        if name not in exporter_names:
            continue
        out = workdir / f"{tag}_{name}.onnx"
        t = time.perf_counter()
        export_onnx(model, out, {"process": data.process}, dynamo=dynamo)
        seconds = time.perf_counter() - t
        sur = OnnxSurrogate(out, threads=threads)
        got = sur.predict(momenta[:10000])[0]
        exporters[name] = {
            "export_seconds": seconds,
            "nodes": len(onnx.load(str(out)).graph.node),
            "max_rel_dev_vs_torch": float(np.max(np.abs(got / want - 1.0))),
            "us_per_point_10k": 1e6 * time_predict(sur, momenta, 10000, 10000, repeat)[0],
        }
        if not dynamo:
            out.replace(onnx_path)
    sur = OnnxSurrogate(onnx_path, threads=threads)
    per_batch: dict[str, float] = {}
    cpu_batch: dict[str, float] = {}
    chunks: dict[str, float] = {}
    for batch in SMALL_BATCHES:  # a generator's per-event calls and small host batches: many short timings
        wall, cpu = time_predict(sur, momenta, batch, batch, 30 * repeat, points=300)
        per_batch[str(batch)], cpu_batch[str(batch)] = 1e6 * wall, 1e6 * cpu
    for batch in (1000, 10_000, 100_000):
        wall, cpu = time_predict(sur, momenta, batch, batch, repeat)
        per_batch[str(batch)], cpu_batch[str(batch)] = 1e6 * wall, 1e6 * cpu
    for chunk in (1024, 4096, 16384):
        wall, cpu = time_predict(sur, momenta, n_big, chunk, repeat)
        chunks[str(chunk)], cpu_batch[f"100k_in_{chunk}"] = 1e6 * wall, 1e6 * cpu
    best_us = min([v for k, v in per_batch.items() if int(k) >= 1000] + list(chunks.values()))
    best_cpu_us = min(v for k, v in cpu_batch.items() if k not in {str(b) for b in SMALL_BATCHES})
    # Sherpa's CPU time per MatrixElement() where the dump recorded it (robust against other load)
    sherpa_ms = float(data.meta.get("me_cpu_ms_per_point") or data.meta["me_ms_per_point"])
    flops = matmul_flops(onnx_path)
    result: dict[str, object] = {
        "process": data.process,
        "model": cfg.model,
        "replicas": cfg.replicas,
        "hidden": list(hidden),
        "antenna": cfg.antenna,
        "net_dtype": cfg.net_dtype,
        "us_per_point": per_batch,
        "us_per_point_100k_chunked": chunks,
        "cpu_us_per_point": cpu_batch,
        "best_us_per_point_batch_ge_1k": best_us,
        "best_cpu_us_per_point_batch_ge_1k": best_cpu_us,
        "points_per_s": 1e6 / best_us,
        "sherpa_ms_per_point": sherpa_ms,
        "speedup_vs_sherpa": sherpa_ms * 1e3 / best_us,
        "speedup_vs_sherpa_batch1": sherpa_ms * 1e3 / per_batch["1"],
        "batch1_fraction_of_sherpa": per_batch["1"] / (sherpa_ms * 1e3),
        "nodes": executed_nodes(onnx_path),
        "cpu_us_vs_per_family_graph": compare_per_family(model, momenta, len(data.pdg)),
        "batch1_profile": profile_batch1(onnx_path, momenta),
        "matmul_flops_per_point": flops,
        "achieved_matmul_gflops": flops / best_us / 1e3,
        "exporters": exporters,
    }
    if sherpa_points > 0:
        # side by side: Sherpa's MatrixElement() on the same points, now, on this machine
        from _sherpa_now import sherpa_me_time

        k = min(sherpa_points, len(data.momenta))
        try:
            now = sherpa_me_time(tag, data.momenta[:k], data.pdg, data.me2[:k], dict(data.meta))
        except Exception as err:  # report, do not hide: the other figures stay valid
            result["sherpa_now_error"] = f"{type(err).__name__}: {err}"
        else:
            result["sherpa_now"] = {"points": k, **now}
            result["speedup_vs_sherpa_now_wall"] = now["ms_per_point"] * 1e3 / best_us
            result["speedup_vs_sherpa_now_cpu"] = now["cpu_ms_per_point"] * 1e3 / best_cpu_us
            # per batch size, CPU time against Sherpa's CPU time per MatrixElement() call, same run
            result["sherpa_now_cpu_over_surrogate_cpu"] = {
                b: now["cpu_ms_per_point"] * 1e3 / v for b, v in cpu_batch.items() if "_in_" not in b
            }
    return result


def main() -> int:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime / BLAS threads")
    parser.add_argument("--jets", type=int, nargs="*", default=[3, 4, 5])
    parser.add_argument(
        "--dump", type=Path, action="append", default=[],
        help="also time the surrogate of this fame dump's process (e.g. a Sherpa pp dump; repeatable)",
    )
    parser.add_argument("--model", choices=("dipole", "mlp"), default=None, help="override TrainConfig.model")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--exporters", nargs="+", choices=("torchscript", "dynamo"), default=["torchscript", "dynamo"],
        help="torch exporters to compare (the bundle's is torchscript, always timed)",
    )
    parser.add_argument(
        "--sherpa",
        type=int,
        default=0,
        metavar="N",
        help="also time Sherpa's MatrixElement() now on N of the points (needs .venv-sherpa; e.g. 2000)",
    )
    parser.add_argument("--hidden", type=int, nargs="+", default=None, help="override TrainConfig.hidden")
    parser.add_argument("--replicas", type=int, default=None, help="override TrainConfig.replicas")
    parser.add_argument(
        "--antenna", action=argparse.BooleanOptionalAction, default=None,
        help="override TrainConfig.antenna (the antenna-chain feature of pp -> Z/W + jets)",
    )
    parser.add_argument(
        "--symmetry", choices=("augment", "canonical"), default=None,
        help="the --dump models: canonical sorts identical particles inside the graph (TrainConfig.symmetry)",
    )
    parser.add_argument(
        "--net-dtype", choices=sorted(NET_DTYPE), default=None, help="override TrainConfig.net_dtype"
    )
    args = parser.parse_args()
    cfg = TrainConfig()
    if args.hidden:
        cfg = dataclasses.replace(cfg, hidden=tuple(args.hidden))
    if args.net_dtype:
        cfg = dataclasses.replace(cfg, net_dtype=args.net_dtype)
    if args.model:
        cfg = dataclasses.replace(cfg, model=args.model)
    if args.replicas:
        cfg = dataclasses.replace(cfg, replicas=args.replicas)
    if args.antenna is not None:
        cfg = dataclasses.replace(cfg, antenna=args.antenna)
    if args.symmetry:
        cfg = dataclasses.replace(cfg, symmetry=args.symmetry)
    if args.jets and not DATA.is_dir():
        print(f"bench_inference: no Sherpa reference data in {DATA} (set FAME_SHARED)", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    # the network's matmuls run in its own dtype, so that dtype's BLAS peak is the bound
    peak = peak_gflops(dtype=cfg.net_dtype)
    result: dict[str, object] = {
        "threads": args.threads,
        f"peak_{cfg.net_dtype}_gflops": peak,
        "onnxruntime": ort.__version__,
        "load_average_start": os.getloadavg(),
        "ort_batch1_overhead": node_overhead(),
        "processes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        todo = [(f"{jets}j", DATA / f"ee_{jets}j_ycut0.01.npz") for jets in args.jets]
        todo += [(path.stem, path) for path in args.dump]
        for label, path in todo:
            r = bench_process(
                path, args.threads, args.repeat, Path(tmp), cfg, args.sherpa, tuple(args.exporters)
            )
            r["fraction_of_flop_bound"] = float(r["achieved_matmul_gflops"]) / peak  # type: ignore[arg-type]
            result["processes"][label] = r  # type: ignore[index]
            print(f"bench_inference: {label} done", file=sys.stderr)
    result["load_average_end"] = os.getloadavg()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
