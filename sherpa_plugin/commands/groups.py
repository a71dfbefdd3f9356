"""``fame groups``: partonic channels and reduced groups, from event files or a Sherpa process definition."""

from __future__ import annotations

import argparse
from typing import Any

from ._options import add_command


def register(subparsers: Any) -> None:
    """Add the ``groups`` subcommand."""
    p = add_command(
        subparsers,
        "groups",
        run=run,
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    """List channels and groups (:func:`lhe_tools.channel_table.group_table`); returns ``channels``,
    ``groups``, ``n_channels``, ``n_groups``, ..."""
    from lhe_tools.channel_table import channels_from_files, channels_from_process, group_table, parse_order

    if bool(args.paths) == bool(args.process):
        raise ValueError("give either event files/folders (PATH...) or --process DEF (exactly one of them)")
    if args.order is not None and not args.process:
        raise ValueError("--order applies to --process definitions only")
    if args.process:
        table = group_table(channels_from_process(args.process, parse_order(args.order)), mode=args.mode,
                            source="process")
    else:
        channels, events = channels_from_files(args.paths)
        table = group_table(channels, events, mode=args.mode, source="files")
    if not getattr(args, "json", False):
        print("\n".join(table.lines()))
    return table.to_json()
