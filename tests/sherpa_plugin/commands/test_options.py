"""``sherpa_plugin.commands._options``: argparse options from a config dataclass, its defaults only."""

from __future__ import annotations

import argparse
import enum
from dataclasses import dataclass, field

import pytest

from sherpa_plugin.commands._options import Option, add_options, config_from_args


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
