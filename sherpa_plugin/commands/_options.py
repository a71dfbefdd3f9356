"""argparse options made from the fields of a config dataclass: the dataclass is the one source of defaults.

A command lists the fields it exposes as :class:`Option` entries; :func:`add_options` adds one argparse
option per field, with its type, its choices (an :class:`enum.Enum` field offers its members' values), the
dataclass default and a help text that ends in that default; :func:`config_from_args` builds the config from
the parsed arguments.  No command restates a default.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import re
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

__all__ = ["Option", "add_options", "config_from_args", "config_help"]

C = TypeVar("C")


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
    metavar : str or None
        Placeholder shown in the usage line.
    choices : tuple or None
        Allowed values of a non-enum field (an :class:`enum.Enum` field offers its members' values).
    """

    field: str
    flag: str | None = None
    help: str | None = None
    metavar: str | None = None
    choices: tuple[Any, ...] | None = None


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
        return " ".join(_shown(v) for v in value)
    return "none" if value is None else str(value)


def _field_kind(config_type: type[Any], name: str) -> tuple[Any, bool, bool]:
    """(element type, is a tuple of it, may be None) of a field."""
    hint, optional = _unwrap_optional(typing.get_type_hints(config_type)[name])
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"{config_type.__name__}.{name}: only tuple[X, ...] fields become options")
        return args[0], True, optional
    return hint, False, optional


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
    """
    fields = {f.name: f for f in dataclasses.fields(config_type)}
    for entry in options:
        opt = Option(entry) if isinstance(entry, str) else entry
        if opt.field not in fields:
            raise AttributeError(f"{config_type.__name__} has no field {opt.field!r}")
        default = _default(fields[opt.field])
        kind, is_tuple, _ = _field_kind(config_type, opt.field)
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
            if is_tuple:
                kwargs["nargs"] = "+"
        kwargs["default"] = (
            [getattr(v, "value", v) for v in default] if is_tuple else getattr(default, "value", default)
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
        The config whose other fields are kept (default ``config_type()``).
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
        kind, is_tuple, _ = _field_kind(config_type, name)
        value = getattr(args, name)
        convert = kind if isinstance(kind, type) and issubclass(kind, enum.Enum) else None
        if value is not None and convert is not None:
            value = tuple(convert(v) for v in value) if is_tuple else convert(value)
        elif value is not None and is_tuple:
            value = tuple(value)
        changes[name] = value
    changes.update(extra)
    start = base if base is not None else config_type()
    return dataclasses.replace(start, **changes)  # type: ignore[type-var]
