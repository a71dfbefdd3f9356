"""The channel and reduced-group table of event files or a process definition (``fame groups``).

Channels come from event files (:func:`channels_from_files`: every batch's pdg and process name, with event
counts) or from a Sherpa process definition (:func:`channels_from_process`); :func:`group_table` groups those
with a Sherpa name the way Comix maps flavour-equivalent processes onto one matrix element
(:func:`lhe_tools.groups.reduce_channels`) and keeps every channel without one as a group of its own.
"""

from __future__ import annotations

import collections
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .expand import expand_process
from .groups import GroupingConfig, reduce_channels
from .process import canonical_channel
from .reader import expand_paths, read_events

__all__ = [
    "Channel", "ChannelRow", "GroupRow", "GroupTable", "channels_from_files", "channels_from_process",
    "group_table", "parse_order",
]

log = logging.getLogger("fame.groups")

#: one channel: (pdg ids, incoming count, process name)
Channel = tuple[tuple[int, ...], int, str]


def parse_order(text: str | None) -> dict[str, int | str] | None:
    """``"QCD:Any,EW:2"`` / ``"{QCD: Any, EW: 2}"`` / ``"EW=2"`` -> ``{"QCD": "Any", "EW": 2}``."""
    if text is None:
        return None
    body = text.strip().removeprefix("{").removesuffix("}")
    out: dict[str, int | str] = {}
    for item in filter(None, (part.strip() for part in body.split(","))):
        match = re.fullmatch(r"(\w+)\s*[:=]\s*(\S+)", item)
        if match is None:
            raise ValueError(f"--order {text!r}: cannot read {item!r} (expected NAME:VALUE, e.g. EW:2)")
        key, value = match[1].upper(), match[2]
        if key not in ("QCD", "EW"):
            raise ValueError(f"--order {text!r}: unknown coupling {match[1]!r} (expected QCD or EW)")
        if value.lower() in ("any", "*"):
            out[key] = "Any"
        elif value.isdigit():
            out[key] = int(value)
        else:
            raise ValueError(f"--order {text!r}: {key} must be a non-negative integer or Any, got {value!r}")
    return out


def channels_from_process(definitions: Sequence[str], order: Mapping[str, int | str] | None) -> list[Channel]:
    """The channels of Sherpa process definitions (e.g. ``"93 93 -> 11 -11 93{2}"``) at coupling ``order``."""
    found = [ch for definition in definitions for ch in expand_process(definition, order)]
    return [(pdg, n_in, canonical_channel(pdg, n_in)[0]) for pdg, n_in in found]


def channels_from_files(paths: Sequence[str]) -> tuple[list[Channel], dict[str, int]]:
    """The channels of event files or folders, in first-seen order, and the events per channel."""
    events: collections.Counter[str] = collections.Counter()
    channels: dict[str, Channel] = {}
    for path in expand_paths(paths):
        for batch in read_events(path, chunk_size=200_000):
            channels.setdefault(batch.process, (tuple(int(c) for c in batch.pdg), batch.n_in, batch.process))
            events[batch.process] += len(batch)
        log.info("%s: %d channels so far", path, len(channels))
    return list(channels.values()), dict(events)


@dataclass(frozen=True)
class ChannelRow:
    """One channel of the table: its name, pdg ids, incoming count, group and (from files) events."""

    name: str
    pdg: tuple[int, ...]
    n_in: int
    group: str
    events: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``name``, ``pdg``, ``n_in``, ``group`` (and ``events`` when counted)."""
        out: dict[str, Any] = {"name": self.name, "pdg": list(self.pdg), "n_in": self.n_in,
                               "group": self.group}
        if self.events is not None:
            out["events"] = self.events
        return out


@dataclass(frozen=True)
class GroupRow:
    """One reduced group: representative name and pdg, members ``(process, pdg, permutation)``, events.

    ``sherpa_name`` is False for a channel without a Sherpa name, kept as a group of its own.
    """

    name: str
    pdg: tuple[int, ...]
    n_in: int
    members: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]
    events: int | None = None
    sherpa_name: bool = True

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``name``, ``pdg``, ``n_in``, ``members`` (and ``sherpa_name: false``, ``events``)."""
        out: dict[str, Any] = {
            "name": self.name, "pdg": list(self.pdg), "n_in": self.n_in,
            "members": [{"process": p, "pdg": list(pdg), "permutation": list(perm)}
                        for p, pdg, perm in self.members],
        }
        if not self.sherpa_name:  # before ``events``: the key order of the table's JSON
            out["sherpa_name"] = False
        if self.events is not None:
            out["events"] = self.events
        return out


