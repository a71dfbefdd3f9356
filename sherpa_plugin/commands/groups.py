"""``fame groups``: partonic channels and reduced groups, from event files or a Sherpa process definition."""

from __future__ import annotations

import argparse
import collections
import logging
import re
from collections.abc import Sequence
from typing import Any

from . import add_json_flag

log = logging.getLogger("fame.groups")


def register(subparsers: Any) -> None:
    """Add the ``groups`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "groups",
        help="list channels and their reduced groups (from files or a Sherpa process definition)",
        description=(
            "List the partonic channels of event files (fame dumps, LHE, LHEH5, Sherpa ROOT ntuples; folders "
            "are expanded) or of a Sherpa process definition such as \"93 93 -> 11 -11 93{2}\", and group "
            "them the way Comix maps flavour-equivalent processes onto one matrix element.  Channel names "
            "and particle order follow Sherpa; each member records the permutation into its group's order."
        ),
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="event files or folders")
    p.add_argument(
        "--process",
        action="append",
        default=[],
        metavar="DEF",
        help='Sherpa process definition, e.g. "93 93 -> 11 -11 93{2}" (repeatable)',
    )
    p.add_argument(
        "--order",
        default=None,
        metavar="ORDERS",
        help='coupling orders for --process, e.g. "QCD:Any,EW:2" or "{QCD: Any, EW: 2}" (default: any)',
    )
    p.add_argument(
        "--mode",
        choices=("comix", "full"),
        default="comix",
        help="comix: exactly Comix's maps (default); full: also relabellings that reorder particles",
    )
    add_json_flag(p)
    p.set_defaults(func=run)


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


Channel = tuple[tuple[int, ...], int, str]


def _channels_from_files(paths: Sequence[str]) -> tuple[list[Channel], dict[str, int]]:
    from lhe_tools.reader import expand_paths, read_events

    events: collections.Counter[str] = collections.Counter()
    channels: dict[str, Channel] = {}
    for path in expand_paths(paths):
        for batch in read_events(path, chunk_size=200_000):
            channels.setdefault(batch.process, (tuple(int(c) for c in batch.pdg), batch.n_in, batch.process))
            events[batch.process] += len(batch)
        log.info("%s: %d channels so far", path, len(channels))
    return list(channels.values()), dict(events)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """List channels and groups; returns ``channels``, ``groups``, ``n_channels``, ``n_groups``, ..."""
    from lhe_tools.expand import expand_process
    from lhe_tools.groups import GroupingConfig, reduce_channels
    from lhe_tools.process import canonical_channel

    if bool(args.paths) == bool(args.process):
        raise ValueError("give either event files/folders (PATH...) or --process DEF (exactly one of them)")
    if args.order is not None and not args.process:
        raise ValueError("--order applies to --process definitions only")
    events: dict[str, int] = {}
    if args.process:
        order = parse_order(args.order)
        found = [ch for definition in args.process for ch in expand_process(definition, order)]
        channels: list[Channel] = [(pdg, n_in, canonical_channel(pdg, n_in)[0]) for pdg, n_in in found]
    else:
        channels, events = _channels_from_files(args.paths)
    named: list[tuple[tuple[int, ...], int, str]] = []  # (pdg, n_in, Sherpa name)
    unnamed: list[Channel] = []
    for pdg, n_in, process in channels:
        try:
            named.append((pdg, n_in, canonical_channel(pdg, n_in)[0]))
        except ValueError:
            unnamed.append((pdg, n_in, process))
    if unnamed:
        log.warning(
            "%d channels have no Sherpa name (e.g. %s); each is listed as its own group",
            len(unnamed),
            unnamed[0][2],
        )
    groups = reduce_channels([(pdg, n_in) for pdg, n_in, _ in named], config=GroupingConfig(mode=args.mode))
    group_of = {m.process: g.name for g in groups for m in g.members}
    group_of.update({process: process for _, _, process in unnamed})
    channel_rows: dict[str, dict[str, Any]] = {}
    for pdg, n_in, name in named + unnamed:
        row: dict[str, Any] = {"name": name, "pdg": list(pdg), "n_in": n_in, "group": group_of[name]}
        if events:
            row["events"] = events[name]
        channel_rows.setdefault(name, row)
    group_rows = []
    multiplicity: dict[str, dict[str, int]] = {}
    for g in groups:
        members = [
            {"process": m.process, "pdg": list(m.pdg), "permutation": list(m.permutation)} for m in g.members
        ]
        row = {"name": g.name, "pdg": list(g.pdg), "n_in": g.n_in, "members": members}
        if events:
            row["events"] = sum(events[m.process] for m in g.members)
        group_rows.append(row)
        counts = multiplicity.setdefault(g.name.split("__")[0], {"channels": 0, "groups": 0})
        counts["channels"] += len(g.members)
        counts["groups"] += 1
    for pdg, n_in, process in unnamed:
        identity = list(range(len(pdg)))
        single = {"process": process, "pdg": list(pdg), "permutation": identity}
        row = {"name": process, "pdg": list(pdg), "n_in": n_in, "members": [single], "sherpa_name": False}
        if events:
            row["events"] = events[process]
        group_rows.append(row)
        counts = multiplicity.setdefault(process.split("__")[0], {"channels": 0, "groups": 0})
        counts["channels"] += 1
        counts["groups"] += 1
    if not getattr(args, "json", False):
        for key, counts in sorted(multiplicity.items()):
            print(f"{key}: {counts['channels']} channels in {counts['groups']} groups")
        for row in group_rows:
            names = ", ".join(m["process"] for m in row["members"])
            print(f"{row['name']}  [{len(row['members'])}]  {names}")
    return {
        "source": "process" if args.process else "files",
        "mode": args.mode,
        "n_channels": len(channel_rows),
        "n_groups": len(group_rows),
        "by_multiplicity": multiplicity,
        "channels": list(channel_rows.values()),
        "groups": group_rows,
    }
