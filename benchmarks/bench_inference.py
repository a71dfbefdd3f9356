"""ONNX Runtime throughput of the exported surrogates vs Sherpa and vs the FLOP-bound limit (SPEC §5).

For e+e- -> 3/4/5 jets (Sherpa reference data, y_cut 0.01) the default surrogate (TrainConfig defaults:
architecture, replicas) is built with its scalers fitted to the data (timings do not depend on the weight
values, so no training is needed), exported with both torch exporters and timed in ONNX Runtime on
``--threads`` threads (default 1, like Sherpa's per-core timing) at batch 1, 1k, 10k and 100k.

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
* exporter comparison: export seconds, node count, max relative deviation from torch, µs/point at 10k.

Usage: ``python benchmarks/bench_inference.py [--threads 1] [--jets 3 4 5] [--repeat 3] [--sherpa 2000]
[--dump z4/train/<channel>.npz --model mlp] [--net-dtype float32] [--replicas R]`` (``--dump``: any fame
dump, e.g. Sherpa's pp Z+4-jet channel, timed against the CPU time per ME its meta records)
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

import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import numpy_helper  # noqa: E402

from fame_surrogate.export import OnnxSurrogate, export_onnx  # noqa: E402
from fame_surrogate.models import Ensemble, build_model  # noqa: E402
from fame_surrogate.train import TrainConfig  # noqa: E402
from lhe_tools import read_dump  # noqa: E402

SHARED = Path(os.environ.get("FAME_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = SHARED / "data" / "sherpa-ee"
NET_DTYPE = {"float32": torch.float32, "float64": torch.float64}


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


def matmul_flops(path: Path) -> int:
    """FLOPs per point of all Gemm/MatMul nodes whose second operand is a constant weight matrix."""
    model = onnx.load(str(path))
    shapes = {i.name: numpy_helper.to_array(i).shape for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    shapes[node.output[0]] = numpy_helper.to_array(a.t).shape
    flops = 0
    for node in model.graph.node:
        if node.op_type in ("Gemm", "MatMul") and node.input[1] in shapes:
            shape = shapes[node.input[1]]
            if len(shape) == 2:
                flops += 2 * shape[0] * shape[1]
    return flops


def time_predict(
    sur: OnnxSurrogate, momenta: np.ndarray, batch: int, chunk: int, repeat: int
) -> tuple[float, float]:
    """Best wall and best CPU seconds per point of predicting ``batch`` points in chunks of ``chunk``.

    The CPU time (``time.process_time``, all threads of this process) is what the surrogate costs whatever
    else runs on the machine; with one thread it is the wall time minus the time other jobs took the core
    (this VM shares its cores: wall times moved by up to 30% between runs of the same graph).
    """
    pts = momenta[:batch]
    sur.predict(pts[: min(batch, chunk)], chunk=chunk)
    best_wall = best_cpu = np.inf
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        sur.predict(pts, chunk=chunk)
        best_cpu = min(best_cpu, time.process_time() - c)
        best_wall = min(best_wall, time.perf_counter() - t)
    return best_wall / batch, best_cpu / batch


def bench_process(
    path: Path, threads: int, repeat: int, workdir: Path, cfg: TrainConfig, sherpa_points: int
) -> dict[str, object]:
    data = read_dump(path)
    assert data.me2 is not None
    n_in = int(data.n_in)
    tag = path.stem
    torch.manual_seed(0)
    members = []
    p = torch.from_numpy(data.momenta[:20000])
    for _ in range(cfg.replicas):
        m = build_model(cfg.model, data.pdg.tolist(), n_in, cfg.hidden, cfg.activation)
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
    per_batch["1"] = 1e6 * min(time_predict(sur, momenta, 1, 1, 200 * repeat)[0] for _ in range(3))
    for batch in (1000, 10_000, 100_000):
        wall, cpu = time_predict(sur, momenta, batch, batch, repeat)
        per_batch[str(batch)], cpu_batch[str(batch)] = 1e6 * wall, 1e6 * cpu
    for chunk in (1024, 4096, 16384):
        wall, cpu = time_predict(sur, momenta, n_big, chunk, repeat)
        chunks[str(chunk)], cpu_batch[f"100k_in_{chunk}"] = 1e6 * wall, 1e6 * cpu
    best_us = min([v for k, v in per_batch.items() if int(k) >= 1000] + list(chunks.values()))
    best_cpu_us = min(cpu_batch.values())
    # Sherpa's CPU time per MatrixElement() where the dump recorded it (robust against other load)
    sherpa_ms = float(data.meta.get("me_cpu_ms_per_point") or data.meta["me_ms_per_point"])
    flops = matmul_flops(onnx_path)
    result: dict[str, object] = {
        "process": data.process,
        "model": cfg.model,
        "replicas": cfg.replicas,
        "hidden": list(cfg.hidden),
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
        "--sherpa",
        type=int,
        default=0,
        metavar="N",
        help="also time Sherpa's MatrixElement() now on N of the points (needs .venv-sherpa; e.g. 2000)",
    )
    parser.add_argument("--hidden", type=int, nargs="+", default=None, help="override TrainConfig.hidden")
    parser.add_argument("--replicas", type=int, default=None, help="override TrainConfig.replicas")
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
    if args.jets and not DATA.is_dir():
        print(f"bench_inference: no Sherpa reference data in {DATA} (set FAME_SHARED)", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    # the network's matmuls run in its own dtype, so that dtype's BLAS peak is the bound
    peak = peak_gflops(dtype=cfg.net_dtype)
    result: dict[str, object] = {
        "threads": args.threads, f"peak_{cfg.net_dtype}_gflops": peak, "processes": {}
    }
    with tempfile.TemporaryDirectory() as tmp:
        todo = [(f"{jets}j", DATA / f"ee_{jets}j_ycut0.01.npz") for jets in args.jets]
        todo += [(path.stem, path) for path in args.dump]
        for label, path in todo:
            r = bench_process(path, args.threads, args.repeat, Path(tmp), cfg, args.sherpa)
            r["fraction_of_flop_bound"] = float(r["achieved_matmul_gflops"]) / peak  # type: ignore[arg-type]
            result["processes"][label] = r  # type: ignore[index]
            print(f"bench_inference: {label} done", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
