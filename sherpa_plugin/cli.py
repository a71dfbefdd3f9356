"""The ``fame`` command line: a thin argparse layer over library calls (SPEC §1).

Every subcommand lives in its own module under :mod:`sherpa_plugin.commands` and provides
``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable ``(args) -> dict``.
With ``--json`` the returned dict is printed as one JSON object on stdout; logs go to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

from . import commands as _commands

log = logging.getLogger("fame")


def build_parser() -> argparse.ArgumentParser:
    """The full ``fame`` parser with every subcommand found in :mod:`sherpa_plugin.commands`."""
    parser = argparse.ArgumentParser(
        prog="fame",
        description="Matrix-element surrogates for Sherpa: ingest, group, train, export, validate.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def _default(obj: Any) -> Any:
    from lhe_tools import json_default

    try:
        return json_default(obj)
    except TypeError:
        return str(obj)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fame`` console script; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose > 1 else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.verbose < 2:
        # Dask's scheduler/worker chatter is not the user's business unless asked for; distributed sets its
        # loggers from its config when imported (also in worker processes), so say it there too
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
        for name in ("distributed", "dask"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("fame: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError, KeyError) as err:
        print(f"fame {args.command}: error: {err}", file=sys.stderr)
        if args.verbose:
            raise
        return 1
    if getattr(args, "json", False):
        print(json.dumps(result, default=_default))
    elif result:
        for key, value in result.items():
            if not isinstance(value, (list, dict)):
                print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
