"""Resuming ``fame train``: the bundle folder it may write into, and the record ``models/<group>.json``
(format ``fame-bundle-group/1``) written beside each trained model: its sha256 and the fingerprint of the
training configuration and the group's data.  A group whose record matches and whose model file still has
the recorded sha256 is not trained again (:func:`up_to_date`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lhe_tools import atomic_path
from lhe_tools.groups import ReducedGroup

from .bundle_manifest import FORMAT as BUNDLE_FORMAT
from .bundle_manifest import MANIFEST, MODELS, BundleGroup, model_relpath, sha256_file
from .train_tasks import GroupResult

__all__ = ["SIDECAR_FORMAT", "Sidecar", "check_bundle_dir", "store_model", "up_to_date"]

SIDECAR_FORMAT = "fame-bundle-group/1"


def check_bundle_dir(root: Path, *, force: bool = False) -> None:
    """Refuse to train into a folder that is neither new, empty, nor a (partial) bundle, unless ``force``.

    A bundle holds ``manifest.json`` of format ``fame-bundle/1``, or (an interrupted first run) only a
    ``models/`` folder of models and their sidecars.  Training writes ``manifest.json``,
    ``sherpa-snippet.yaml`` and ``models/``; it never deletes anything.
    """
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root}: exists and is not a folder; --out takes the bundle folder")
    if force or not root.is_dir() or not any(root.iterdir()):
        return
    manifest = root / MANIFEST
    if manifest.is_file():
        try:
            fmt = json.loads(manifest.read_text(encoding="utf-8")).get("format")
        except (ValueError, AttributeError, OSError):
            fmt = None
        if fmt == BUNDLE_FORMAT:
            return
    elif {p.name for p in root.iterdir()} <= {MODELS} and all(
        p.suffix in (".onnx", ".json", ".tmp") for p in (root / MODELS).iterdir()
    ):
        return
    raise ValueError(
        f"{root}: folder exists, is not empty and is not a fame bundle (no {MANIFEST} of format "
        f"{BUNDLE_FORMAT}); nothing was written.  Choose a new or empty folder, or pass --force to write "
        "the bundle into it (its other files are kept; manifest.json, sherpa-snippet.yaml and models/ are "
        "written)"
    )


@dataclasses.dataclass(frozen=True)
class Sidecar:
    """The record ``models/<group>.json`` written beside each trained model (format ``fame-bundle-group/1``).

    Parameters
    ----------
    name : str
        The group.
    key : str
        Fingerprint of the training configuration and the group's data
        (:meth:`sherpa_plugin.train_inputs.GroupInput.fingerprint`).
    sha256 : str
        Hex sha256 of the model file.
    train : mapping
        Training figures.
    worker : str or None
        The Dask worker that trained it.
    threads : int or None
        torch threads it used.
    config : mapping
        The training configuration (:func:`sherpa_plugin.orchestrate.config_dict`).
    """

    name: str
    key: str
    sha256: str
    train: Mapping[str, Any]
    worker: str | None = None
    threads: int | None = None
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the sidecar file."""
        return {"format": SIDECAR_FORMAT, "name": self.name, "key": self.key, "sha256": self.sha256,
                "train": dict(self.train), "worker": self.worker, "threads": self.threads,
                "config": dict(self.config)}

    @staticmethod
    def path(root: Path, name: str) -> Path:
        """The sidecar file of group ``name`` in bundle ``root``."""
        return root / MODELS / f"{name}.json"

    @classmethod
    def load(cls, root: Path, name: str) -> Sidecar | None:
        """The sidecar of group ``name`` in bundle ``root``; None if missing, unreadable or another format."""
        path = cls.path(root, name)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
            return None
        try:
            return cls(name=str(data["name"]), key=str(data["key"]), sha256=str(data["sha256"]),
                       train=dict(data.get("train") or {}), worker=data.get("worker"),
                       threads=data.get("threads"), config=dict(data.get("config") or {}))
        except (KeyError, TypeError, ValueError):
            return None


def up_to_date(root: Path, group: ReducedGroup, key: str) -> BundleGroup | None:
    """The manifest entry of ``group``'s model from an earlier run, if its sidecar holds the fingerprint
    ``key`` and the model file still has the recorded sha256; else None (the group must be trained)."""
    side = Sidecar.load(root, group.name)
    rel = model_relpath(group.name)
    model = root / rel
    if side and side.key == key and model.is_file() and sha256_file(model) == side.sha256:
        return BundleGroup(group=group, model=rel, sha256=side.sha256, train=side.train)
    return None


def store_model(
    root: Path, group: ReducedGroup, key: str, result: GroupResult, config: Mapping[str, Any]
) -> BundleGroup:
    """Write a trained group's model, then its sidecar (each atomically); return its manifest entry.

    Parameters
    ----------
    root : Path
        Bundle folder.
    group : ReducedGroup
        The group.
    key : str
        Fingerprint of the training configuration and the group's data.
    result : GroupResult
        The successful task result (ONNX bytes, training figures, worker, threads).
    config : mapping
        The training configuration (:func:`sherpa_plugin.orchestrate.config_dict`).
    """
    rel = model_relpath(group.name)
    with atomic_path(root / rel, suffix=".onnx") as tmp:
        tmp.write_bytes(result.onnx)
    sha = sha256_file(root / rel)
    side = Sidecar(name=group.name, key=key, sha256=sha, train=result.train, worker=result.worker,
                   threads=result.threads, config=config)
    with atomic_path(Sidecar.path(root, group.name)) as tmp:
        tmp.write_text(json.dumps(side.to_json(), indent=1) + "\n", encoding="utf-8")
    return BundleGroup(group=group, model=rel, sha256=sha, train=result.train)
