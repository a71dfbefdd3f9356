"""Sherpa's |M|² with the lepton pair turned in its rest frame (``lepton-rotations/``): the truth of
``tests/fame_surrogate/test_lepton_angles.py``.

For the first ``EVENTS`` events of each source (this folder's Sherpa pp subsets), ``ORIENTATIONS`` random
directions of lepton 1 in the pair's rest frame (reached from the lab by a pure boost; the pair's momentum
q and every hadron unchanged), evaluated by Sherpa at those momenta (``fame sherpa dump --momenta``, which
needs ``make sherpa-env``).  The boost here is plain numpy, independent of ``fame_surrogate``.  Run from the
repository root::

    .venv/bin/python tests/data/make_lepton_rotations.py
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from lhe_tools import read_dump, write_dump

HERE = Path(__file__).resolve().parent
EVENTS, ORIENTATIONS, SEED = 8, 12, 1
OUT = HERE / "lepton-rotations"
#: {output name: (source subset in sherpa-pp/, indices of the two leptons)}
SOURCES = {"z4j": ("z4j_gu_val", (2, 3)), "w4j": ("w4j_gu_val", (2, 3))}


def boost(p: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Four-vectors p (N, 4) boosted by the velocities b (N, 3)."""
    b2 = (b * b).sum(-1, keepdims=True)
    g = 1.0 / np.sqrt(1.0 - b2)
    bp = (b * p[:, 1:]).sum(-1, keepdims=True)
    space = p[:, 1:] + (g * g / (g + 1.0) * bp + g * p[:, :1]) * b
    return np.concatenate([g * (p[:, :1] + bp), space], axis=-1)


def rotated(momenta: np.ndarray, pair: tuple[int, int], n: np.ndarray) -> np.ndarray:
    """``momenta`` (N, k, 4) with lepton 1 along the unit vectors n (N, 3) in the pair's rest frame."""
    i, j = pair
    q = momenta[:, i] + momenta[:, j]
    half = 0.5 * np.sqrt(q[:, 0] ** 2 - (q[:, 1:] ** 2).sum(-1))[:, None]
    out = momenta.copy()
    out[:, i] = boost(np.concatenate([half, half * n], -1), q[:, 1:] / q[:, :1])
    out[:, j] = boost(np.concatenate([half, -half * n], -1), q[:, 1:] / q[:, :1])
    return out


def main() -> None:
    rng = np.random.default_rng(SEED)
    fame = Path(sys.executable).with_name("fame")
    for name, (source, pair) in SOURCES.items():
        batch = read_dump(HERE / "sherpa-pp" / f"{source}.npz")
        index = np.repeat(np.arange(EVENTS), ORIENTATIONS)
        n = rng.normal(size=(len(index), 3))
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        sub = batch.take(index)
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "in" / f"{batch.process}.npz"
            src.parent.mkdir()
            write_dump(src, dataclasses.replace(sub, momenta=rotated(sub.momenta, pair, n)))
            subprocess.run(
                [str(fame), "sherpa", "dump", "--beams", "2212", "2212", "--sqrt-s", "13000", "--momenta",
                 str(src), "--out", str(Path(tmp) / "out")],
                check=True,
            )
            OUT.mkdir(exist_ok=True)
            shutil.copyfile(Path(tmp) / "out" / f"{batch.process}.npz", OUT / f"{name}.npz")


if __name__ == "__main__":
    main()