@dataclass(frozen=True)
class GroupTable:
    """Channels and their reduced groups, with channel and group counts per multiplicity (``"2_3"``, ...)."""

    source: str
    mode: str
    channels: tuple[ChannelRow, ...]
    groups: tuple[GroupRow, ...]
    by_multiplicity: Mapping[str, Mapping[str, int]]

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``source``, ``mode``, ``n_channels``, ``n_groups``, ``by_multiplicity``, ``channels``,
        ``groups``."""
        return {
            "source": self.source, "mode": self.mode, "n_channels": len(self.channels),
            "n_groups": len(self.groups),
            "by_multiplicity": {k: dict(v) for k, v in self.by_multiplicity.items()},
            "channels": [c.to_json() for c in self.channels], "groups": [g.to_json() for g in self.groups],
        }

    def lines(self) -> list[str]:
        """The plain-text table: counts per multiplicity, then one line per group with its members."""
        out = [f"{key}: {c['channels']} channels in {c['groups']} groups"
               for key, c in sorted(self.by_multiplicity.items())]
        out += [f"{g.name}  [{len(g.members)}]  {', '.join(m[0] for m in g.members)}" for g in self.groups]
        return out


def group_table(
    channels: Sequence[Channel], events: Mapping[str, int] | None = None, *, mode: str = "comix",
    source: str = "files",
) -> GroupTable:
    """Group ``channels`` (see module docstring); ``events`` per channel name where counted.

    Parameters
    ----------
    channels : sequence of (pdg, n_in, name)
        The channels.
    events : mapping of str to int, optional
        Events per channel (from files).
    mode : str
        ``"comix"`` (exactly Comix's maps) or ``"full"`` (also relabellings that reorder particles).
    source : str
        ``"files"`` or ``"process"``, recorded in the table.
    """
    counted = dict(events or {})
    named: list[Channel] = []
    unnamed: list[Channel] = []
    for pdg, n_in, process in channels:
        try:
            named.append((pdg, n_in, canonical_channel(pdg, n_in)[0]))
        except ValueError:
            unnamed.append((pdg, n_in, process))
    if unnamed:
        log.warning("%d channels have no Sherpa name (e.g. %s); each is listed as its own group",
                    len(unnamed), unnamed[0][2])
    groups = reduce_channels([(pdg, n_in) for pdg, n_in, _ in named], config=GroupingConfig(mode=mode))
    group_of = {m.process: g.name for g in groups for m in g.members}
    group_of.update({process: process for _, _, process in unnamed})
    rows: dict[str, ChannelRow] = {}
    for pdg, n_in, name in named + unnamed:
        rows.setdefault(name, ChannelRow(name, tuple(pdg), n_in, group_of[name], counted.get(name)))
    group_rows: list[GroupRow] = []
    multiplicity: dict[str, dict[str, int]] = {}
    for g in groups:
        members = tuple((m.process, tuple(m.pdg), tuple(m.permutation)) for m in g.members)
        total = sum(counted[m.process] for m in g.members) if counted else None
        group_rows.append(GroupRow(g.name, tuple(g.pdg), g.n_in, members, total))
    for pdg, n_in, process in unnamed:
        single = ((process, tuple(pdg), tuple(range(len(pdg)))),)
        group_rows.append(
            GroupRow(process, tuple(pdg), n_in, single, counted.get(process), sherpa_name=False)
        )
    for row in group_rows:
        counts = multiplicity.setdefault(row.name.split("__")[0], {"channels": 0, "groups": 0})
        counts["channels"] += len(row.members)
        counts["groups"] += 1
    return GroupTable(source, mode, tuple(rows.values()), tuple(group_rows), multiplicity)
