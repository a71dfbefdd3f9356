"""Where Sherpa's Python lives: the interpreter that runs the Sherpa-side dumper (issue 5).

Sherpa 3.0.3 with its Python ``MEProcess`` binding ships as PyPI ``sherpa-mc==3.0.3b2`` wheels for
CPython 3.12 and 3.13 only, while fame runs on 3.11, so the dumper runs in another interpreter.  Lookup:
the explicit ``--sherpa-python`` path, the environment variable ``FAME_SHERPA_PYTHON``, the project's
``.venv-sherpa`` (created by ``make sherpa-env``).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ENV_VAR",
    "SherpaInstall",
    "SherpaNotAvailable",
    "dumper_environment",
    "find_sherpa_python",
    "probe_sherpa",
]

ENV_VAR = "FAME_SHERPA_PYTHON"
_REPO = Path(__file__).resolve().parent.parent
_PROBE = (
    "import os, sys, Sherpa, numpy; "
    "print(sys.version.split()[0]); print(os.path.dirname(os.path.abspath(Sherpa.__file__)))"
)
_HOW_TO = (
    "Create it with `make sherpa-env` (needs a Python 3.12 or 3.13: `python3.12 -m venv .venv-sherpa && "
    ".venv-sherpa/bin/pip install sherpa-mc==3.0.3b2 numpy`), or point --sherpa-python / "
    f"{ENV_VAR} at a Python that can `import Sherpa`."
)


class SherpaNotAvailable(RuntimeError):
    """No Python with ``sherpa-mc`` was found; the message lists what was tried and what to do."""


@dataclass(frozen=True)
class SherpaInstall:
    """A working Sherpa Python.

    Attributes
    ----------
    python : Path
        The interpreter.
    python_version : str
        Its version, e.g. ``"3.12.3"``.
    site : Path
        The folder holding ``Sherpa.py`` (the wheel's data: ``share/SHERPA-MC``, ``lib64``).
    """

    python: Path
    python_version: str
    site: Path


def _candidates(explicit: str | os.PathLike[str] | None) -> list[tuple[str, Path]]:
    if explicit is not None:
        return [("--sherpa-python", Path(explicit))]
    env = os.environ.get(ENV_VAR)
    if env:
        return [(ENV_VAR, Path(env))]
    return [("project .venv-sherpa", _REPO / ".venv-sherpa" / "bin" / "python")]


def probe_sherpa(python: str | os.PathLike[str], timeout: float = 120.0) -> SherpaInstall:
    """Check that ``python`` imports ``Sherpa`` and numpy; :class:`SherpaNotAvailable` if not."""
    path = Path(python)
    if not path.exists():
        raise SherpaNotAvailable(f"{path} does not exist. {_HOW_TO}")
    try:
        res = subprocess.run(
            [str(path), "-c", _PROBE], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SherpaNotAvailable(f"{path} could not be run ({err}). {_HOW_TO}") from err
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SherpaNotAvailable(f"{path} cannot import Sherpa and numpy: {last}. {_HOW_TO}")
    version, site = res.stdout.strip().splitlines()[-2:]
    return SherpaInstall(python=path, python_version=version, site=Path(site))


def find_sherpa_python(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The Python interpreter to run the Sherpa-side dumper with.

    Parameters
    ----------
    explicit : path, optional
        A user-given interpreter (``--sherpa-python``); it wins over ``FAME_SHERPA_PYTHON`` and the project's
        ``.venv-sherpa``.

    Returns
    -------
    Path
        An interpreter that imports ``Sherpa`` and numpy.

    Raises
    ------
    SherpaNotAvailable
        The chosen candidate is missing or cannot import Sherpa; the message says which and how to fix it.
    """
    source, path = _candidates(explicit)[0]
    try:
        return probe_sherpa(path).python
    except SherpaNotAvailable as err:
        raise SherpaNotAvailable(f"no usable Sherpa Python (from {source}): {err}") from None


def dumper_environment(install: SherpaInstall, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for the dumper subprocess: ``PYTHONPATH`` to ``sherpa_side``'s parent, LHAPDF data path.

    ``LHAPDF_DATA_PATH`` is set to the wheel's ``share/SHERPA-MC/LHAPDF`` (PDF4LHC21_40_pdfas) unless the
    caller already set it.
    """
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent)
    lhapdf = install.site / "share" / "SHERPA-MC" / "LHAPDF"
    if "LHAPDF_DATA_PATH" not in env and lhapdf.is_dir():
        env["LHAPDF_DATA_PATH"] = str(lhapdf)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env
