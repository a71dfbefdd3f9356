"""The fame dump (``.npz``, format ``fame-dump/1``, SPEC §3.2): read, validate, write.

Arrays ``momenta (N,n,4) f8``, ``pdg (n,) i4``, ``me2 (N,) f8`` and optional per-event columns, plus ``meta``:
a JSON string with at least ``process`` and ``format``.  Named extra weights (e.g. LHEF3 ``<wgt id=...>``) are
stored as one array ``extra_weights (N, K) f8`` whose column ids are ``meta["extra_weight_ids"]``.
Files are written atomically (temp name + rename).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._atomic import atomic_path
from ._json import json_default
from ._physics import check_batch
from .batch import OPTIONAL_COLUMNS, EventBatch, EventBatchError

FORMAT = "fame-dump/1"
SUPPORTED_FORMATS = (FORMAT,)
_REQUIRED = ("momenta", "pdg", "meta")

F8 = npt.NDArray[np.float64]


class DumpFormatError(ValueError):
    """A file is not a valid fame dump; the message names the file and what was wrong."""


def read_dump(path: str | os.PathLike[str]) -> EventBatch:
    """Read a fame dump into an :class:`~lhe_tools.batch.EventBatch`.

    Parameters
    ----------
    path : path
        A ``.npz`` written by the Sherpa-side dumper, by :func:`write_dump` or by ``fame generate``.

    Returns
    -------
    EventBatch
        ``weight`` is the stored ``weight`` column, else ``ps_weight * me2`` when both exist, else ones.
        ``meta`` holds the decoded JSON plus ``source`` (the path).

    Raises
    ------
    DumpFormatError
        Missing arrays, wrong shapes or dtypes, undecodable ``meta``, or an unknown ``format``.
    """
    path = Path(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError as err:
        raise DumpFormatError(f"{path}: no such file") from err
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DumpFormatError(
            f"{path}: not a readable fame dump (the .npz that fame ingest, fame generate and fame sherpa "
            f"dump write); convert event files with 'fame ingest {path} --out DIR' first "
            f"({type(err).__name__})"
        ) from err
    with npz:
        missing = [k for k in _REQUIRED if k not in npz.files]
        if missing:
            raise DumpFormatError(
                f"{path}: missing array(s) {missing}; a fame dump has {list(_REQUIRED)} "
                f"(found {sorted(npz.files)})"
            )
        try:
            meta = json.loads(str(npz["meta"][()]))
        except json.JSONDecodeError as err:
            raise DumpFormatError(f"{path}: 'meta' is not valid JSON ({err})") from err
        if not isinstance(meta, dict):
            raise DumpFormatError(f"{path}: 'meta' must be a JSON object, found {type(meta).__name__}")
        fmt = meta.get("format")
        if fmt not in SUPPORTED_FORMATS:
            raise DumpFormatError(
                f"{path}: unknown dump format {fmt!r}; this fame reads {list(SUPPORTED_FORMATS)}"
            )
        momenta = npz["momenta"]
        if momenta.ndim != 3 or momenta.shape[2] != 4 or momenta.dtype != np.float64:
            raise DumpFormatError(
                f"{path}: 'momenta' must be float64 (N, n, 4), found {momenta.dtype} {momenta.shape}"
            )
        n_ev = momenta.shape[0]
        pdg = npz["pdg"]
        if pdg.shape != (momenta.shape[1],) or not np.issubdtype(pdg.dtype, np.integer):
            raise DumpFormatError(
                f"{path}: 'pdg' must be integer ({momenta.shape[1]},), found {pdg.dtype} {pdg.shape}"
            )
        cols: dict[str, F8] = {}
        for name in (*OPTIONAL_COLUMNS, "weight"):
            if name in npz.files:
                arr = npz[name]
                if arr.shape != (n_ev,):
                    raise DumpFormatError(
                        f"{path}: column {name!r} has shape {arr.shape}, expected ({n_ev},)"
                    )
                cols[name] = arr.astype(np.float64)
        extra: dict[str, F8] = {}
        if "extra_weights" in npz.files:
            ids = meta.get("extra_weight_ids")
            table = npz["extra_weights"]
            if not isinstance(ids, list) or table.shape != (n_ev, len(ids)):
                raise DumpFormatError(
                    f"{path}: 'extra_weights' has shape {table.shape} but meta['extra_weight_ids'] "
                    f"is {ids!r}; expected ({n_ev}, len(ids))"
                )
            extra = {str(k): table[:, i].astype(np.float64) for i, k in enumerate(ids)}
        if "me2" in cols and not np.all(np.isfinite(cols["me2"])):
            bad = int(np.flatnonzero(~np.isfinite(cols["me2"]))[0])
            raise DumpFormatError(f"{path}: 'me2' is not finite at event {bad}")
    weight = cols.pop("weight", None)
    if weight is None:
        weight = cols["ps_weight"] * cols["me2"] if "ps_weight" in cols and "me2" in cols else np.ones(n_ev)
    meta["source"] = str(path)
    try:
        n_in = int(meta.get("n_in", 2))
    except (TypeError, ValueError) as err:
        raise DumpFormatError(f"{path}: meta['n_in'] must be an integer, found {meta.get('n_in')!r}") from err
    if not isinstance(meta.get("process", ""), str):
        raise DumpFormatError(f"{path}: meta['process'] must be a string, found {meta['process']!r}")
    try:
        batch = EventBatch(
            momenta=momenta,
            pdg=pdg.astype(np.int32),
            weight=weight,
            process=str(meta.get("process", "")),
            n_in=n_in,
            meta=meta,
            extra_weights=extra,
            **cols,
        )
    except EventBatchError as err:
        raise DumpFormatError(f"{path}: {err}") from err
    check_batch(batch, str(path))
    return batch


def write_dump(
    path: str | os.PathLike[str],
    batch: EventBatch,
    meta: Mapping[str, Any] | None = None,
    *,
    store_weight: bool = True,
) -> Path:
    """Write ``batch`` as a fame dump, atomically.

    Parameters
    ----------
    path : path
        Output ``.npz``.
    batch : EventBatch
        The events; all set optional columns are stored.
    meta : mapping, optional
        Metadata merged over ``batch.meta``; ``format`` and ``process`` are always set by this function.
    store_weight : bool
        Also store the ``weight`` column.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    full_meta = {k: v for k, v in batch.meta.items() if k != "source"}
    full_meta.update(meta or {})
    full_meta["format"] = FORMAT
    full_meta["process"] = batch.process
    full_meta.setdefault("n_in", batch.n_in)
    arrays: dict[str, Any] = {"momenta": batch.momenta, "pdg": batch.pdg.astype(np.int32)}
    for name, col in batch.columns().items():
        if name != "weight" or store_weight:
            arrays[name] = col
    if batch.extra_weights:
        ids = sorted(batch.extra_weights)
        arrays["extra_weights"] = np.stack([batch.extra_weights[k] for k in ids], axis=1)
        full_meta["extra_weight_ids"] = ids
    else:
        full_meta.pop("extra_weight_ids", None)
    arrays["meta"] = np.array(json.dumps(full_meta, default=json_default))
    with atomic_path(path, suffix=".npz") as tmp, tmp.open("wb") as fh:
        np.savez(fh, **arrays)
    return path
