"""Channel and group counts of ``lhe_tools.expand`` vs real Sherpa (INIT_ONLY, ``Process/Comix.zip``).

Usage::

    .venv/bin/python benchmarks/bench_groups_sherpa.py                      # pp -> e+e- + 0..3 jets
    .venv/bin/python benchmarks/bench_groups_sherpa.py --process "93 93 -> 90 91 93{2}" --order "QCD:Any,EW:2"

Prints one JSON object: per multiplicity the channel and group counts of Sherpa and of fame, whether the
channel sets are identical, and for how many channels fame's group representative is Sherpa's map target;
plus the wall time of the Sherpa initialisation and of fame's expansion + grouping.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from lhe_tools.channel_table import parse_order
from lhe_tools.expand import expand_groups
from lhe_tools.process import process_name
from sherpa_plugin.sherpa_env import find_sherpa_python, probe_sherpa

PP = "BEAMS: 2212\nBEAM_ENERGIES: 6500\n"
EE = "BEAMS: [11, -11]\nBEAM_ENERGIES: 500\nPDF_LIBRARY: None\n"
CARD = """{beams}ME_GENERATORS: [Comix]
SHOWER_GENERATOR: None
FRAGMENTATION: None
MI_HANDLER: None
INIT_ONLY: 1
SCALES: VAR{{sqr(91.1876)}}
PROCESSES:
- {process}:
    Order: {{QCD: {qcd}, EW: {ew}}}
"""


def sherpa_maps(
    process: str, order: dict[str, int | str], workdir: Path, beams: str = PP, containers: str = ""
) -> tuple[dict[str, str], float]:
    """Run Sherpa INIT_ONLY; {channel: Comix map target} and the wall time."""
    install = probe_sherpa(find_sherpa_python())
    qcd, ew = order.get("QCD", "Any"), order.get("EW", "Any")
    card = containers + CARD.format(beams=beams, process=process, qcd=qcd, ew=ew)
    (workdir / "Sherpa.yaml").write_text(card)
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = f"{install.site}/lib64/SHERPA-MC:" + env.get("LD_LIBRARY_PATH", "")
    env["LHAPDF_DATA_PATH"] = f"{install.site}/share/SHERPA-MC/LHAPDF"
    t0 = time.perf_counter()
    binary = str(install.site / "bin" / "Sherpa")
    run = subprocess.run([binary], cwd=workdir, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if run.returncode != 0:
        sys.exit(f"Sherpa failed ({run.returncode}):\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    maps: dict[str, str] = {}
    with zipfile.ZipFile(workdir / "Process" / "Comix.zip") as z:
        for member in z.namelist():
            this, target = z.read(member).decode().splitlines()[0].split()[:2]
            if target != "x":
                maps[this] = target
    return maps, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--process", default="93 93 -> 11 -11 93{3}")
    parser.add_argument("--order", default="QCD:Any,EW:2")
    parser.add_argument("--ee", action="store_true", help="e+e- beams at 1 TeV instead of pp at 13 TeV")
    parser.add_argument(
        "--container", default=None, metavar="KF:IDS", help='extra container, e.g. "900:1,-1,2,-2,21"'
    )
    args = parser.parse_args()
    containers: dict[int, list[int]] = {}
    card_containers = ""
    if args.container:
        kf, ids = args.container.split(":")
        containers[int(kf)] = [int(x) for x in ids.split(",")]
        card_containers = f"PARTICLE_CONTAINERS:\n  {kf}: {{Name: cont{kf}, Flavours: [{ids}]}}\n"
    order = parse_order(args.order) or {}
    with tempfile.TemporaryDirectory(prefix="fame-groups-") as tmp:
        beams = EE if args.ee else PP
        maps, sherpa_seconds = sherpa_maps(args.process, order, Path(tmp), beams, card_containers)
    t0 = time.perf_counter()
    channels, groups = expand_groups(args.process, order, containers=containers)
    fame_seconds = time.perf_counter() - t0
    ours = {m.process: g.name for g in groups for m in g.members}
    per: dict[str, dict[str, int]] = collections.defaultdict(
        lambda: {"sherpa_channels": 0, "fame_channels": 0, "sherpa_groups": 0, "fame_groups": 0}
    )
    for name in maps:
        per[name.split("__")[0]]["sherpa_channels"] += 1
    for name in {process_name(p, n) for p, n in channels}:
        per[name.split("__")[0]]["fame_channels"] += 1
    for target in set(maps.values()):
        per[target.split("__")[0]]["sherpa_groups"] += 1
    for g in groups:
        per[g.name.split("__")[0]]["fame_groups"] += 1
    result = {
        "process": args.process,
        "order": order,
        "per_multiplicity": dict(sorted(per.items())),
        "same_channels": set(maps) == set(ours),
        "same_target": sum(1 for k, v in maps.items() if ours.get(k) == v),
        "channels": len(maps),
        "sherpa_init_seconds": round(sherpa_seconds, 2),
        "fame_seconds": round(fame_seconds, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
