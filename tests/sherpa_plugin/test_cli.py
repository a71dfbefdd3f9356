"""The ``fame`` CLI: every subcommand answers ``--help`` and errors reach the user as one clear line."""

from __future__ import annotations

import enum
import importlib
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


#: what ``fame --help`` and every ``fame COMMAND --help`` must not import (each costs seconds)
HEAVY_MODULES = (
    "torch", "onnx", "onnxruntime", "matplotlib", "scipy", "distributed",
    "sherpa_plugin.validate", "sherpa_plugin.demo", "fame_surrogate.train", "fame_surrogate.models",
)


def test_building_the_parser_imports_no_heavy_module() -> None:
    # a fresh interpreter (this one has imported torch already): the parser, every subcommand's help, and the
    # config dataclasses behind the options, yet none of torch, onnx, matplotlib, scipy, dask
    code = (
        "import sys\n"
        "from sherpa_plugin.cli import build_parser\n"
        "parser = build_parser()\n"
        "for command in sys.argv[1:]:\n"
        "    sub = next(a for a in parser._subparsers._group_actions).choices[command]\n"
        "    sub.format_help()\n"
        f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *sorted(_subcommands())],
                          capture_output=True, text=True, check=True, timeout=120)
    assert proc.stdout.strip() == "[]", proc.stdout
    # the check itself can see such an import: the same interpreter after the train command's own module
    probe = "import sys, fame_surrogate.train; print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          timeout=120)
    assert proc.stdout.strip() == "True"


def _config_commands() -> list[tuple[str, type, list[str]]]:
    from fame_surrogate.config import TrainConfig
    from fame_surrogate.me.generate import GenerateConfig
    from sherpa_plugin.demo_config import DemoConfig
    from sherpa_plugin.reweight_config import ReweightConfig
    from sherpa_plugin.validate_config import ValidateConfig

    return [
        ("validate", ValidateConfig, ["BUNDLE", "DATA", "--out", "REPORT"]),
        ("train", TrainConfig, ["DATA", "--out", "BUNDLE"]),
        ("demo", DemoConfig, []),
        ("generate", GenerateConfig, ["ee", "--points", "10", "--out", "F"]),
        ("reweight", ReweightConfig, ["IN", "--bundle", "BUNDLE", "--out", "OUT"]),
    ]


def _plain(value: object) -> object:
    """A default as argparse holds it: enum members as their values, tuples as lists."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value.value if isinstance(value, enum.Enum) else value


@pytest.mark.parametrize(("command", "config_type", "required"), _config_commands(),
                         ids=[c[0] for c in _config_commands()])
def test_every_cli_default_is_the_config_default(
    command: str, config_type: type, required: list[str]
) -> None:
    from sherpa_plugin.commands._options import config_from_args

    options = importlib.import_module(f"sherpa_plugin.commands.{command}").OPTIONS
    parser = build_parser()
    # no option given: the command's config is the dataclass's default config, field for field
    args = parser.parse_args([command, *required])
    assert config_from_args(config_type, args, options) == config_type()
    sub = next(a for a in parser._subparsers._group_actions).choices[command]  # type: ignore[union-attr]
    actions = {a.dest: a for a in sub._actions}
    default = config_type()
    for opt in options:
        value = getattr(default, opt.field)
        action = actions[opt.field]
        assert action.default == _plain(value)
        # --help shows the dataclass default
        shown = " ".join(map(str, _plain(value))) if isinstance(value, tuple) else _plain(value)
        shown = "none" if value is None else shown
        assert action.help is not None and action.help.endswith(f"(default: {shown})")
