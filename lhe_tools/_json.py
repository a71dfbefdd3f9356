"""JSON encoding of the numpy scalars, arrays and paths that fame writes into metadata and manifests."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import numpy as np


def json_default(obj: Any) -> Any:
    """``default=`` hook for :func:`json.dumps`: numpy scalars/arrays to Python values, paths to strings.

    Raises
    ------
    TypeError
        For anything else, naming its type (so metadata never silently becomes ``repr`` text).
    """
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, PurePath):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} as JSON")
