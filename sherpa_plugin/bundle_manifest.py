"""The surrogate bundle's layout and manifest (SPEC §3.5): one ONNX model per reduced group, a manifest and a
run-card snippet.

Layout::

    BUNDLE/manifest.json          groups, members and permutations, model files, sha256, figures
    BUNDLE/models/<group>.onnx    one fame-onnx/1 model per reduced group (SPEC §3.4)
    BUNDLE/sherpa-snippet.yaml    MLHANDLER block for surrogate-enabled Sherpa builds
    BUNDLE/report/                written by ``fame validate``

:func:`write_bundle` writes a complete bundle atomically (temporary folder + rename).  The Dask trainer
(:mod:`sherpa_plugin.orchestrate`) writes each model atomically as it finishes and commits the bundle by
writing the manifest last with :func:`write_manifest`; a folder without a manifest is not a bundle.
Reading a bundle back is :meth:`sherpa_plugin.bundle.Bundle.load`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lhe_tools import atomic_dir, atomic_path, json_default
from lhe_tools.groups import GroupMember, ReducedGroup
from lhe_tools.process import parse_process_name

from .snippet import SnippetSettings, make_snippet

__all__ = [
    "BUNDLE_MARKER", "FORMAT", "MANIFEST", "MODELS", "SNIPPET", "BundleError", "BundleGroup",
    "manifest_digest", "model_relpath", "sha256_file", "write_bundle", "write_manifest",
    "write_manifest_file",
]

FORMAT = "fame-bundle/1"
MANIFEST = "manifest.json"
MODELS = "models"
SNIPPET = "sherpa-snippet.yaml"
#: marker file of a bundle written by :func:`write_bundle` (lists its files; see :func:`lhe_tools.atomic_dir`)
BUNDLE_MARKER = ".fame-bundle.json"

class BundleError(ValueError):
    """A bundle folder is incomplete, altered or inconsistent; the message names the file and the problem."""


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks of ``chunk`` bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def model_relpath(group_name: str) -> str:
    """The bundle-relative path of a group's model, ``models/<group>.onnx``."""
    if not group_name or "/" in group_name or group_name.startswith("."):
        raise BundleError(f"group name {group_name!r} cannot be used as a model file name")
    return f"{MODELS}/{group_name}.onnx"


