"""argparse options made from the fields of a config dataclass: the dataclass is the one source of defaults.

A command lists the fields it exposes as :class:`Option` entries; :func:`add_options` adds one argparse
option per field, with its type, its choices (an :class:`enum.Enum` field offers its members' values), the
dataclass default and a help text that ends in that default; :func:`config_from_args` builds the config from
the parsed arguments.  No command restates a default.

:func:`add_command` adds a subcommand's parser (with ``--json`` and the function that runs it); the flags
that several commands share (``--out``/``--force``, ``--allow-out-of-domain``, ``--no-progress``) are added by
one function each.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

__all__ = [
    "Option",
    "add_command",
    "add_json_flag",
    "add_options",
    "add_out_of_domain_flag",
    "add_output_folder",
    "add_progress_flag",
    "config_from_args",
    "config_help",
    "options_given",
]

C = TypeVar("C")

#: what a command's ``func`` is: the parsed arguments to the result (printed as JSON with ``--json``)
Runner = Callable[[argparse.Namespace], Mapping[str, Any]]


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add the common ``--json`` flag: print the result as one JSON object on stdout."""
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def add_command(
    subparsers: Any,
    name: str,
    *,
    help: str,
    description: str,
    run: Runner | None,
) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` to ``subparsers`` and return its parser.

    Parameters
    ----------
    subparsers : argparse subparsers action
        What ``add_subparsers`` returned.
    name, help, description : str
        The command's name, its one-line help in ``fame --help`` and the description of ``fame NAME --help``.
    run : callable or None
        ``(args) -> dict``, stored as ``args.func``, with the ``--json`` flag added; None for a command that
        only holds subcommands (``fame sherpa``): neither.

    Returns
    -------
    argparse.ArgumentParser
        The command's parser, for its own arguments.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(name, help=help, description=description)
    if run is not None:
        add_json_flag(parser)
        parser.set_defaults(func=run)
    return parser


def add_output_folder(parser: argparse.ArgumentParser, metavar: str, what: str, force: str) -> None:
    """Add the required ``--out METAVAR`` (help ``what``) and ``--force`` (help ``force``: what it allows)."""
    parser.add_argument("--out", required=True, metavar=metavar, help=what)
    parser.add_argument("--force", action="store_true", help=force)


def add_out_of_domain_flag(parser: argparse.ArgumentParser, verb: str) -> None:
    """Add ``--allow-out-of-domain``: ``verb`` (predict, reweight, validate) also events outside the
    surrogates' training domain, warning and counting them instead of refusing them."""
    parser.add_argument(
        "--allow-out-of-domain", action="store_true",
        help=f"{verb} also events outside the surrogates' training domain (sqrt_s, cuts, sqrt(shat) range): "
        "warn and count them instead of refusing them",
    )


def add_progress_flag(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--no-progress`` (``args.no_progress``): no progress bar on stderr."""
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


@dataclasses.dataclass(frozen=True)
class Option:
    """One command-line option bound to a field of a config dataclass.

    Parameters
    ----------
    field : str
        The dataclass field; the parsed value is stored under this name (``args.<field>``).
    flag : str or None
        The option string; default ``--`` + the field name with ``_`` written as ``-``.
    help : str or None
        Help text without the default (appended from the dataclass); default the field's ``metadata["help"]``,
        else its description in the dataclass's numpydoc ``Parameters`` section.
    choices : tuple or None
        Allowed values of a non-enum field (an :class:`enum.Enum` field offers its members' values).
    metavar : str or tuple of str or None
        Placeholder(s) shown in the usage line (a tuple: one per value of a fixed-length field).
    nargs : int or None
        A ``tuple[X, ...]`` field takes exactly this many values (default: one or more).
    repeat : bool
        A ``tuple[X, ...]`` field takes one value per occurrence of the flag (``--channel a --channel b``).
    """

    field: str
    flag: str | None = None
    help: str | None = None
    metavar: str | tuple[str, ...] | None = None
    choices: tuple[Any, ...] | None = None
    nargs: int | None = None
    repeat: bool = False


def _numpydoc_parameters(doc: str | None) -> dict[str, str]:
    """``name → description`` of a numpydoc ``Parameters`` section (``a, b : type`` names share one)."""
    lines = (doc or "").expandtabs().splitlines()
    out: dict[str, str] = {}
    heads = [i for i in range(len(lines) - 1)
             if lines[i].strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"}]
    if not heads:
        return out
    body = lines[heads[0] + 2 :]
    indent: int | None = None
    names: list[str] = []
    for i, line in enumerate(body):
        if not line.strip():
            continue
        level = len(line) - len(line.lstrip())
        indent = level if indent is None else indent
        next_is_rule = i + 1 < len(body) and set(body[i + 1].strip()) == {"-"}
        if level < indent or next_is_rule:
            break  # the end of the docstring or the next section's title
        if level == indent:
            names = [n.strip() for n in line.split(":", 1)[0].split(",")]
            for n in names:
                out[n] = ""
        else:
            for n in names:
                out[n] = f"{out[n]} {line.strip()}".strip()
    return out


def _plain(text: str) -> str:
    """RST markup of a docstring as plain text (````x```` → x, :func:`a.b` → a.b), ``%`` escaped."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "").replace("%", "%%")


def config_help(config_type: type[Any], name: str) -> str:
    """The help text of a config field: its ``metadata["help"]``, else its numpydoc description."""
    found = {f.name: f for f in dataclasses.fields(config_type)}
    if name not in found:
        raise AttributeError(f"{config_type.__name__} has no field {name!r}")
    meta_help = found[name].metadata.get("help")
    if isinstance(meta_help, str):
        return meta_help
    return _plain(_numpydoc_parameters(config_type.__doc__).get(name, ""))


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f"field {f.name!r} has no default; a config option needs one")


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """``X | None`` → ``(X, True)``; anything else → ``(hint, False)``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


def _shown(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, tuple | list):
        return " ".join(_shown(v) for v in value) or "none"
    return "none" if value is None else str(value)


def _field_kind(config_type: type[Any], name: str) -> tuple[Any, int | None, bool]:
    """(element type, None or its count as a tuple: 0 for ``tuple[X, ...]``, may be None) of a field."""
    hint, optional = _unwrap_optional(typing.get_type_hints(config_type)[name])
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0], 0, optional
        if len(set(args)) != 1:
            raise TypeError(f"{config_type.__name__}.{name}: only tuple[X, ...] and tuple[X, X, ...] fields "
                            "become options")
        return args[0], len(args), optional
    return hint, None, optional


def add_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    config_type: type[Any],
    options: Sequence[Option | str],
) -> None:
    """Add one option per listed field of the dataclass ``config_type`` to ``parser``.

    Parameters
    ----------
    parser : argparse parser or argument group
        Where the options go.
    config_type : dataclass type
        Its fields give each option's type (``int``, ``float``, ``str``, ``bool``, an :class:`enum.Enum`,
        ``tuple[X, ...]`` as ``nargs="+"``, each optionally ``| None``) and default.
    options : sequence of Option or str
        The exposed fields (a plain string is ``Option(field=...)``).

    Raises
    ------
    TypeError
        A field has no default or a type that has no option form.

    Notes
    -----
    ``tuple[X, ...]`` fields take one or more values (``nargs="+"``), fixed-length ``tuple[X, X]`` fields
    exactly that many.
    """
    fields = {f.name: f for f in dataclasses.fields(config_type)}
    for entry in options:
        opt = Option(entry) if isinstance(entry, str) else entry
        if opt.field not in fields:
            raise AttributeError(f"{config_type.__name__} has no field {opt.field!r}")
        default = _default(fields[opt.field])
        kind, count, _ = _field_kind(config_type, opt.field)
        is_tuple = count is not None
        text = opt.help if opt.help is not None else config_help(config_type, opt.field)
        flag = opt.flag or "--" + opt.field.replace("_", "-")
        kwargs: dict[str, Any] = {"dest": opt.field, "metavar": opt.metavar}
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
            kwargs.pop("metavar")
        else:
            if isinstance(kind, type) and issubclass(kind, enum.Enum):
                kwargs["choices"] = [e.value for e in kind]
                kwargs["type"] = type(next(iter(kind)).value)
            elif typing.get_origin(kind) is typing.Literal:
                kwargs["choices"] = list(typing.get_args(kind))
                kwargs["type"] = type(kwargs["choices"][0])
            elif kind in (int, float, str):
                kwargs["type"] = kind
                if opt.choices is not None:
                    kwargs["choices"] = list(opt.choices)
            else:
                raise TypeError(f"{config_type.__name__}.{opt.field}: type {kind!r} has no option form")
            if opt.repeat:
                kwargs["action"] = "append"
            elif is_tuple:
                kwargs["nargs"] = opt.nargs or count or "+"
        kwargs["default"] = (
            [getattr(v, "value", v) for v in default]
            if is_tuple and default is not None
            else getattr(default, "value", default)
        )
        kwargs["help"] = f"{text} (default: {_shown(default)})".lstrip()
        parser.add_argument(flag, **kwargs)


def config_from_args(
    config_type: type[C],
    args: argparse.Namespace,
    options: Sequence[Option | str],
    base: C | None = None,
    **extra: Any,
) -> C:
    """The config with the listed fields taken from ``args`` (as :func:`add_options` stored them).

    Parameters
    ----------
    config_type : dataclass type
        The config class.
    args : argparse.Namespace
        Parsed arguments.
    options : sequence of Option or str
        The fields given to :func:`add_options`.
    base : config_type, optional
        The config whose other fields are kept (default: the dataclass defaults; a field without a default
        must then come from ``options`` or ``extra``).
    **extra
        Further fields set directly.

    Returns
    -------
    config_type
        A new config; enum fields hold members, tuple fields tuples.
    """
    changes: dict[str, Any] = {}
    for entry in options:
        name = entry if isinstance(entry, str) else entry.field
        kind, count, _ = _field_kind(config_type, name)
        is_tuple = count is not None
        value = getattr(args, name)
        convert = kind if isinstance(kind, type) and issubclass(kind, enum.Enum) else None
        if value is not None and convert is not None:
            value = tuple(convert(v) for v in value) if is_tuple else convert(value)
        elif value is not None and is_tuple:
            value = tuple(value)
        changes[name] = value
    changes.update(extra)
    if base is None:
        return config_type(**changes)
    return dataclasses.replace(base, **changes)  # type: ignore[type-var]


def options_given(
    config_type: type[Any], args: argparse.Namespace, options: Sequence[Option | str]
) -> list[str]:
    """The listed fields whose parsed value is not the dataclass default (the flags the user set to another
    value), in the order listed."""
    fields = {f.name: f for f in dataclasses.fields(config_type)}
    given: list[str] = []
    for entry in options:
        name = entry if isinstance(entry, str) else entry.field
        default = _default(fields[name])
        plain = [getattr(v, "value", v) for v in default] if isinstance(default, tuple) else default
        value = getattr(args, name)
        if (list(value) if isinstance(value, tuple | list) else value) != getattr(plain, "value", plain):
            given.append(name)
    return given
