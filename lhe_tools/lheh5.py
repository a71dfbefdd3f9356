"""LHEH5 (HDF5 Les Houches events, arXiv:1905.05120 / 2309.13154) into per-channel :class:`EventBatch`es.

Datasets ``init``, ``procInfo``, ``events`` and ``particles``, either 2-d float arrays whose column names are
in the ``properties`` attribute (the hpcgen / Sherpa layout, version 2.x) or compound arrays with named
fields.
Events are read ``chunk_size`` rows at a time (h5py slicing), so memory does not grow with the file.
Event column ``NOMINAL`` (or ``weight``) is the event weight; ``fscale``/``rscale`` (GeV) become
``muf2``/``mur2``; ``aqcd`` becomes ``alpha_s``; any column beyond the standard ones is an extra weight, as
in pylhe's LHEH5 reader.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._channels import FlatEvents, split_channels
from ._source import LHEFormatError
from .batch import EventBatch
from .lhe_header import LHEInit, LHEProcess, init_meta

__all__ = ["read_lheh5", "read_lheh5_meta"]

_EVENT_STANDARD = (
    "pid",
    "nparticles",
    "start",
    "trials",
    "scale",
    "fscale",
    "rscale",
    "aqed",
    "aqcd",
    "NOMINAL",
    "weight",
)
_DEFAULT_COLUMNS = {
    "init": (
        "beamA",
        "beamB",
        "energyA",
        "energyB",
        "PDFgroupA",
        "PDFgroupB",
        "PDFsetA",
        "PDFsetB",
        "weightingStrategy",
        "numProcesses",
    ),
    "procInfo": ("procId", "npLO", "npNLO", "xSection", "error", "unitWeight"),
    "events": _EVENT_STANDARD[:-1],  # files without named columns: no separate "weight"
    "particles": (
        "id",
        "status",
        "mother1",
        "mother2",
        "color1",
        "color2",
        "px",
        "py",
        "pz",
        "e",
        "m",
        "lifetime",
        "spin",
    ),
}


def _names(ds: Any, key: str) -> list[str]:
    if ds.dtype.names:
        return list(ds.dtype.names)
    raw = ds.attrs.get("properties")
    if raw is None:
        return list(_DEFAULT_COLUMNS[key])
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(raw).reshape(-1)]


class _Table:
    """Column access to a 2-d or compound HDF5 dataset, by name."""

    def __init__(self, path: Path, ds: Any, key: str) -> None:
        self.path, self.ds, self.key = path, ds, key
        self.names = _names(ds, key)
        self.compound = bool(ds.dtype.names)
        if not self.compound and (ds.ndim != 2 or ds.shape[1] != len(self.names)):
            raise LHEFormatError(
                path, f"dataset '{key}' has shape {ds.shape} but {len(self.names)} column names {self.names}"
            )

    def __len__(self) -> int:
        return int(self.ds.shape[0])

    def rows(self, start: int, stop: int) -> Any:
        return self.ds[start:stop]

    def col(self, rows: Any, name: str, default: float | None = None) -> npt.NDArray[np.float64]:
        if name not in self.names:
            if default is None:
                raise LHEFormatError(
                    self.path, f"dataset '{self.key}' has no column {name!r} (has {self.names})"
                )
            return np.full(len(rows), default)
        if self.compound:
            return np.asarray(rows[name], dtype=np.float64)
        return np.asarray(rows[:, self.names.index(name)], dtype=np.float64)


def _open(path: Path) -> Any:
    import h5py  # a dependency; imported here only to keep ``import lhe_tools`` light

    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise LHEFormatError(path, f"not a readable HDF5 file ({err})") from err


def _require(path: Path, f: Any, keys: Sequence[str]) -> None:
    missing = [k for k in keys if k not in f]
    if missing:
        raise LHEFormatError(
            path, f"not an LHEH5 file: missing dataset(s) {missing}; found {sorted(f.keys())}"
        )


def _meta(path: Path, f: Any) -> dict[str, Any]:
    ds = f["init"]
    names = _names(ds, "init")
    if ds.dtype.names:
        record = ds[()] if ds.ndim == 0 else ds[0]
        values = [float(record[n]) for n in names]
    else:
        values = [float(v) for v in np.asarray(ds[()], dtype=np.float64).reshape(-1)[: len(names)]]
    if len(values) != len(names):
        raise LHEFormatError(path, f"dataset 'init' has {len(values)} values for columns {names}")
    init = dict(zip(names, values, strict=True))

    def get(n: str) -> float:
        if n not in init:
            raise LHEFormatError(path, f"dataset 'init' has no column {n!r} (has {names})")
        return init[n]

    processes: list[LHEProcess] = []
    if "procInfo" in f:
        proc = _Table(path, f["procInfo"], "procInfo")
        prow = proc.rows(0, len(proc))
        for k in range(len(proc)):
            processes.append(
                LHEProcess(
                    xsec=float(proc.col(prow, "xSection")[k]),
                    xerr=float(proc.col(prow, "error")[k]),
                    xmax=float(proc.col(prow, "unitWeight")[k]),
                    lprup=int(proc.col(prow, "procId")[k]),
                )
            )
    lhe_init = LHEInit(
        beams=(int(get("beamA")), int(get("beamB"))),
        energies=(get("energyA"), get("energyB")),
        pdf_group=(int(get("PDFgroupA")), int(get("PDFgroupB"))),
        pdf_set=(int(get("PDFsetA")), int(get("PDFsetB"))),
        idwtup=int(get("weightingStrategy")),
        nprup=int(get("numProcesses")),
        processes=tuple(processes),
    )
    events = _Table(path, f["events"], "events")
    weight_ids = [n for n in events.names if n not in _EVENT_STANDARD]
    version = [int(v) for v in np.asarray(f["version"][()]).reshape(-1)] if "version" in f else []
    return {
        "lheh5_version": ".".join(str(v) for v in version),
        "generator": "",
        **init_meta(lhe_init),
        "weight_ids": weight_ids,
        "source": str(path),
        "source_format": "lheh5",
    }


def read_lheh5_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The run metadata of an LHEH5 file (beams, energies, PDF ids, IDWTUP, processes, weight ids)."""
    p = Path(path)
    with _open(p) as f:
        _require(p, f, ("init", "events", "particles"))
        return _meta(p, f)


