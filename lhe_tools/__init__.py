"""lhe_tools: event files (LHE, LHEH5, Sherpa ROOT ntuples, fame dumps) to columnar :class:`EventBatch`.

The lowest layer of fame; it imports no other fame package.
"""

from __future__ import annotations

from ._atomic import atomic_dir, atomic_path
from .batch import EventBatch, EventBatchError, concatenate
from .dump import FORMAT as DUMP_FORMAT
from .dump import DumpFormatError, read_dump, write_dump

__all__ = [
    "DUMP_FORMAT",
    "DumpFormatError",
    "EventBatch",
    "EventBatchError",
    "atomic_dir",
    "atomic_path",
    "concatenate",
    "read_dump",
    "write_dump",
]


def __dir__() -> list[str]:
    return list(__all__)
