"""Subcommands of the ``fame`` CLI: one module each, discovered by :func:`sherpa_plugin.cli.build_parser`.

A module ``NAME.py`` defines ``register(subparsers)``, which adds its parser with
:func:`~sherpa_plugin.commands._options.add_command` (the ``--json`` flag and ``func``: a callable returning
a dict) and its arguments (a config dataclass's fields through
:func:`~sherpa_plugin.commands._options.add_options`).  A command that finished only in part raises
:class:`PartialResult` with its result (exit status 3).
"""

from __future__ import annotations

from ._options import add_command, add_json_flag
from ._partial import PartialResult

__all__ = ["PartialResult", "add_command", "add_json_flag"]
