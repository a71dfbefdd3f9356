"""lhe_tools: event files (LHE, LHEH5, Sherpa ROOT ntuples, fame dumps) to columnar :class:`EventBatch`.

The lowest layer of fame; it imports no other fame package.
"""

from __future__ import annotations

from ._atomic import atomic_dir, atomic_path
from ._json import json_default
from ._source import EventFileError, LHEFormatError
from .batch import EventBatch, EventBatchError, concatenate
from .dump import FORMAT as DUMP_FORMAT
from .dump import DumpFormatError, read_dump, write_dump
from .groups import GroupingConfig, GroupMember, ReducedGroup, group_of, reduce_channels
from .lhe import LHEReader, read_lhe, read_lhe_header
from .lhe_header import LHEHeader, LHEInit, LHEProcess, WeightInfo
from .lheh5 import read_lheh5, read_lheh5_meta
from .ntuple import NtupleError, read_ntuple, write_ntuple
from .process import canonical_channel, parse_process_name, particle_name
from .reader import read_all, read_events

__all__ = [
    "DUMP_FORMAT",
    "DumpFormatError",
    "EventBatch",
    "EventBatchError",
    "EventFileError",
    "GroupMember",
    "GroupingConfig",
    "LHEFormatError",
    "LHEHeader",
    "LHEInit",
    "LHEProcess",
    "LHEReader",
    "NtupleError",
    "ReducedGroup",
    "WeightInfo",
    "atomic_dir",
    "atomic_path",
    "canonical_channel",
    "concatenate",
    "group_of",
    "json_default",
    "parse_process_name",
    "particle_name",
    "read_all",
    "read_dump",
    "read_events",
    "read_lhe",
    "read_lhe_header",
    "read_lheh5",
    "read_lheh5_meta",
    "read_ntuple",
    "reduce_channels",
    "write_dump",
    "write_ntuple",
]


def __dir__() -> list[str]:
    return list(__all__)
