"""The built-in ME against Sherpa 3.0.3 MEProcess values (tests/data/sherpa-ee), point by point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.me import EWParams, matrix_element

FILES = {
    "ee_3j_ycut0.01": 300,
    "ee_3j_ycut0.001": 200,
    "ee_3j_ycut0.01_photon": 200,
    "ee_4j_ycut0.01": 200,
    "ee_4j_ycut0.001": 200,
    "ee_4j_ycut0.01_photon": 100,
    "ee_5j_ycut0.01": 150,
    "ee_5j_ycut0.001": 100,
    "ee_5j_ycut0.01_photon": 100,
    "ee_4q_dddd_ycut0.01": 200,
    "ee_4q_dduu_ycut0.01": 200,
    "ee_5q_ddddg_ycut0.01": 100,
    "ee_5q_dduug_ycut0.01": 100,
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_matches_sherpa(sherpa_ee: Path, name: str) -> None:
    path = sherpa_ee / f"{name}.npz"
    n = FILES[name]
    with np.load(path) as data:
        # a spread-out subset: every k-th point
        step = max(1, len(data["me2"]) // n)
        mom = data["momenta"][::step][:n]
        ref = data["me2"][::step][:n]
        pdg = data["pdg"]
    params = EWParams(z_exchange=not name.endswith("_photon"))
    val = matrix_element(mom, pdg, params)
    rel = np.abs(val / ref - 1.0)
    worst = int(np.argmax(rel))
    assert rel[worst] < 1e-8, f"{path}: point {worst * step}: fame {val[worst]!r} vs Sherpa {ref[worst]!r}"


def test_photon_only_differs_from_z(sherpa_ee: Path) -> None:
    """The Z matters at sqrt(s) = 1 TeV: switching it off must change |M|^2 (guards the z_exchange flag)."""
    with np.load(sherpa_ee / "ee_3j_ycut0.01.npz") as data:
        mom, ref, pdg = data["momenta"][:50], data["me2"][:50], data["pdg"]
    photon = matrix_element(mom, pdg, EWParams(z_exchange=False))
    assert np.max(np.abs(photon / ref - 1.0)) > 0.1