@dataclass(frozen=True)
class BundleGroup:
    """One manifest entry: a reduced group and its model.

    Parameters
    ----------
    group : ReducedGroup
        The group (representative name, pdg, members with their permutations).
    model : str
        Model file relative to the bundle root (``models/<group>.onnx``).
    sha256 : str
        Hex sha256 of the model file.
    train : mapping
        Training figures (``val_frac_within_1pct``, ``n_train``, ``seconds``, ...).
    validation : mapping
        Validation figures (filled by ``fame validate``; empty until then).
    """

    group: ReducedGroup
    model: str
    sha256: str
    train: Mapping[str, Any] = field(default_factory=dict)
    validation: Mapping[str, Any] = field(default_factory=dict)

    @property
    def stage1_temper(self) -> float | None:
        """The stage-1 temper β that ``fame train`` chose for this group (``train.stage1_temper.beta``, or
        ``best_beta`` in a bundle written before the tolerance rule; :mod:`fame_surrogate.validation.temper`),
        or None where none is recorded (e+e- groups, a bundle written before β was recorded)."""
        record = self.train.get("stage1_temper")
        beta = record.get("beta", record.get("best_beta")) if isinstance(record, Mapping) else None
        return float(beta) if isinstance(beta, (int, float)) else None

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in ``manifest.json`` under ``groups``."""
        g = self.group
        return {
            "name": g.name,
            "pdg": [int(x) for x in g.pdg],
            "n_in": int(g.n_in),
            "model": self.model,
            "sha256": self.sha256,
            "members": [
                {
                    "process": m.process,
                    "pdg": [int(x) for x in m.pdg],
                    "permutation": [int(x) for x in m.permutation],
                }
                for m in g.members
            ],
            "train": dict(self.train),
            "validation": dict(self.validation),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], where: str = MANIFEST) -> BundleGroup:
        """Parse one ``groups`` entry of the manifest; ``where`` names the file in errors.

        Every member's ``permutation`` must be a permutation of the particles that maps the member's PDG
        ids onto the representative's (up to a consistent relabelling of quark or lepton flavours), and the
        member's process name must list its PDG ids.
        """
        if not isinstance(obj, Mapping):
            raise BundleError(f"{where}: a 'groups' entry must be a JSON object, found {type(obj).__name__}")
        if not isinstance(obj.get("members"), list):
            raise BundleError(f"{where}: group {obj.get('name', '?')!r} has no list of 'members'")
        try:
            members = tuple(
                GroupMember(
                    process=str(m["process"]),
                    pdg=tuple(int(x) for x in m["pdg"]),
                    permutation=tuple(int(x) for x in m["permutation"]),
                )
                for m in obj["members"]
            )
            group = ReducedGroup(
                name=str(obj["name"]),
                pdg=tuple(int(x) for x in obj["pdg"]),
                n_in=int(obj["n_in"]),
                members=members,
            )
            return cls(
                group=group,
                model=str(obj["model"]),
                sha256=str(obj["sha256"]),
                train=dict(obj.get("train", {})),
                validation=dict(obj.get("validation", {})),
            )
        except (KeyError, TypeError, ValueError) as err:
            name = obj.get("name", "?") if isinstance(obj, Mapping) else "?"
            raise BundleError(f"{where}: malformed group entry {name!r}: {err!r}") from err

    def check(self, where: str = MANIFEST) -> None:
        """Raise :class:`BundleError` unless every member's permutation maps it onto the representative."""
        g = self.group
        n = len(g.pdg)
        for m in g.members:
            what = f"{where}: group {g.name!r}, member {m.process!r}"
            if len(m.pdg) != n or sorted(m.permutation) != list(range(n)):
                raise BundleError(
                    f"{what}: permutation {list(m.permutation)} is not a permutation of the {n} particles "
                    f"(member pdg {list(m.pdg)}, representative pdg {list(g.pdg)})"
                )
            try:
                named, named_in = parse_process_name(m.process)
            except (ValueError, KeyError) as err:
                raise BundleError(f"{what}: not a Sherpa process name ({err})") from err
            if named_in != g.n_in or sorted(named[:named_in]) != sorted(m.pdg[:named_in]) or sorted(
                named[named_in:]
            ) != sorted(m.pdg[named_in:]):
                raise BundleError(f"{what}: the name lists pdg {list(named)}, the entry says {list(m.pdg)}")
            image = [m.pdg[i] for i in m.permutation]
            problem = _relabelling_problem(image, g.pdg)
            if problem:
                raise BundleError(
                    f"{what}: permutation {list(m.permutation)} maps its particles {list(m.pdg)} to "
                    f"{image}, not onto the representative's {list(g.pdg)} ({problem})"
                )


_FLAVOUR_CLASSES = (frozenset(range(1, 7)), frozenset(range(11, 17)))


def _relabelling_problem(image: Sequence[int], rep: Sequence[int]) -> str | None:
    """None if ``image`` becomes ``rep`` under one consistent, one-to-one relabelling of quark or lepton
    flavours (signs kept); else what breaks it."""
    forward: dict[int, int] = {}
    backward: dict[int, int] = {}
    for i, (a, b) in enumerate(zip(image, rep, strict=True)):
        if (a > 0) != (b > 0):
            return f"particle {i}: {a} is not {b} up to flavour"
        ka, kb = abs(a), abs(b)
        if ka != kb and not any(ka in c and kb in c for c in _FLAVOUR_CLASSES):
            return f"particle {i}: {a} cannot stand for {b}"
        if forward.setdefault(ka, kb) != kb or backward.setdefault(kb, ka) != ka:
            return f"particle {i}: flavour {ka} would stand for both {forward[ka]} and {kb}"
    return None


