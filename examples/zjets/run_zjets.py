"""pp → e+e- + N jets with real Sherpa, end to end: dump every channel, train one surrogate per reduced group,
validate with the two-stage unweighter (PDF and flux weights included: s = w · me2_surr / me2).

Each step is one ``fame`` command (printed before it runs); a rerun resumes unfinished dumps and skips
trained groups.  Sizes default to what a 2-core laptop does in minutes; raise ``--points`` for real figures.

    .venv/bin/python examples/zjets/run_zjets.py --jets 1 2 --points 20000 --out zjets-output
    .venv/bin/python examples/zjets/run_zjets.py --jets --process '21 2 -> 11 -11 21 21 21 2' \
        --points 200000 --val-points 60000 --integration fast --model mlp --replicas 2 \
        --train-seconds 660 --out z4-output
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

FAME = [sys.executable, "-m", "sherpa_plugin.cli"]


def fame(*args: str) -> dict[str, Any]:
    cmd = [*FAME, *args, "--json"]
    print("$ fame " + " ".join(shlex.quote(a) for a in args), file=sys.stderr, flush=True)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if res.returncode not in (0, 2):  # 2 = some groups failed, the others are usable
        raise SystemExit(f"fame {args[0]} failed with exit status {res.returncode}")
    out: dict[str, Any] = json.loads(res.stdout)
    return out


def _setups(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(label, Sherpa process) per multiplicity of ``--jets`` and per single channel of ``--process``."""
    out = [(f"Z+{n}j", "93 93 -> 11 -11" + " 93" * n) for n in args.jets]
    for proc in args.process:
        out.append((f"channel {proc}", proc))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jets", type=int, nargs="*", default=[1, 2])
    p.add_argument(
        "--process", action="append", default=[], metavar="'IN IN -> OUT...'",
        help="also one partonic channel alone, e.g. '21 2 -> 11 -11 21 21 21 2' (repeatable)",
    )
    p.add_argument("--points", type=int, default=20000, help="weighted training events per setup")
    p.add_argument(
        "--val-points", type=int, default=None,
        help="independent weighted events for validation (another seed; default: half of --points)",
    )
    p.add_argument("--integration", choices=("fast", "medium", "sherpa"), default="medium")
    p.add_argument("--out", type=Path, default=Path("zjets-output"))
    p.add_argument("--train-seconds", type=float, default=120.0, help="training budget per group")
    p.add_argument("--model", choices=("dipole", "mlp"), default="dipole", help="surrogate kind")
    p.add_argument("--replicas", type=int, default=1, help="ensemble replicas per group")
    p.add_argument("--skip-train", action="store_true", help="only dump (and time) the channels")
    p.add_argument(
        "--me-check-every", type=int, default=1, metavar="N",
        help="|M|^2 from Sherpa's event MEWeight, checked against MEProcess at every N-th event (N > 1 "
        "halves the dump where the ME dominates, e.g. Z+4/5 jets)",
    )
    p.add_argument(
        "--jobs", type=int, default=1, metavar="N",
        help="generate each dump in N Dask jobs after one integration (fame sherpa dump --jobs; default 1)",
    )
    p.add_argument(
        "--net-dtype", choices=("float64", "float32"), default="float64",
        help="network dtype of the exported surrogates (float32: faster inference)",
    )
    args = p.parse_args()
    val_points = args.val_points if args.val_points is not None else max(1, args.points // 2)
    summary: dict[str, Any] = {}
    for i, (label, proc) in enumerate(_setups(args)):
        # folder names: z1, z2, ... for multiplicities, channel1, channel2, ... for single channels
        tag = label.replace("+", "").lower() if label.startswith("Z+") else f"channel{i - len(args.jets) + 1}"
        common = [
            "--process", proc, "--beams", "2212", "2212", "--sqrt-s", "13000", "--mll", "66", "13000",
            "--jet-pt", "20", "--integration", args.integration,
        ]
        if args.jobs > 1:  # one integration, then the events in parallel Dask jobs (seeds from --seed)
            common += ["--jobs", str(args.jobs)]
        data, val = args.out / f"{tag}-train", args.out / f"{tag}-val"
        dump = fame("sherpa", "dump", *common, "--points", str(args.points), "--seed", "11",
                    "--timing-points", "50", "--out", str(data), "--me-check-every", str(args.me_check_every))
        row: dict[str, Any] = {
            "process": proc,
            "channels_sherpa": dump["n_sherpa_channels"],
            "channels_with_events": len(dump["channels"]),
            "events": dump["points"],
            "me_ms_per_point": dump["ms_per_point"],
            "ps_ms_per_point": dump.get("ps_ms_per_point"),
        }
        groups = fame("groups", str(data))
        row["reduced_groups"] = len(groups["groups"])
        if not args.skip_train:
            # validation events come from a second Sherpa run (another seed): never the training events
            # (the same setup: Sherpa's integration of the training run is reused)
            fame("sherpa", "dump", *common, "--points", str(val_points), "--seed", "12", "--out", str(val),
                 "--integration-from", str(data), "--me-check-every", str(args.me_check_every))
            bundle = args.out / f"{tag}-bundle"
            train = fame("train", str(data), "--out", str(bundle), "--max-seconds", str(args.train_seconds),
                         "--model", args.model, "--replicas", str(args.replicas),
                         "--net-dtype", args.net_dtype)
            row["train_seconds"] = train.get("seconds")
            # Sherpa's CPU times per event: its wall times grow with whatever else runs on the machine
            res = fame("validate", str(bundle), str(val), "--out", str(args.out / f"{tag}-report"),
                       "--recorded-times", "cpu")
            keys = ("eps_full", "eps_1", "eps_2", "f_eff", "f_ideal", "closure_min_p")
            row.update({k: res.get(k) for k in keys})
        summary[label] = row
        print(json.dumps({label: row}), file=sys.stderr, flush=True)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
