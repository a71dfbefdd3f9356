"""pp → e+e- + N jets with real Sherpa, end to end: dump every channel, train one surrogate per reduced group,
validate with the two-stage unweighter (PDF and flux weights included: s = w · me2_surr / me2).

Each step is one ``fame`` command (printed before it runs); a rerun resumes unfinished dumps and skips
trained groups.  Sizes default to what a 2-core laptop does in minutes; raise ``--points`` for real figures.

    .venv/bin/python examples/zjets/run_zjets.py --jets 1 2 --points 20000 --out zjets-output
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jets", type=int, nargs="+", default=[1, 2])
    p.add_argument("--points", type=int, default=20000, help="weighted events per multiplicity")
    p.add_argument("--integration", choices=("fast", "medium", "sherpa"), default="medium")
    p.add_argument("--out", type=Path, default=Path("zjets-output"))
    p.add_argument("--train-seconds", type=float, default=120.0, help="training budget per group")
    p.add_argument("--skip-train", action="store_true", help="only dump (and time) the channels")
    args = p.parse_args()
    summary: dict[str, Any] = {}
    for n in args.jets:
        data = args.out / f"z{n}"
        dump = fame(
            "sherpa", "dump", "--process", "93 93 -> 11 -11" + " 93" * n, "--beams", "2212", "2212",
            "--sqrt-s", "13000", "--mll", "66", "13000", "--jet-pt", "20", "--points", str(args.points),
            "--integration", args.integration, "--timing-points", "50", "--out", str(data),
        )
        row: dict[str, Any] = {
            "channels_sherpa": dump["n_sherpa_channels"],
            "channels_with_events": len(dump["channels"]),
            "events": dump["points"],
            "me_ms_per_point": dump["ms_per_point"],
            "ps_ms_per_point": dump.get("ps_ms_per_point"),
        }
        groups = fame("groups", str(data))
        row["reduced_groups"] = len(groups["groups"])
        if not args.skip_train:
            bundle = args.out / f"bundle_z{n}"
            train = fame("train", str(data), "--out", str(bundle), "--max-seconds", str(args.train_seconds))
            row["train_seconds"] = train.get("seconds")
            val = fame("validate", str(bundle), str(data), "--out", str(args.out / f"report_z{n}"))
            keys = ("eps_full", "eps_1", "eps_2", "f_eff", "f_ideal", "closure_min_p")
            row.update({k: val.get(k) for k in keys})
        summary[f"Z+{n}j"] = row
        print(json.dumps({f"Z+{n}j": row}), file=sys.stderr, flush=True)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
