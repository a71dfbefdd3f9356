"""The skip policy of tests/conftest.py: under FAME_STRICT_SKIPS=1 (make test, .ci/run) a run with a skip
other than the allowed ones fails, and every run prints its skips with their reasons."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

PROBE = '''
import pytest

from conftest import NO_CHROMIUM, NO_SHERPA


def test_runs() -> None:
    assert True


def test_allowed_sherpa() -> None:
    pytest.skip(NO_SHERPA)


def test_allowed_chromium() -> None:
    pytest.skip(NO_CHROMIUM)


def test_data_missing() -> None:
    pytest.skip("{reason}")
'''


def _run(tmp_path: Path, reason: str, strict: bool) -> subprocess.CompletedProcess[str]:
    root = tmp_path / "suite"
    (root / "tests").mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "conftest.py", root / "tests" / "conftest.py")
    probe = PROBE.replace("{reason}", reason)
    if not reason:  # no unexpected skip at all
        probe = probe[: probe.index("def test_data_missing")]
    (root / "tests" / "test_probe.py").write_text(probe)
    env = {k: v for k, v in os.environ.items() if k != "FAME_STRICT_SKIPS"}
    if strict:
        env["FAME_STRICT_SKIPS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(root), "tests"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.mark.parametrize("strict", [True, False])
def test_unexpected_skip_fails_only_under_strict(tmp_path: Path, strict: bool) -> None:
    proc = _run(tmp_path, "shared data folder not found", strict)
    assert "fame: 3 test(s) skipped" in proc.stdout, proc.stdout
    assert "fame:   1 x shared data folder not found (NOT ALLOWED)" in proc.stdout
    assert "(make sherpa-env needs a Python 3.12 or 3.13) (allowed)" in proc.stdout
    assert "1 passed, 3 skipped" in proc.stdout
    if strict:
        assert proc.returncode == 1, proc.stdout
        assert "test_probe.py::test_data_missing: shared data folder not found" in proc.stdout
    else:
        assert proc.returncode == 0, proc.stdout


def test_allowed_skips_pass_under_strict(tmp_path: Path) -> None:
    proc = _run(tmp_path, "", strict=True)
    assert proc.returncode == 0, proc.stdout
    assert "fame: 2 test(s) skipped" in proc.stdout and "NOT ALLOWED" not in proc.stdout
