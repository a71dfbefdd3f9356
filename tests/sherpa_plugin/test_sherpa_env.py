"""Finding Sherpa's Python: explicit path, FAME_SHERPA_PYTHON, the project's .venv-sherpa; clear failures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sherpa_plugin.sherpa_env import (
    ENV_VAR,
    SherpaNotAvailable,
    dumper_environment,
    find_sherpa_python,
    probe_sherpa,
)


def test_missing_explicit_python_says_what_to_do(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-python"
    with pytest.raises(SherpaNotAvailable, match="make sherpa-env") as err:
        find_sherpa_python(missing)
    assert str(missing) in str(err.value)
    assert "--sherpa-python" in str(err.value)


def test_python_without_sherpa_is_refused() -> None:
    # the test interpreter (fame's Python 3.11) has no sherpa-mc: the probe must say so
    with pytest.raises(SherpaNotAvailable, match="cannot import Sherpa"):
        find_sherpa_python(sys.executable)


def test_env_var_is_used_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "elsewhere" / "python"))
    with pytest.raises(SherpaNotAvailable, match=ENV_VAR):
        find_sherpa_python()


def test_env_var_finds_real_sherpa(sherpa_python: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(sherpa_python))
    assert find_sherpa_python() == sherpa_python
    # an explicit path wins over the environment variable
    monkeypatch.setenv(ENV_VAR, "/nonexistent/python")
    assert find_sherpa_python(sherpa_python) == sherpa_python


def test_probe_and_dumper_environment(sherpa_python: Path) -> None:
    install = probe_sherpa(sherpa_python)
    major, minor = (int(x) for x in install.python_version.split(".")[:2])
    assert (major, minor) in {(3, 12), (3, 13)}  # the versions sherpa-mc 3.0.3b2 ships wheels for
    assert (install.site / "Sherpa.py").is_file()
    env = dumper_environment(install, base={"PATH": "/usr/bin"})
    assert (Path(env["PYTHONPATH"]) / "sherpa_side" / "dumper.py").is_file()
    # the wheel's LHAPDF data holds the PDF set Sherpa 3.0.3 uses by default for hadron beams
    assert (Path(env["LHAPDF_DATA_PATH"]) / "PDF4LHC21_40_pdfas").is_dir()
    assert dumper_environment(install, base={"LHAPDF_DATA_PATH": "/mine"})["LHAPDF_DATA_PATH"] == "/mine"
