"""A command that finished only in part (``fame train`` with some failed groups: exit status 3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PartialResult"]


class PartialResult(Exception):
    """A command finished only in part: ``result`` is what it did, the message what failed (exit status 3)."""

    def __init__(self, message: str, result: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.result = dict(result)
