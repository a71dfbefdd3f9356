"""lhe_tools: event files (LHE, LHEH5, Sherpa ROOT ntuples, fame dumps) to columnar :class:`EventBatch`.

The lowest layer of fame; it imports no other fame package.
"""

from __future__ import annotations

from ._atomic import atomic_dir, atomic_path
from .batch import EventBatch, EventBatchError, concatenate
from .dump import FORMAT as DUMP_FORMAT
from .dump import DumpFormatError, read_dump, write_dump
from .groups import GroupingConfig, GroupMember, ReducedGroup, group_of, reduce_channels
from .process import canonical_channel, parse_process_name, particle_name

__all__ = [
    "DUMP_FORMAT",
    "DumpFormatError",
    "EventBatch",
    "EventBatchError",
    "GroupMember",
    "GroupingConfig",
    "ReducedGroup",
    "atomic_dir",
    "atomic_path",
    "canonical_channel",
    "concatenate",
    "group_of",
    "parse_process_name",
    "particle_name",
    "read_dump",
    "reduce_channels",
    "write_dump",
]


def __dir__() -> list[str]:
    return list(__all__)
