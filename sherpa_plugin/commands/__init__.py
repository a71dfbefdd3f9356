"""Subcommands of the ``fame`` CLI: one module each, discovered by :func:`sherpa_plugin.cli.build_parser`.

A module ``NAME.py`` defines ``register(subparsers)``, which adds its parser, its arguments (including
``--json`` via :func:`add_json_flag`) and ``set_defaults(func=...)`` with a callable returning a dict.
"""

from __future__ import annotations

import argparse

__all__ = ["add_json_flag"]


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add the common ``--json`` flag: print the result as one JSON object on stdout."""
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
