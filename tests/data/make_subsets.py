"""Rebuild the real-data subsets in this folder from the full sets in ``../shared`` (``FAME_SHARED``).

Each subset holds the first N points of its source file (the sources store their points in random order, so
the first N are a random sample), every array of the source cut to those points, and the source's ``meta``
unchanged (its ``.meta.json`` twin is copied as it is). The third-party event files of ``testdata/`` are
copied whole, with their licence.  Run from the repository root::

    .venv/bin/python tests/data/make_subsets.py
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("FAME_SHARED", HERE.parents[2] / "shared")).resolve()

# points kept per file: the sets that the statistical tests (unweighting, closure, validation) use are larger
SUBSETS: dict[str, dict[str, int]] = {
    "sherpa-ee": {
        "ee_3j_ycut0.01": 12000,
        "ee_4j_ycut0.01": 6000,
        "ee_5j_ycut0.01": 1000,
        "ee_3j_ycut0.001": 300,
        "ee_4j_ycut0.001": 300,
        "ee_5j_ycut0.001": 300,
        "ee_3j_ycut0.01_photon": 500,
        "ee_4j_ycut0.01_photon": 300,
        "ee_5j_ycut0.01_photon": 300,
        "ee_4q_dddd_ycut0.01": 1000,
        "ee_4q_dduu_ycut0.01": 1000,
        "ee_5q_ddddg_ycut0.01": 300,
        "ee_5q_dduug_ycut0.01": 300,
    },
    "sherpa-pp": {"z4j_gu_val": 2000},
}
#: W + 4 jets (issue 22): made with `fame sherpa dump` as in examples/wjets/README.md, kept out of git in
#: FAME_WJETS (default ../data/wjets beside the repository); {subset name: (dump file there, points)}
WJETS = Path(os.environ.get("FAME_WJETS", HERE.parents[2] / "data" / "wjets")).resolve()
WJETS_SUBSETS: dict[str, tuple[str, int]] = {
    "w4j_gu_val": ("w4_val/2_6__G__u__e+__ve__G__G__G__d.npz", 3000),
}


def subset(src: Path, dst: Path, n: int) -> None:
    with np.load(src, allow_pickle=False) as d:
        n_all = len(d["momenta"])
        arrays = {k: (d[k][:n] if d[k].ndim and len(d[k]) == n_all and k != "pdg" else d[k]) for k in d.files}
    np.savez_compressed(dst, **arrays)


def main() -> None:
    for folder, files in SUBSETS.items():
        out = HERE / folder
        out.mkdir(exist_ok=True)
        for name, n in files.items():
            subset(SHARED / "data" / folder / f"{name}.npz", out / f"{name}.npz", n)
            shutil.copyfile(SHARED / "data" / folder / f"{name}.meta.json", out / f"{name}.meta.json")
    for name, (source, n) in WJETS_SUBSETS.items():
        if not (WJETS / source).is_file():
            print(f"skipped {name}: {WJETS / source} not found (make it as in examples/wjets/README.md)")
            continue
        subset(WJETS / source, HERE / "sherpa-pp" / f"{name}.npz", n)
        with np.load(WJETS / source, allow_pickle=False) as d:
            meta = json.loads(str(d["meta"][()]))
        (HERE / "sherpa-pp" / f"{name}.meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    out = HERE / "testdata"
    out.mkdir(exist_ok=True)
    for src in sorted((SHARED / "testdata").iterdir()):
        shutil.copyfile(src, out / src.name)


if __name__ == "__main__":
    main()
