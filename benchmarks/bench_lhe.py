"""LHE read throughput of lhe_tools vs pylhe 2.1 on the same files, plus peak memory (SPEC §5: ≥ 5× pylhe).

Files: the MadGraph Z+jets file of ``shared/testdata`` (10k events, gzip) and a plain-text file made by
concatenating its events ``--copies`` times (written to a temporary folder).  For each file and reader the
best of ``--repeat`` interleaved runs is taken (the machine is shared).  pylhe's timing is a full iteration of
``pylhe.LHEFile.fromfile(path).events`` touching every particle (pylhe 2.x has no
``read_lhe_with_attributes``;
``fromfile`` reads attributes by default); ours is ``list(lhe_tools.read_events(path, chunk_size=...))``.
Peak memory is the tracemalloc peak of one read (separate runs): with ``chunk_size=10_000`` it must not
grow from the 1× to the N× file (streaming); pylhe's is per event.

Prints one JSON object.  Usage: ``python benchmarks/bench_lhe.py [--copies 5] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pylhe

from lhe_tools.reader import read_events

SHARED = Path(os.environ.get("FAME_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
ZFILE = SHARED / "testdata" / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"


def _read_pylhe(path: Path) -> int:
    n = 0
    for event in pylhe.LHEFile.fromfile(path).events:
        for p in event.particles:
            _ = (p.id, p.status, p.px, p.py, p.pz, p.e)
        n += 1
    return n


def _read_ours(path: Path, chunk_size: int | None) -> int:
    return sum(len(b) for b in read_events(path, chunk_size=chunk_size))


def _best(fn: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    """Best wall time, best CPU time (process_time, less sensitive to other jobs), number of events."""
    wall, cpu, n = float("inf"), float("inf"), 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        n = fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, n


def _peak(fn: Callable[[], int]) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def _concatenated(tmp: Path, copies: int) -> Path:
    with gzip.open(ZFILE) as fh:
        text = fh.read()
    head_end = text.index(b"<event")
    tail_start = text.rindex(b"</event>") + len(b"</event>\n")
    events = text[head_end:tail_start]
    out = tmp / f"z-mlm-x{copies}.lhe"
    with out.open("wb") as fh:
        fh.write(text[:head_end])
        for _ in range(copies):
            fh.write(events)
        fh.write(b"</LesHouchesEvents>\n")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    args = parser.parse_args()
    if not ZFILE.is_file():
        print(json.dumps({"error": f"{ZFILE} not found (set FAME_SHARED)"}))
        return 1
    result: dict[str, object] = {"pylhe_version": pylhe.__version__, "chunk_size": args.chunk_size}
    with tempfile.TemporaryDirectory() as tmp:
        big = _concatenated(Path(tmp), args.copies)
        one = _concatenated(Path(tmp), 1)
        for label, path in (("z_mlm_gz", ZFILE), (f"z_mlm_x{args.copies}_plain", big)):
            w_ours, c_ours, n_ours = _best(lambda p=path: _read_ours(p, args.chunk_size), args.repeat)
            w_py, c_py, n_py = _best(lambda p=path: _read_pylhe(p), args.repeat)
            if n_ours != n_py:
                raise SystemExit(f"event counts differ on {path}: ours {n_ours}, pylhe {n_py}")
            result[label] = {
                "events": n_ours,
                "ours_ev_per_s": n_ours / w_ours,
                "pylhe_ev_per_s": n_py / w_py,
                "ratio": w_py / w_ours,
                "ours_ev_per_cpu_s": n_ours / c_ours,
                "pylhe_ev_per_cpu_s": n_py / c_py,
                "ratio_cpu": c_py / c_ours,
            }
        result["peak_mem_bytes"] = {
            "ours_chunk_10k_x1": _peak(lambda: _read_ours(one, 10_000)),
            f"ours_chunk_10k_x{args.copies}": _peak(lambda: _read_ours(big, 10_000)),
            f"ours_chunk_{args.chunk_size}_x{args.copies}": _peak(lambda: _read_ours(big, args.chunk_size)),
            f"pylhe_x{args.copies}": _peak(lambda: _read_pylhe(big)),
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