def write_manifest(
    root: str | os.PathLike[str],
    entries: Sequence[BundleGroup],
    *,
    failed: Sequence[Mapping[str, Any]] = (),
    config: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    snippet: bool = True,
    snippet_settings: SnippetSettings | None = None,
) -> Path:
    """Write ``sherpa-snippet.yaml``, then ``manifest.json`` (each atomically) into a bundle folder.

    The model files named by ``entries`` must already be in place; their sha256 is checked here, so a
    manifest never describes a file that is not there.

    Parameters
    ----------
    root : path
        Bundle folder.
    entries : sequence of BundleGroup
        The trained groups.
    failed : sequence of mapping
        Groups that failed (``name``, ``error``, ``traceback``), recorded for the user.
    config : mapping, optional
        The training configuration (JSON-able).
    extra : mapping, optional
        Further top-level manifest keys (e.g. ``inputs``, ``seconds``).
    snippet : bool
        Also write ``sherpa-snippet.yaml`` (:func:`sherpa_plugin.snippet.make_snippet`), with each group's
        recorded stage-1 temper (:attr:`BundleGroup.stage1_temper`) for its members.
    snippet_settings : SnippetSettings, optional
        ``COLOR_SCHEME`` / ``SCALES`` / ``ALPHAS(MZ)`` of the training data for the snippet (default:
        ``SnippetSettings()``).

    Returns
    -------
    Path
        The manifest file.
    """
    root = Path(root)
    names = [e.group.name for e in entries]
    if len(set(names)) != len(names):
        raise BundleError(f"{root}: duplicate group names {sorted(n for n in names if names.count(n) > 1)}")
    for e in entries:
        got = sha256_file(root / e.model)
        if got != e.sha256:
            raise BundleError(f"{root / e.model}: sha256 {got} differs from the recorded {e.sha256}")
    snippet_file: str | None = None
    if snippet and entries:
        members = {m.process: e.model for e in entries for m in e.group.members}
        temper = {
            m.process: beta for e in entries if (beta := e.stage1_temper) is not None for m in e.group.members
        }
        with atomic_path(root / SNIPPET) as tmp:
            tmp.write_text(make_snippet(members, snippet_settings, temper=temper), encoding="utf-8")
        snippet_file = SNIPPET
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "groups": [e.to_json() for e in entries],
        "failed": [dict(f) for f in failed],
        "snippet": snippet_file,
        "config": dict(config or {}),
    }
    manifest.update(extra or {})
    path = root / MANIFEST
    write_manifest_file(path, manifest)
    return path


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """sha256 of the manifest's content (canonical JSON, every key but ``integrity``)."""
    body = {k: v for k, v in manifest.items() if k != "integrity"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=json_default, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_manifest_file(path: Path, manifest: Mapping[str, Any]) -> None:
    """Write ``manifest`` atomically with its ``integrity`` digest (see :func:`manifest_digest`)."""
    content = {k: v for k, v in manifest.items() if k != "integrity"}
    body = json.loads(json.dumps(content, default=json_default))  # digest what a reader will parse
    body["integrity"] = {"sha256": manifest_digest(body), "covers": "every key but integrity"}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def write_bundle(
    out: str | os.PathLike[str],
    entries: Iterable[tuple[ReducedGroup, str | os.PathLike[str], Mapping[str, Any]]],
    *,
    config: Mapping[str, Any] | None = None,
    failed: Sequence[Mapping[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
    snippet: bool = True,
    force: bool = False,
) -> Path:
    """Write a complete bundle atomically: build it in a temporary folder, then rename it onto ``out``.

    ``out`` must be new, empty or a bundle written by this function (only its files are replaced); with
    ``force`` a non-empty folder receives the bundle and keeps its other files.

    Parameters
    ----------
    out : path
        Bundle folder.
    entries : iterable of (ReducedGroup, model path, train figures)
        Each group with an exported fame-onnx/1 file and its training figures.
    config, failed, extra, snippet
        As for :func:`write_manifest`.
    force : bool
        Write into a non-empty folder that is not a previous bundle (its other files are kept).

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    with atomic_dir(out, BUNDLE_MARKER, force=force) as tmp:
        (tmp / MODELS).mkdir()
        groups: list[BundleGroup] = []
        for group, src, train in entries:
            rel = model_relpath(group.name)
            shutil.copyfile(src, tmp / rel)
            groups.append(BundleGroup(group=group, model=rel, sha256=sha256_file(tmp / rel), train=train))
        write_manifest(tmp, groups, failed=failed, config=config, extra=extra, snippet=snippet)
    return out
