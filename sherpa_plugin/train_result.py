"""What ``fame train`` did, typed: per reduced group a :class:`GroupReport` (trained, skipped because its
model was up to date, or failed with the worker's traceback) and the whole call's :class:`TrainBundleResult`
(what :func:`sherpa_plugin.orchestrate.train_bundle` returns; ``fame train --json`` prints its ``to_json()``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from lhe_tools.groups import ReducedGroup

__all__ = ["GroupReport", "GroupStatus", "TrainBundleResult"]


class GroupStatus(enum.StrEnum):
    """What :func:`~sherpa_plugin.orchestrate.train_bundle` did with a group."""

    TRAINED = "trained"
    SKIPPED = "skipped"  # its model was up to date
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class GroupReport:
    """The outcome of one reduced group in :func:`~sherpa_plugin.orchestrate.train_bundle`.

    Parameters
    ----------
    name : str
        The group's (representative) process name.
    members : tuple of str
        Its member process names.
    status : GroupStatus
        Trained, skipped (up to date) or failed.
    val_frac_within_1pct : float or None
        Fraction of held-out points within 1% (None when failed).
    seconds : float or None
        Training wall time in s (None when failed).
    error, traceback : str or None
        What went wrong, for a failed group.
    """

    name: str
    members: tuple[str, ...]
    status: GroupStatus
    val_frac_within_1pct: float | None = None
    seconds: float | None = None
    error: str | None = None
    traceback: str | None = None

    @classmethod
    def of(
        cls, group: ReducedGroup, status: GroupStatus, train: Mapping[str, Any], **extra: Any
    ) -> GroupReport:
        """The report of ``group`` from its training figures (``val_frac_within_1pct``, ``seconds``)."""
        return cls(name=group.name, members=tuple(m.process for m in group.members), status=status,
                   val_frac_within_1pct=train.get("val_frac_within_1pct"), seconds=train.get("seconds"),
                   **extra)

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``name``, ``members``, ``status``, figures; ``error``, ``traceback`` when failed."""
        out: dict[str, Any] = {"name": self.name, "members": list(self.members), "status": str(self.status),
                               "val_frac_within_1pct": self.val_frac_within_1pct, "seconds": self.seconds}
        if self.status is GroupStatus.FAILED:
            out.update(error=self.error, traceback=self.traceback)
        return out


@dataclasses.dataclass(frozen=True)
class TrainBundleResult:
    """What :func:`~sherpa_plugin.orchestrate.train_bundle` did.

    Parameters
    ----------
    bundle : str
        The bundle folder.
    manifest : str
        Its manifest file.
    groups : tuple of GroupReport
        Every group found in the data, in plan order.
    workers : int
        Dask workers used (0 when nothing had to be trained).
    seconds : float
        Wall time of the whole call.
    """

    bundle: str
    manifest: str
    groups: tuple[GroupReport, ...]
    workers: int
    seconds: float

    def _count(self, status: GroupStatus) -> int:
        return sum(g.status is status for g in self.groups)

    @property
    def trained(self) -> int:
        """Groups trained in this call."""
        return self._count(GroupStatus.TRAINED)

    @property
    def skipped(self) -> int:
        """Groups whose model was up to date."""
        return self._count(GroupStatus.SKIPPED)

    @property
    def failed(self) -> int:
        """Groups that failed."""
        return self._count(GroupStatus.FAILED)

    def to_json(self) -> dict[str, Any]:
        """JSON object: ``bundle``, ``manifest``, ``groups``, ``trained``, ``skipped``, ``failed``,
        ``workers``, ``seconds``."""
        return {"bundle": self.bundle, "manifest": self.manifest,
                "groups": [g.to_json() for g in self.groups], "trained": self.trained,
                "skipped": self.skipped, "failed": self.failed,
                "workers": self.workers, "seconds": self.seconds}
