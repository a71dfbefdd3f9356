"""The ``fame`` command line: a thin argparse layer over library calls.

Every subcommand lives in its own module under :mod:`sherpa_plugin.commands` and provides
``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable ``(args) -> dict``.
With ``--json`` the returned dict is printed as one JSON object on stdout; logs go to stderr.

The contract (README, "Exit status"):

- ``--json`` prints exactly one valid JSON object on stdout, also on failure (``{"error": …, "exit_code":
  …}``); non-finite numbers become ``null``, listed under ``null_reasons`` (JSON path → ``"NaN"``, ``"inf"``);
- with ``--json``, anything written to stdout while a command runs (ONNX Runtime's ``*** EP Error ***``, Dask
  workers, a command's own table) goes to stderr, so stdout carries only the JSON;
- exit status 0 success, 1 data error (one line on stderr, no traceback; ``-v`` shows it), 2 usage error
  (argparse), 3 partial result (``fame train``: some groups failed, the others are in the bundle), 130
  interrupted, 141 stdout closed early (a pipe into ``head``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import math
import os
import pkgutil
import sys
import zlib
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from . import commands as _commands
from .commands import PartialResult

log = logging.getLogger("fame")

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

#: exceptions that mean "the input (files, bundle, arguments) is wrong", reported as one line
DATA_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, OSError, RuntimeError, LookupError, EOFError, zlib.error, ArithmeticError,
)


class _UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is raised (so ``--json`` can report it) instead of exiting at once."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self, message)


def build_parser() -> argparse.ArgumentParser:
    """The full ``fame`` parser with every subcommand found in :mod:`sherpa_plugin.commands`."""
    parser = _Parser(
        prog="fame",
        description="Matrix-element surrogates for Sherpa: ingest, group, train, export, validate.",
        epilog="Exit status: 0 success, 1 data error, 2 usage error, 3 partial result (fame train: some "
        "groups failed), 130 interrupted, 141 stdout closed early.",
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


def json_safe(obj: Any, reasons: dict[str, str], path: str = "") -> Any:
    """``obj`` with every non-finite float replaced by None; ``reasons[path]`` says what it was."""
    if isinstance(obj, float) or (hasattr(obj, "dtype") and getattr(obj, "shape", None) == ()):
        try:
            value = float(obj)
        except (TypeError, ValueError):
            return obj
        if isinstance(obj, bool) or not isinstance(value, float):
            return obj
        if not math.isfinite(value):
            reasons[path or "."] = "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
            return None
        return obj
    if isinstance(obj, dict):
        return {k: json_safe(v, reasons, f"{path}.{k}" if path else str(k)) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v, reasons, f"{path}[{i}]") for i, v in enumerate(obj)]
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy arrays
        return json_safe(obj.tolist(), reasons, path)
    return obj


def to_json(result: dict[str, Any]) -> str:
    """One strict JSON object (no NaN/Infinity): non-finite numbers are null, listed in ``null_reasons``."""
    plain = json.loads(json.dumps(result, default=_default))  # numpy, paths → plain values (NaN kept)
    reasons: dict[str, str] = {}
    safe = json_safe(plain, reasons)
    if reasons:
        safe["null_reasons"] = {**safe.get("null_reasons", {}), **reasons}
    return json.dumps(safe, allow_nan=False)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout (Python prints and, for a real fd 1, C code and child processes)
    to stderr while a command runs."""
    saved = -1
    try:
        if sys.stdout.fileno() == 1:
            sys.stdout.flush()
            saved = os.dup(1)
            os.dup2(2, 1)
    except (AttributeError, OSError, ValueError):  # not a real file (pytest's capture, a StringIO)
        saved = -1
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved >= 0:
            sys.stderr.flush()
            os.dup2(saved, 1)
            os.close(saved)


def _emit(text: str) -> int:
    """Print ``text`` on stdout; a reader that went away (``| head``) ends quietly with 141."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    return EXIT_OK


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush into a closed pipe does not complain."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _fail(args_json: bool, command: str | None, message: str, code: int, kind: str) -> int:
    print(f"fame{' ' + command if command else ''}: error: {message}", file=sys.stderr)
    if args_json:
        out = _emit(to_json({"error": message, "error_type": kind, "exit_code": code, "command": command}))
        if out == EXIT_BROKEN_PIPE:
            return out
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fame`` console script; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        err.parser.print_usage(sys.stderr)
        return _fail(wants_json, None, str(err), EXIT_USAGE, "usage")
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
    as_json = bool(getattr(args, "json", False))
    code = EXIT_OK
    try:
        with _stdout_to_stderr() if as_json else contextlib.nullcontext():
            result = args.func(args)
    except KeyboardInterrupt:
        print("fame: interrupted", file=sys.stderr)
        return _fail(as_json, args.command, "interrupted", EXIT_INTERRUPTED, "interrupted")
    except PartialResult as partial:
        print(f"fame {args.command}: {partial}", file=sys.stderr)
        result = {**partial.result, "error": str(partial), "exit_code": EXIT_PARTIAL}
        code = EXIT_PARTIAL
    except BrokenPipeError:  # a command's own output (fame groups' table) into a closed pipe
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except DATA_ERRORS as err:
        if args.verbose:
            raise
        return _fail(as_json, args.command, str(err) or type(err).__name__, EXIT_DATA, type(err).__name__)
    except Exception as err:  # a bug, not bad input: still one line (and a JSON object); -v has the traceback
        if args.verbose:
            raise
        message = f"unexpected {type(err).__name__}: {err} (rerun with -v for the traceback and report it)"
        return _fail(as_json, args.command, message, EXIT_DATA, type(err).__name__)
    if as_json:
        out = _emit(to_json(result))
        return out if out != EXIT_OK else code
    if result:
        lines = [f"{key}: {value}" for key, value in result.items() if not isinstance(value, list | dict)]
        if lines:
            out = _emit("\n".join(lines))
            if out != EXIT_OK:
                return out
    return code


if __name__ == "__main__":
    raise SystemExit(main())
