"""Subcommands of the ``fame`` CLI: one module each, discovered by :func:`sherpa_plugin.cli.build_parser`.

A module ``NAME.py`` defines ``register(subparsers)``, which adds its parser, its arguments (including
``--json`` via :func:`add_json_flag`) and ``set_defaults(func=...)`` with a callable returning a dict.
A command that finished only in part raises :class:`PartialResult` with its result (exit status 3).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

__all__ = ["PartialResult", "add_json_flag"]


class PartialResult(Exception):
    """A command finished only in part: ``result`` is what it did, the message what failed (exit status 3)."""

    def __init__(self, message: str, result: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.result = dict(result)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add the common ``--json`` flag: print the result as one JSON object on stdout."""
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
