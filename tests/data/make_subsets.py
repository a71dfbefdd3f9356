"""Rebuild the real-data subsets in this folder from the full sets in ``../shared`` (``FAME_SHARED``).

Each subset holds the first N points of its source file (the sources store their points in random order, so
the first N are a random sample), every array of the source cut to those points, and the source's ``meta``
unchanged (its ``.meta.json`` twin is copied as it is). The third-party event files of ``testdata/`` are
copied whole, with their licence.  Run from the repository root::

    .venv/bin/python tests/data/make_subsets.py
"""

from __future__ import annotations

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
    out = HERE / "testdata"
    out.mkdir(exist_ok=True)
    for src in sorted((SHARED / "testdata").iterdir()):
        shutil.copyfile(src, out / src.name)


if __name__ == "__main__":
    main()
