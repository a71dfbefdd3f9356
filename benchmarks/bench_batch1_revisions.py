"""Per-event (batch-1) cost of the surrogate at an earlier revision and in the working tree, alternately.

The default surrogate (TrainConfig defaults, ``--net-dtype``; scalers fitted to the data as in
``bench_inference.py``, no training: timings do not depend on the weight values) is built and exported twice
in this process: with ``fame_surrogate`` as it was at ``--rev`` (``git archive``, imported under another
package name) and with the working tree's.  Each file is then called one point at a time through its own
revision's ``OnnxSurrogate.predict`` (what a Python per-event host calls), the two alternately, ``--rounds``
rounds of ``--calls`` calls each; the figure is the best round's thread CPU time per call (this machine's
2 cores are shared: the best round is the least disturbed one).  Also reported: both revisions' |M|² on the
same points (they must agree to the float32 network's rounding) and the load average around the run.

Usage: ``python benchmarks/bench_batch1_revisions.py --rev 4114044 [--dump ee_5j.npz z4j_gu_train.npz]
[--net-dtype float32] [--replicas 1] [--rounds 40 --calls 300]``; prints one JSON object.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import dataclasses
import importlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from fame_surrogate.config import TrainConfig
from fame_surrogate.dipoles import coloured_beams
from lhe_tools import read_dump

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FAME_SHARED", ROOT.parent / "shared"))
DEFAULT_DUMPS = (
    SHARED / "data" / "sherpa-ee" / "ee_5j_ycut0.01.npz",
    SHARED / "data" / "sherpa-pp" / "z4j_gu_train.npz",
)


def package_at(rev: str, where: Path) -> ModuleType:
    """``fame_surrogate`` as it was at git revision ``rev``, imported as ``fame_surrogate_<rev>``."""
    name = "fame_surrogate_" + "".join(ch if ch.isalnum() else "_" for ch in rev)
    blob = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "fame_surrogate"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(where, filter="data")
    (where / "fame_surrogate").rename(where / name)
    sys.path.insert(0, str(where))
    return importlib.import_module(name)


def export_default(pkg: Any, data: Any, cfg: TrainConfig, out: Path) -> Path:
    """The default surrogate of ``data``'s process, scalers fitted, exported by ``pkg``'s export_onnx."""
    models = importlib.import_module(pkg.__name__ + ".models")
    export = importlib.import_module(pkg.__name__ + ".export")
    torch.manual_seed(0)
    p = torch.from_numpy(data.momenta[:20000])
    hidden = cfg.hidden_for(coloured_beams(data.pdg, int(data.n_in)))  # every revision gets the same network
    members = []
    for _ in range(cfg.replicas):
        m = models.build_model(cfg.model, data.pdg.tolist(), int(data.n_in), hidden, cfg.activation)
        x, terms = m.inputs(p)
        m.fit_scalers(x, terms, torch.from_numpy(data.me2[:20000]))
        m.net.to(torch.float32 if cfg.net_dtype == "float32" else torch.float64)
        members.append(m.eval())
    model = models.Ensemble(members).eval()
    export.export_onnx(model, out, {"process": data.process})
    return out


def compare(path: Path, revs: dict[str, Any], cfg: TrainConfig, rounds: int, calls: int) -> dict[str, object]:
    data = read_dump(path)
    assert data.me2 is not None
    momenta = np.ascontiguousarray(data.momenta[: max(calls, 1000)])
    surrogates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, pkg in revs.items():
            onnx_path = export_default(pkg, data, cfg, Path(tmp) / f"{label}.onnx")
            surrogates[label] = pkg.OnnxSurrogate(onnx_path, threads=1)  # the public name at every revision
    me2 = {
        label: np.concatenate([s.predict(momenta[i : i + 1])[0] for i in range(200)])
        for label, s in surrogates.items()
    }
    first, *others = me2.values()
    best = dict.fromkeys(surrogates, np.inf)
    for sur in surrogates.values():  # warm-up
        for i in range(200):
            sur.predict(momenta[i : i + 1])
    for _ in range(rounds):
        for label, sur in surrogates.items():
            c = time.thread_time()
            for i in range(calls):
                sur.predict(momenta[i : i + 1])
            best[label] = min(best[label], (time.thread_time() - c) / calls)
    sherpa_ms = float(data.meta.get("me_cpu_ms_per_point") or data.meta["me_ms_per_point"])
    return {
        "process": data.process,
        "cpu_us_per_call_batch1": {k: 1e6 * v for k, v in best.items()},
        "max_rel_dev_between_revisions": float(max(np.max(np.abs(o / first - 1.0)) for o in others)),
        "sherpa_me_cpu_ms_stored": sherpa_ms,
        "fraction_of_stored_sherpa_me": {k: 1e6 * v / (sherpa_ms * 1e3) for k, v in best.items()},
    }


def main() -> int:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--rev", required=True, help="the earlier git revision (e.g. 4114044)")
    parser.add_argument("--dump", type=Path, nargs="+", default=list(DEFAULT_DUMPS))
    parser.add_argument("--net-dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument(
        "--replicas", type=int, default=TrainConfig().replicas, help="replicas of both revisions' surrogates"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg = dataclasses.replace(TrainConfig(), net_dtype=args.net_dtype, replicas=args.replicas)
    result: dict[str, object] = {
        "rev": args.rev,
        "replicas": cfg.replicas,
        "load_average_start": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        revs = {
            args.rev: package_at(args.rev, Path(tmp)),
            "working_tree": importlib.import_module("fame_surrogate"),
        }
        processes: dict[str, object] = {}
        for path in args.dump:
            processes[path.stem] = compare(path, revs, cfg, args.rounds, args.calls)
            print(f"bench_batch1_revisions: {path.stem} done", file=sys.stderr)
        result["processes"] = processes
    result["load_average_end"] = os.getloadavg()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
