"""Shared fixtures: where the real data lives (``FAME_SHARED``, default ``../shared``), the Sherpa Python."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _shared_root() -> Path:
    return Path(os.environ.get("FAME_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared folder (real event files in ``testdata/``, Sherpa reference data in ``data/sherpa-ee/``)."""
    root = _shared_root()
    if not root.is_dir():
        pytest.skip(f"shared data folder {root} not found (set FAME_SHARED)")
    return root


@pytest.fixture(scope="session")
def testdata(shared: Path) -> Path:
    """Real generator files (Sherpa, MadGraph, POWHEG, GiBUU LHE; LHEH5)."""
    path = shared / "testdata"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="session")
def sherpa_ee(shared: Path) -> Path:
    """Sherpa 3.0.3 reference dumps for e+e- -> 3/4/5 jets."""
    path = shared / "data" / "sherpa-ee"
    if not (path / "ee_3j_ycut0.01.npz").is_file():
        pytest.skip(f"Sherpa reference data not found in {path}")
    return path


@pytest.fixture(scope="session")
def sherpa_python() -> Path:
    """A Python with ``sherpa-mc`` importable (FAME_SHERPA_PYTHON, else the project's .venv-sherpa)."""
    candidates = [os.environ.get("FAME_SHERPA_PYTHON"), str(REPO / ".venv-sherpa" / "bin" / "python")]
    for cand in candidates:
        if cand and Path(cand).exists():
            probe = subprocess.run(
                [cand, "-c", "import Sherpa"], capture_output=True, text=True, timeout=120, check=False
            )
            if probe.returncode == 0:
                return Path(cand)
    pytest.skip("no Python with sherpa-mc found (make sherpa-env needs a Python 3.12 or 3.13)")
