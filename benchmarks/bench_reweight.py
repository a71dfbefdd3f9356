"""LHE reweighting throughput (issue 8): ``fame reweight`` events/s next to pylhe's read-and-write round trip.

Two inputs, each reweighted with a small bundle for e+e- -> d db g (trained here on Sherpa reference data):

- the MadGraph 2.2.1 Z+jets MLM file of ``shared/testdata`` (10k events, gzip in and out): no channel of it is
  in the bundle, so this times the streaming splice, the parsing and the per-channel bookkeeping;
- an e+e- -> 3 jets file written here (``--events`` weighted events from the built-in exact ME, 3/4 d db g,
  1/4 u ub g; plain text): the d db g events get surrogate weights with the exact built-in |M|² as the
  reference, so this also times ONNX Runtime and the exact ME.

pylhe's round trip is ``LHEFile.fromfile(src)`` streamed into ``tofile(dst)`` with the same compression level.
The machine may be shared: ``--repeat`` interleaved runs, best kept.  Prints one JSON object.
Usage: ``python benchmarks/bench_reweight.py [--events 20000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pylhe

from fame_surrogate.config import TrainConfig
from fame_surrogate.export import export_onnx
from fame_surrogate.me import generate_ee
from fame_surrogate.train import train_surrogate
from lhe_tools import read_dump
from lhe_tools.groups import reduce_channels
from sherpa_plugin.bundle import Bundle
from sherpa_plugin.bundle_manifest import write_bundle
from sherpa_plugin.reweight import reweight_file
from sherpa_plugin.reweight_config import ReweightConfig

SHARED = Path(os.environ.get("FAME_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
Z_FILE = SHARED / "testdata" / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"
LEVEL = 6


def make_bundle(folder: Path) -> Bundle:
    batch = read_dump(SHARED / "data" / "sherpa-ee" / "ee_3j_ycut0.01.npz").take(slice(0, 5000))
    res = train_surrogate(batch, TrainConfig(model="mlp", epochs=20, hidden=(64, 64)))
    model = export_onnx(res.model, folder / "m.onnx", {"process": batch.process, "members": [batch.process]})
    (group,) = reduce_channels([(batch.pdg.tolist(), 2)])
    write_bundle(folder / "bundle", [(group, model, res.metrics.to_json())], snippet=False)
    return Bundle.load(folder / "bundle")


def make_ee_file(path: Path, n: int) -> None:
    d = generate_ee([11, -11, 21, 1, -1], n - n // 4, seed=11)
    u = generate_ee([11, -11, 21, 2, -2], n // 4, seed=12)
    lines = ['<LesHouchesEvents version="3.0">', "<header>", "</header>", "<init>",
             "11 -11 5.0e+02 5.0e+02 0 0 -1 -1 4 1", "1.0e+00 1.0e-01 1.0e+00 1", "</init>"]
    for b in (d, u):
        for i in range(len(b)):
            lines += ["<event>", f" 5 1 {b.weight[i]:.10e} 9.1187600e+01 -1.0 1.18e-01"]
            for r in range(5):
                e, px, py, pz = b.momenta[i, r]
                st = -1 if r < 2 else 1
                lines.append(f" {b.pdg[r]} {st} 0 0 0 0 {px:.10e} {py:.10e} {pz:.10e} {e:.10e} 0.0 0. 9.")
            lines.append("</event>")
    lines.append("</LesHouchesEvents>")
    path.write_text("\n".join(lines) + "\n")


def pylhe_round_trip(src: Path, dst: Path) -> int:
    lhe = pylhe.LHEFile.fromfile(src)
    count = [0]

    def counted() -> Iterator[pylhe.LHEEvent]:
        for ev in lhe.events:
            count[0] += 1
            yield ev

    out = pylhe.LHEFile(init=lhe.init, events=counted(), header=lhe.header, version=lhe.version)
    out.tofile(dst, pylhe.LHEXMLFormat(compress=dst.name.endswith(".gz"), compresslevel=LEVEL))
    return count[0]


def timed(fn: Callable[[], int]) -> float:
    """Events per second of one call of ``fn`` (which returns the number of events)."""
    t0 = time.perf_counter()
    n = fn()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    result: dict[str, object] = {"benchmark": "lhe_reweight_vs_pylhe", "gzip_level": LEVEL}
    with tempfile.TemporaryDirectory(prefix="fame-bench-rw-") as tmp:
        folder = Path(tmp)
        bundle = make_bundle(folder)
        ee = folder / "ee3j.lhe"
        make_ee_file(ee, args.events)
        cases = {"madgraph_z_mlm": (Z_FILE, ".lhe.gz"), "ee_3jets_covered": (ee, ".lhe")}
        for name, (src, suffix) in cases.items():
            info: dict[str, object] = {}

            def fame(s: Path = src, x: str = suffix, i: dict[str, object] = info) -> int:
                res = reweight_file(s, folder / f"fame{x}", bundle, ReweightConfig(compresslevel=LEVEL))
                i.update(res.to_json())
                return int(str(i["events"]))

            def plhe(s: Path = src, x: str = suffix) -> int:
                return pylhe_round_trip(s, folder / f"pylhe{x}")

            fame_rate = pylhe_rate = 0.0
            for _ in range(args.repeat):  # interleaved
                fame_rate = max(fame_rate, timed(fame))
                pylhe_rate = max(pylhe_rate, timed(plhe))
            result[name] = {
                "events": info["events"],
                "reweighted": info["reweighted"],
                "fame_reweight_ev_per_s": round(fame_rate),
                "pylhe_round_trip_ev_per_s": round(pylhe_rate),
                "ratio": round(fame_rate / pylhe_rate, 2),
            }
    result["load_avg_1min"] = os.getloadavg()[0]
    print(json.dumps(result))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