def _ints(path: Path, values: npt.NDArray[np.float64], what: str, first: int) -> npt.NDArray[np.int64]:
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise LHEFormatError(path, f"{what} must be an integer, found {values[k]}", event=first + k)
    return values.astype(np.int64)


def read_lheh5(path: str | os.PathLike[str], *, chunk_size: int | None = None) -> Iterator[EventBatch]:
    """Stream an LHEH5 file as per-channel :class:`EventBatch`es, ``chunk_size`` events at a time.

    Raises
    ------
    LHEFormatError
        Missing datasets or columns, particle ranges outside ``particles``, non-finite momenta or weights.
    """
    p = Path(path)
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive number of events, got {chunk_size}")
    with _open(p) as f:
        _require(p, f, ("init", "events", "particles"))
        meta = _meta(p, f)
        events = _Table(p, f["events"], "events")
        parts = _Table(p, f["particles"], "particles")
        n_total, n_parts = len(events), len(parts)
        step = chunk_size or max(n_total, 1)
        weight_name = "NOMINAL" if "NOMINAL" in events.names else "weight"
        for first in range(0, n_total, step):
            rows = events.rows(first, min(first + step, n_total))
            nup = _ints(p, events.col(rows, "nparticles"), "events.nparticles", first)
            start = _ints(p, events.col(rows, "start"), "events.start", first)
            if np.any(nup < 0) or np.any(start < 0) or np.any(start + nup > n_parts):
                k = int(np.flatnonzero((nup < 0) | (start < 0) | (start + nup > n_parts))[0])
                raise LHEFormatError(
                    p,
                    f"particles [{start[k]}, {start[k] + nup[k]}) outside the 'particles' dataset "
                    f"of {n_parts} rows",
                    event=first + k,
                )
            lo, hi = (int(start.min()), int((start + nup).max())) if len(nup) else (0, 0)
            prow = parts.rows(lo, hi)
            pidx = np.repeat(start - lo - np.concatenate(([0], np.cumsum(nup)[:-1])), nup) + np.arange(
                nup.sum()
            )
            mom = np.stack([parts.col(prow, c)[pidx] for c in ("e", "px", "py", "pz")], axis=1)
            weight = events.col(rows, weight_name)
            for what, arr in (("momentum", mom), ("event weight", weight)):
                bad = ~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)
                if bad.any():
                    k = int(np.flatnonzero(bad)[0])
                    raise LHEFormatError(p, f"{what} is not finite (row {k} of this chunk)", event=first + k)
            columns: dict[str, npt.NDArray[np.float64]] = {}
            trials = events.col(rows, "trials", np.nan)
            if not np.all(np.isnan(trials)):
                columns["trials"] = trials
            for src, dst in (("fscale", "muf2"), ("rscale", "mur2")):
                v = events.col(rows, src, np.nan)
                if not np.all(np.isnan(v)):
                    columns[dst] = v * v
            aqcd = events.col(rows, "aqcd", np.nan)
            if np.any(aqcd > 0):
                columns["alpha_s"] = np.where(aqcd > 0, aqcd, np.nan)
            flat = FlatEvents(
                nup=nup,
                idprup=_ints(p, events.col(rows, "pid", 0.0), "events.pid", first),
                weight=weight,
                pdg=_ints(p, parts.col(prow, "id")[pidx], "particles.id", first),
                status=_ints(p, parts.col(prow, "status")[pidx], "particles.status", first),
                momenta=mom,
                columns=columns,
                extra_weights={w: events.col(rows, w) for w in meta["weight_ids"]},
            )
            yield from split_channels(flat, meta, first_event=first)
