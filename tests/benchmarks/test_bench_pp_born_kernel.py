"""``benchmarks/bench_pp_born_kernel.py``: its Catani–Seymour maps against the independent per-point maps of
``tests/fame_surrogate/cs_kinematics.py``, and a run with Sherpa on the repository's real Z+4 subset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "tests" / "fame_surrogate")]

from bench_pp_born_kernel import gluon_emissions, mapped_momenta  # noqa: E402
from cs_kinematics import ff_forward, fi_forward, if_forward, ii_forward  # noqa: E402

from fame_surrogate.dipoles import process_dipoles  # noqa: E402
from lhe_tools import read_dump  # noqa: E402
from lhe_tools.fourvec import mdot  # noqa: E402


def _reference(p: np.ndarray, family: str, i: int, j: int, k: int) -> np.ndarray:
    """The mapped momenta of one event (n, 4) by cs_kinematics' forward maps (emitted row left as it was)."""
    q = p.copy()
    if family == "FF":
        q[i], q[k] = ff_forward(p[i], p[j], p[k])
    elif family == "FI":
        q[i], q[k] = fi_forward(p[i], p[j], p[k])
    elif family == "IF":
        q[i], q[k] = if_forward(p[i], p[j], p[k])
    else:
        others = [f for f in range(2, len(p)) if f != j]
        q[i], moved = ii_forward(p[i], p[j], p[k], [p[f] for f in others])
        for f, m in zip(others, moved, strict=True):
            q[f] = m
    return q


def test_maps_agree_with_the_per_point_maps_and_conserve_momentum(sherpa_pp: Path) -> None:
    batch = read_dump(sherpa_pp / "z4j_gu_val.npz").take(np.arange(20))
    pdg = [int(x) for x in batch.pdg]
    _, _, dipoles, _ = process_dipoles(pdg, 2)
    keep, emitting = gluon_emissions(pdg, 2)
    assert [dipoles[k] for k in keep] == emitting
    assert all(pdg[d.j] == 21 for d in emitting) and len(keep) < len(dipoles)  # g → q q̄ ones left out
    assert {d.family for d in emitting} == {"FF", "FI", "IF", "II"}
    scale = float(np.abs(batch.momenta).max())
    for d in emitting:
        got = mapped_momenta(batch.momenta, d)
        want = np.stack([_reference(p, d.family, d.i, d.j, d.k) for p in batch.momenta])
        np.testing.assert_allclose(got, want, rtol=0.0, atol=1e-12 * scale)
        born = np.delete(got, d.j, axis=1)
        balance = born[:, 0] + born[:, 1] - born[:, 2:].sum(1)
        assert np.abs(balance).max() < 1e-10 * scale, d.name
        assert np.abs(mdot(born, born)).max() < 1e-8 * scale**2, d.name  # still massless
        if d.family in ("IF", "II"):  # the incoming parton stays on the beam axis
            assert np.abs(born[:, d.i, 1:3]).max() == 0.0


def test_a_run_with_sherpa(sherpa_pp: Path, sherpa_python: Path) -> None:
    cmd = [sys.executable, str(REPO / "benchmarks" / "bench_pp_born_kernel.py"),
           "--data", str(sherpa_pp / "z4j_gu_val.npz"), "--points", "40"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO,
                         env={**os.environ, "FAME_SHERPA_PYTHON": str(sherpa_python)})
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    assert out["born_pdg"] == [21, 2, 11, -11, 21, 21, 2]
    assert (out["dipoles"], out["gluon_emission_dipoles"]) == (52, 48)
    assert 0.0 <= out["largest_dipole_is_a_gluon_emission"] <= 1.0
    for name, groups in out["decades"].items():
        assert groups["all"]["n"] == 40, name
        assert np.isfinite(groups["all"]["raw"]) and np.isfinite(groups["all"]["linfit"]), name
        assert sum(g["n"] for key, g in groups.items() if key.startswith("log10_ymin")) == 40
