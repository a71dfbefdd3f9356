"""Chunked, resumable output in the fame dump format (``fame-dump/1``, SPEC §3.2), numpy + stdlib only.

Layout under the output folder ``OUT``:

* ``OUT/.parts/<channel>/part-00000.npz`` … — finished chunks, each written to a temporary name and renamed;
* ``OUT/.parts/chunk-00000.json`` — (event mode) marker that chunk 0 is complete for every channel;
* ``OUT/<channel>.npz`` — the final dump, assembled from the parts (temporary name + rename), after which the
  parts are removed.

A crash leaves only complete parts and no final file for unfinished channels, so a rerun resumes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

FORMAT = "fame-dump/1"


def _atomic_write(path: Path, suffix: str, write: Callable[[IO[bytes]], object]) -> Path:
    """``write`` into a temporary file next to ``path``, then rename it onto ``path`` (removed on failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_savez(path: Path, arrays: dict[str, Any]) -> Path:
    """``numpy.savez`` to a temporary file next to ``path``, then rename onto it."""
    return _atomic_write(path, ".npz.tmp", lambda fh: np.savez(fh, **arrays))


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to a temporary file next to ``path``, then rename onto it."""
    return _atomic_write(path, ".tmp", lambda fh: fh.write(text.encode("utf-8")))


class ChunkStore:
    """Finished chunks of every channel below ``out/.parts``.

    Parameters
    ----------
    out : Path
        The output folder of the dump.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.parts = out / ".parts"

    def final_path(self, channel: str) -> Path:
        """Where the assembled dump of ``channel`` goes."""
        return self.out / f"{channel}.npz"

    def part_path(self, channel: str, index: int) -> Path:
        return self.parts / channel / f"part-{index:05d}.npz"

    def done_parts(self, channel: str) -> list[Path]:
        """The finished parts of ``channel``, in chunk order."""
        folder = self.parts / channel
        return sorted(folder.glob("part-*.npz")) if folder.is_dir() else []

    def write_part(
        self, channel: str, index: int, columns: dict[str, np.ndarray], timing: dict[str, Any]
    ) -> Path:
        """Store one chunk: per-event float64 columns plus its timing figures (JSON)."""
        arrays: dict[str, Any] = {k: np.ascontiguousarray(v) for k, v in columns.items()}
        arrays["timing"] = np.array(json.dumps(timing))
        return atomic_savez(self.part_path(channel, index), arrays)

    def chunk_marker(self, index: int) -> Path:
        return self.parts / f"chunk-{index:05d}.json"

    def done_chunks(self) -> list[dict[str, Any]]:
        """Markers of complete event-mode chunks, in order (each a JSON dict)."""
        if not self.parts.is_dir():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.parts.glob("chunk-*.json"))]

    def drop_incomplete(self, n_complete: int) -> None:
        """Remove parts with chunk index ≥ ``n_complete`` (left by a crash in event mode)."""
        if not self.parts.is_dir():
            return
        for folder in self.parts.iterdir():
            if folder.is_dir():
                for part in folder.glob("part-*.npz"):
                    if int(part.stem.split("-")[1]) >= n_complete:
                        part.unlink()

    def load(self, channel: str) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
        """All parts of ``channel`` concatenated, and their timing dicts."""
        cols: dict[str, list[np.ndarray]] = {}
        timings: list[dict[str, Any]] = []
        for part in self.done_parts(channel):
            with np.load(part, allow_pickle=False) as npz:
                for key in npz.files:
                    if key == "timing":
                        timings.append(json.loads(str(npz[key][()])))
                    else:
                        cols.setdefault(key, []).append(npz[key])
        return {k: np.concatenate(v) for k, v in cols.items()}, timings

    def finish(self, channel: str, pdg: list[int], meta: dict[str, Any], drop_parts: bool = True) -> Path:
        """Assemble the final dump of ``channel`` (atomically) and remove its parts."""
        cols, _ = self.load(channel)
        if "momenta" not in cols or len(cols["momenta"]) == 0:
            raise ValueError(f"{channel}: no finished chunks in {self.parts / channel} to assemble")
        n = len(cols["momenta"])
        arrays: dict[str, Any] = {
            "momenta": cols.pop("momenta").astype(np.float64),
            "pdg": np.asarray(pdg, np.int32),
        }
        for key, col in cols.items():
            if col.shape != (n,):
                raise ValueError(f"{channel}: column {key!r} has shape {col.shape}, expected ({n},)")
            arrays[key] = col.astype(np.float64)
        full = dict(meta)
        full.update(format=FORMAT, process=channel, n_points=n)
        arrays["meta"] = np.array(json.dumps(full))
        path = atomic_savez(self.final_path(channel), arrays)
        if drop_parts:
            shutil.rmtree(self.parts / channel, ignore_errors=True)
        return path

    def cleanup(self) -> None:
        """Remove the parts folder once every channel is assembled."""
        shutil.rmtree(self.parts, ignore_errors=True)
