"""The subprocess runner of the Sherpa-side dumper: start it, forward its lines, explain its failure.

The dumper (:mod:`sherpa_plugin.sherpa_side.dumper`) runs under Sherpa's own Python; :func:`run_dumper`
keeps Sherpa's output in ``sherpa.log`` and, when the dumper fails, raises :class:`SherpaDumpError` with
the dumper's message, how it ended and Sherpa's last log lines (:func:`log_tail`).
"""

from __future__ import annotations

import collections
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["SherpaDumpError", "describe_exit", "integrated_xs", "log_tail", "run_dumper"]

#: the terminal colour codes in Sherpa's output
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class SherpaDumpError(RuntimeError):
    """The Sherpa-side dumper failed; the message carries its own words and Sherpa's last log lines.

    ``exit_code`` is the dumper's exit status (negative: the signal that ended it; ``None``: not known).
    """

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def __reduce__(self) -> tuple[Any, ...]:  # travels between Dask worker and client intact
        return (type(self), (str(self), self.exit_code))


def log_tail(path: Path, n: int = 15) -> list[str]:
    """The last ``n`` non-empty lines of Sherpa's log ``path`` (colour codes and box drawing removed)."""
    if not path.is_file():
        return []
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 65536))
        text = fh.read().decode("utf-8", "replace")
    lines = [_ANSI.sub("", ln).rstrip() for ln in text.replace("\r", "\n").splitlines()]
    keep = [ln for ln in lines if ln.strip() and not set(ln.strip()) <= set("─│┌┐└┘ ")]
    return keep[-n:]


def integrated_xs(sherpa_log: Path) -> dict[str, list[float]]:
    """Sherpa's integrated σ ± error (pb) per process group, from its log (last figure of each)."""
    if not sherpa_log.is_file():
        return {}
    text = _ANSI.sub("", sherpa_log.read_text(errors="replace"))
    found = re.findall(r"^(\S+) : ([-0-9.e+]+) pb \+- \( ([-0-9.e+]+) pb", text, flags=re.MULTILINE)
    return {name: [float(x), float(e)] for name, x, e in found}


def describe_exit(code: int) -> str:
    """How a process with exit status ``code`` ended (negative: the signal that killed it)."""
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


#: Linux: the dumper gets SIGKILL when the thread that started it dies (a killed Dask worker leaves no orphan
#: Sherpa writing into the folder that the retried job resumes in)
_SETPRIV = shutil.which("setpriv")


def _dumper_command(python: Path, job_path: Path) -> list[str]:
    cmd = [str(python), "-m", "sherpa_side.dumper", str(job_path)]
    return [_SETPRIV, "--pdeathsig", "KILL", "--", *cmd] if _SETPRIV and sys.platform == "linux" else cmd


def _print_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_dumper(
    python: Path,
    job_path: Path,
    workdir: Path,
    env: dict[str, str],
    out: Path,
    on_line: Callable[[str], None] | None = None,
) -> None:
    """Run the dumper; its ``fame-dumper:`` lines go to ``on_line`` (default: stderr)."""
    log_path = workdir / "sherpa.log"
    last: collections.deque[str] = collections.deque(maxlen=30)
    forward = on_line or _print_line
    with log_path.open("ab") as sherpa_log:
        proc = subprocess.Popen(
            _dumper_command(python, job_path),
            cwd=workdir,
            env=env,
            stdout=sherpa_log,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        assert proc.stderr is not None
        try:
            for line in proc.stderr:
                line = line.rstrip()
                if not line:
                    continue
                last.append(line)
                if line.startswith("fame-dumper:"):
                    forward(line)
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    if code == 0:
        return
    ours = [ln for ln in last if ln.startswith("fame-dumper:")]
    error = next((ln for ln in reversed(ours) if "error:" in ln), None)
    stage = ours[-1] if ours else "(before its first message)"
    other = [ln for ln in last if not ln.startswith("fame-dumper:")][-8:]
    done = sorted(p.name for p in out.glob("*.npz"))
    msg = [f"the Sherpa-side dumper ({python}) failed: {describe_exit(code)}"]
    msg.append(f"  its message: {error}" if error else f"  its last step: {stage}")
    if other:
        msg.append("  its stderr ends with:\n    " + "\n    ".join(other))
    words = log_tail(log_path)
    if words:
        msg.append(f"  Sherpa's last words ({log_path}):\n    " + "\n    ".join(words))
    msg.append(
        f"  complete dumps in {out}: {done or 'none'}; unfinished channels have no .npz (finished chunks "
        f"stay in {out / '.parts'} and a rerun with the same settings resumes)"
    )
    raise SherpaDumpError("\n".join(msg), exit_code=code)

