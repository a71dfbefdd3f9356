"""pp → e+e- + N jets at 13 TeV with real Sherpa 3.0.3: channels, reduced groups, Sherpa's ME and PS times.

Setup of issue 9 (the ATLAS-like Z+jets setup of the KISS 2025 talk at this machine's size):
``93 93 -> 11 -11 93{N}``, m_ee in [66, 13000] GeV, anti-kt R = 0.4 jets with pT > 20 GeV, fixed scale M_Z,
PDF4LHC21_40_pdfas.  For each N it runs the Sherpa-side dumper (weighted events, |M|^2 by MEProcess),
times ``MatrixElement()`` for every channel Sherpa built, and compares channel and group counts with the
talk's table (Z+1: 15 → 6, Z+2: 95 → 30, Z+3: 145 → 50) and lhe_tools' grouping with Comix's own map.

Prints one JSON object.  Example::

    .venv/bin/python benchmarks/bench_zjets.py --jets 1 2 --points 2000 --integration fast
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from lhe_tools.groups import reduce_channels
from sherpa_plugin.dump import DumpSettings, sherpa_dump

TALK = {1: (15, 6), 2: (95, 30), 3: (145, 50)}  # channels → reduced groups, KISS 2025 talk


def one_multiplicity(n_jets: int, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    res = sherpa_dump(
        out / f"z{n_jets}",
        DumpSettings(points=args.points, seed=args.seed, integration=args.integration,
                     timing_points=args.timing_points),
        process="93 93 -> 11 -11" + " 93" * n_jets,
        beams=(2212, 2212),
        sqrt_s=13000.0,
        mll=(66.0, 13000.0),
        jet_pt=20.0,
        jet_r=0.4,
        sherpa_python=args.sherpa_python,
    ).to_json()
    channels = res["sherpa_channels"]
    comix = res["comix_map"]
    groups = reduce_channels([(c["pdg"], c["n_in"]) for c in channels])
    ours = {m.process: g.name for g in groups for m in g.members}
    timing = res.get("timing", {})
    me_ms = sorted(timing.values())
    talk_channels, talk_groups = TALK.get(n_jets, (None, None))
    return {
        "n_jets": n_jets,
        "n_channels": len(channels),
        "talk_channels": talk_channels,
        "n_groups_comix": len(set(comix.values())),
        "n_groups_lhe_tools": len(groups),
        "talk_groups": talk_groups,
        "grouping_agrees_with_comix": all(ours.get(c) == t for c, t in comix.items()),
        "events": res["points"],
        "channels_with_events": len(res["channels"]),
        "sherpa_init_and_integration_s": res["init_seconds"],
        "gen_ms_per_event": res.get("gen_ms_per_event"),
        "ps_ms_per_point": res.get("ps_ms_per_point"),
        "me_ms_per_point_events": res["ms_per_point"],
        "me_ms_median_over_channels": statistics.median(me_ms) if me_ms else None,
        "me_ms_max_over_channels": max(me_ms) if me_ms else None,
        "me_ms_slowest_channel": max(timing, key=lambda k: timing[k]) if timing else None,
        "me_ms_per_channel": timing,
        "ps_cpu_ms_per_point": res.get("ps_cpu_ms_per_point"),
        "gen_cpu_ms_per_event": res.get("gen_cpu_ms_per_event"),
        "me_cpu_ms_median_over_channels": statistics.median(res["timing_cpu"].values())
        if res.get("timing_cpu") else None,
        "me_cpu_ms_max_over_channels": max(res["timing_cpu"].values()) if res.get("timing_cpu") else None,
        "out": res["out"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jets", type=int, nargs="+", default=[1, 2])
    p.add_argument("--points", type=int, default=2000, help="weighted events per multiplicity")
    p.add_argument("--integration", choices=("fast", "medium", "sherpa"), default="fast")
    p.add_argument("--timing-points", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="keep the dumps here (default: a temporary folder)")
    p.add_argument("--sherpa-python", default=None)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_zjets_") as tmp:
        out = args.out or Path(tmp)
        rows = [one_multiplicity(n, out, args) for n in args.jets]
    print(json.dumps({"benchmark": "zjets", "setup": "pp 13 TeV, 93 93 -> 11 -11 93{N}, m_ee 66-13000, "
                      "jet pT > 20 GeV (anti-kt 0.4), mu = M_Z, PDF4LHC21_40_pdfas, COLOR_SCHEME 1",
                      "integration": args.integration, "results": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
