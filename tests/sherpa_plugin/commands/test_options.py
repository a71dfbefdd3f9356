"""``sherpa_plugin.commands._options``: argparse options from a config dataclass, its defaults only."""

from __future__ import annotations

import argparse
import enum
from dataclasses import dataclass, field

import pytest

from sherpa_plugin.commands._options import (
    Option,
    add_command,
    add_options,
    config_from_args,
    options_given,
)


class Kind(enum.StrEnum):
    A = "a"
    B = "b"


@dataclass(frozen=True)
class Toy:
    """A toy config.

    Parameters
    ----------
    kind : Kind
        Which ``kind`` (see :mod:`x`).
    widths : tuple of int
        Layer widths.
    limit, rate : int or None, float
        A limit and a rate.
    flag : bool
        A switch.
    """

    kind: Kind = Kind.B
    widths: tuple[int, ...] = (4, 5)
    limit: int | None = None
    rate: float = 0.25
    flag: bool = False
    other: str = field(default="x", metadata={"help": "from metadata"})


OPTIONS = ("kind", "widths", Option("limit", flag="--max"), "rate", "flag", "other")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_options(parser, Toy, OPTIONS)
    return parser


def test_defaults_types_choices_and_help_come_from_the_dataclass() -> None:
    parser = _parser()
    assert config_from_args(Toy, parser.parse_args([]), OPTIONS) == Toy()
    got = config_from_args(Toy, parser.parse_args(["--kind", "a", "--widths", "7", "--max", "3", "--flag"]),
                           OPTIONS)
    assert got == Toy(kind=Kind.A, widths=(7,), limit=3, flag=True) and got.kind is Kind.A
    actions = {a.dest: a for a in parser._actions}
    assert actions["kind"].choices == ["a", "b"] and actions["kind"].default == "b"
    assert actions["kind"].help == "Which kind (see x). (default: b)"
    assert actions["widths"].help == "Layer widths. (default: 4 5)"
    assert actions["limit"].help == "A limit and a rate. (default: none)"
    assert actions["other"].help == "from metadata (default: x)"
    with pytest.raises(SystemExit):
        parser.parse_args(["--kind", "c"])


def test_unknown_fields_and_types_are_refused() -> None:
    with pytest.raises(AttributeError):
        add_options(argparse.ArgumentParser(), Toy, ["nope"])

    @dataclass
    class Bad:
        """Bad."""

        mapping: dict[str, int] = field(default_factory=dict)

    with pytest.raises(TypeError):
        add_options(argparse.ArgumentParser(), Bad, ["mapping"])


@dataclass(frozen=True)
class Job:
    """A config with a required field, fixed-length and repeatable tuples.

    Parameters
    ----------
    name : str
        Required.
    beams : tuple of int
        Two beams.
    window : tuple of float or None
        A window.
    tags : tuple of str
        Tags.
    """

    name: str
    beams: tuple[int, ...] = (11, -11)
    window: tuple[float, float] | None = None
    tags: tuple[str, ...] = ()
    memory: str = "2GB"


JOB_OPTIONS = (Option("beams", nargs=2, metavar=("B1", "B2")), Option("window", metavar=("LO", "HI")),
               Option("tags", flag="--tag", repeat=True), Option("memory", flag="--job-memory"))


def test_fixed_length_repeatable_and_required_fields() -> None:
    parser = argparse.ArgumentParser()
    add_options(parser, Job, JOB_OPTIONS)
    args = parser.parse_args([])
    assert config_from_args(Job, args, JOB_OPTIONS, name="x") == Job(name="x")
    assert options_given(Job, args, JOB_OPTIONS) == []
    args = parser.parse_args(["--beams", "2212", "2212", "--window", "66", "116", "--tag", "a", "--tag", "b"])
    job = config_from_args(Job, args, JOB_OPTIONS, name="x")
    assert job == Job(name="x", beams=(2212, 2212), window=(66.0, 116.0), tags=("a", "b"))
    assert options_given(Job, args, JOB_OPTIONS) == ["beams", "window", "tags"]
    assert options_given(Job, parser.parse_args(["--job-memory", "3GB"]), JOB_OPTIONS) == ["memory"]
    assert options_given(Job, parser.parse_args(["--job-memory", "2GB"]), JOB_OPTIONS) == []
    for wrong in (["--beams", "2212"], ["--window", "1", "2", "3"], ["--window", "1"]):
        with pytest.raises(SystemExit):
            parser.parse_args(wrong)
    actions = {a.dest: a for a in parser._actions}
    assert actions["tags"].help.endswith("(default: none)")
    assert actions["beams"].help.endswith("(default: 11 -11)")
    with pytest.raises(TypeError):  # the required field has no value
        config_from_args(Job, args, JOB_OPTIONS)


def test_add_command_sets_json_and_func(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="fame")
    sub = parser.add_subparsers(dest="command")

    def run(args: argparse.Namespace) -> dict[str, object]:
        return {"json": args.json}

    p = add_command(sub, "demo", help="one line", description="the long text", run=run)
    p.add_argument("--x", type=int, default=1)
    group = add_command(sub, "group", help="holds subcommands", description="d", run=None)
    args = parser.parse_args(["demo", "--json"])
    assert args.func is run and args.func(args) == {"json": True} and args.x == 1
    args = parser.parse_args(["group"])
    assert not hasattr(args, "func") and not hasattr(args, "json")
    assert group.description == "d"
    with pytest.raises(SystemExit):
        parser.parse_args(["demo", "--help"])
    out = capsys.readouterr().out
    assert "the long text" in out and "--json" in out
