"""Shared fixtures: the project's own real test data (``tests/data``), the Sherpa Python, and the skip policy.

Every data fixture points at ``tests/data`` (small real subsets of the Sherpa reference sets and the
third-party event files, see ``tests/data/README.md``), so the suite needs nothing outside the project.
The full sets in ``../shared`` (``FAME_SHARED``) serve the benchmarks.

Skip policy: a skip names its reason.  With ``FAME_STRICT_SKIPS=1`` (``make test``, hence ``.ci/run``) the run
fails when a test skips for any reason other than the allowed ones in :data:`ALLOWED_SKIPS`, and the terminal
summary prints how many tests skipped and why.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lhe_tools import EventBatch

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"

#: the only reasons a test may skip under FAME_STRICT_SKIPS=1: the environment lacks something the
#: project cannot provide itself (a Python 3.12/3.13 for sherpa-mc's wheels, a Chromium package, a Slurm
#: controller: the Makefile starts each where it can)
NO_SHERPA = "no Python with sherpa-mc found (make sherpa-env needs a Python 3.12 or 3.13)"
NO_CHROMIUM = "chromium not installed (make browser installs Debian's chromium)"
NO_SLURM = "no Slurm controller with an idle node (make slurm starts a single-node Slurm, as root with apt)"
ALLOWED_SKIPS = (NO_SHERPA, NO_CHROMIUM, NO_SLURM)


def _data_dir(name: str) -> Path:
    path = DATA / name
    if not path.is_dir():  # part of the repository: a missing folder is a broken checkout, not a skip
        raise FileNotFoundError(f"test data folder {path} is missing (it is part of the repository)")
    return path


@pytest.fixture(scope="session")
def testdata() -> Path:
    """Real generator files (Sherpa, MadGraph, POWHEG, GiBUU LHE; LHEH5) from scikit-hep-testdata."""
    return _data_dir("testdata")


@pytest.fixture(scope="session")
def sherpa_ee() -> Path:
    """Subsets of the Sherpa 3.0.3 reference dumps for e+e- -> 3/4/5 jets and the 4-quark sets."""
    return _data_dir("sherpa-ee")


@pytest.fixture(scope="session")
def sherpa_pp() -> Path:
    """A subset of Sherpa 3.0.3 weighted events for g u -> e+e- g g g u at 13 TeV (``z4j_gu_val``)."""
    return _data_dir("sherpa-pp")


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
    pytest.skip(NO_SHERPA)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason.removeprefix("Skipped: ")
    return str(longrepr)


_skips: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skips.append((report.nodeid, _skip_reason(report)))


def _unexpected() -> list[tuple[str, str]]:
    return [(node, reason) for node, reason in _skips if reason not in ALLOWED_SKIPS]


def _strict() -> bool:
    return os.environ.get("FAME_STRICT_SKIPS", "") not in ("", "0")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    by_reason: dict[str, int] = {}
    for _, reason in _skips:
        by_reason[reason] = by_reason.get(reason, 0) + 1
    terminalreporter.write_line(f"fame: {len(_skips)} test(s) skipped")
    for reason, count in sorted(by_reason.items()):
        allowed = "allowed" if reason in ALLOWED_SKIPS else "NOT ALLOWED"
        terminalreporter.write_line(f"fame:   {count} x {reason} ({allowed})")
    if _strict() and _unexpected():
        terminalreporter.write_line("fame: FAME_STRICT_SKIPS=1 and some skips are not allowed:", red=True)
        for node, reason in _unexpected():
            terminalreporter.write_line(f"fame:   {node}: {reason}", red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _strict() and _unexpected() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def ee3_large() -> EventBatch:
    """240k e+e- -> d d̄ g points at the settings of the Sherpa reference set ``ee_3j_ycut0.01`` (RAMBO at
    √s = 1 TeV, s_ij > 0.01 s, γ*/Z) with the built-in exact |M|², which equals Sherpa's ``MEProcess`` value
    on every stored reference point to 1e-8 (``tests/fame_surrogate/me/test_sherpa_reference.py``).

    For the statistical tests that need hundreds of unweighted events: unweighting keeps ≈ 0.5% of these
    points, so the 12k real points of ``tests/data`` give only ≈ 56 events.
    """
    from fame_surrogate.me import EWParams, ee_jets_pdg, generate_ee

    return generate_ee(ee_jets_pdg(3), 240_000, y_cut=0.01, sqrt_s=1000.0, seed=20260, params=EWParams())
