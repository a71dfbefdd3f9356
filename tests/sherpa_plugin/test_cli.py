"""The ``fame`` CLI: every subcommand answers ``--help`` and errors reach the user as one clear line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sherpa_plugin.cli import build_parser, main

SPEC_COMMANDS = {
    "ingest", "groups", "generate", "me", "sherpa", "train", "predict", "validate", "reweight", "demo",
}


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._subparsers._group_actions)  # type: ignore[union-attr]
    return sorted(action.choices)


def test_every_command_of_the_spec_exists() -> None:
    assert set(_subcommands()) >= SPEC_COMMANDS


@pytest.mark.parametrize("command", sorted(SPEC_COMMANDS))
def test_help_of_every_subcommand(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: fame {command}")
    if command != "sherpa":
        assert "--json" in out


def test_console_script_reports_a_missing_file_in_one_line(tmp_path: object) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sherpa_plugin.cli", "me", "/nonexistent/data.npz", "--json"],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert proc.returncode == 1
    # --json: stdout is exactly one JSON object, the error one on failure (issue 19)
    err = json.loads(proc.stdout)
    assert err["exit_code"] == 1 and "/nonexistent/data.npz" in err["error"]
    assert "/nonexistent/data.npz" in proc.stderr and "Traceback" not in proc.stderr
