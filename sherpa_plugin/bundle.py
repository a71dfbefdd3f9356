"""The surrogate bundle (SPEC §3.5): one ONNX model per reduced group, a manifest and a run-card snippet.

Layout::

    BUNDLE/manifest.json          groups, members and permutations, model files, sha256, figures
    BUNDLE/models/<group>.onnx    one fame-onnx/1 model per reduced group (SPEC §3.4)
    BUNDLE/sherpa-snippet.yaml    MLHANDLER block for surrogate-enabled Sherpa builds
    BUNDLE/report/                written by ``fame validate``

:func:`write_bundle` writes a complete bundle atomically (temporary folder + rename).  The Dask trainer
(:mod:`sherpa_plugin.orchestrate`) writes each model atomically as it finishes and commits the bundle by
writing the manifest last with :func:`write_manifest`; a folder without a manifest is not a bundle.
:meth:`Bundle.load` checks every model's sha256 against the manifest and its ONNX contract.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lhe_tools import EventBatch, atomic_dir, atomic_path, json_default
from lhe_tools.groups import GroupMember, ReducedGroup, group_of, representative
from lhe_tools.process import parse_process_name

from .snippet import make_snippet

if TYPE_CHECKING:
    from fame_surrogate.export import OnnxSurrogate

    from .domain import Domain

log = logging.getLogger(__name__)

FORMAT = "fame-bundle/1"
MANIFEST = "manifest.json"
MODELS = "models"
SNIPPET = "sherpa-snippet.yaml"
#: marker file of a bundle written by :func:`write_bundle` (lists its files; see :func:`lhe_tools.atomic_dir`)
BUNDLE_MARKER = ".fame-bundle.json"

F8 = npt.NDArray[np.float64]


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
    snippet_settings: Mapping[str, Any] | None = None,
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
        Also write ``sherpa-snippet.yaml`` (:func:`sherpa_plugin.snippet.make_snippet`).
    snippet_settings : mapping, optional
        ``COLOR_SCHEME`` / ``SCALES`` / ``ALPHAS(MZ)`` of the training data for the snippet
        (keyword arguments of :func:`sherpa_plugin.snippet.make_snippet`).

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
        with atomic_path(root / SNIPPET) as tmp:
            tmp.write_text(make_snippet(members, **(snippet_settings or {})), encoding="utf-8")
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
    _write_manifest_file(path, manifest)
    return path


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """sha256 of the manifest's content (canonical JSON, every key but ``integrity``)."""
    body = {k: v for k, v in manifest.items() if k != "integrity"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=json_default, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write_manifest_file(path: Path, manifest: Mapping[str, Any]) -> None:
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


def record_validation(
    path: str | os.PathLike[str],
    summary: Mapping[str, Any],
    per_group: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Store validation figures in a bundle's manifest (rewritten atomically).

    Parameters
    ----------
    path : path
        Bundle folder (its models are verified first, as by :meth:`Bundle.load` without the contract).
    summary : mapping
        Bundle-wide figures (e.g. ``eps_full``, ``eps_1``, ``eps_2``, ``f_eff``, ``closure_min_p``), stored
        under ``validation``.
    per_group : mapping of group name to mapping, optional
        Figures per group, stored in that group's ``validation``.

    Returns
    -------
    Path
        The manifest file.
    """
    bundle = Bundle.load(path, verify=False)
    unknown = sorted(set(per_group or {}) - {e.group.name for e in bundle.entries})
    if unknown:
        raise BundleError(f"{bundle.root}: no group(s) {unknown} to record validation figures for")
    manifest = dict(bundle.manifest)
    manifest["validation"] = dict(summary)
    for entry in manifest["groups"]:
        if per_group and entry["name"] in per_group:
            entry["validation"] = dict(per_group[entry["name"]])
    mpath = bundle.root / MANIFEST
    _write_manifest_file(mpath, manifest)
    return mpath


class Bundle:
    """A loaded, verified bundle: maps every member process to its group's ONNX surrogate.

    Use :meth:`load`; the constructor takes already parsed parts.
    """

    def __init__(self, root: Path, manifest: Mapping[str, Any], entries: Sequence[BundleGroup]) -> None:
        self.root = root
        self.manifest = dict(manifest)
        self.entries: tuple[BundleGroup, ...] = tuple(entries)
        self._by_name = {e.group.name: e for e in self.entries}
        self._sessions: dict[str, OnnxSurrogate] = {}

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, verify: bool = True) -> Bundle:
        """Read ``manifest.json``, check every model's sha256 and (with ``verify``) its ONNX contract.

        Raises
        ------
        BundleError
            Missing or malformed manifest, missing model file, sha256 mismatch, or a model whose
            contract metadata (process, pdg) does not match its manifest entry.
        """
        root = Path(path)
        mpath = root / MANIFEST
        if not mpath.is_file():
            raise BundleError(
                f"{root}: no {MANIFEST}; not a fame bundle (or its training never finished: rerun fame train)"
            )
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise BundleError(f"{mpath}: not valid JSON ({err})") from err
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
            raise BundleError(f"{mpath}: format {found!r}, this fame reads {FORMAT!r}")
        integrity = manifest.get("integrity")
        if integrity is None:
            log.warning("%s: no integrity digest (written by an older fame); only the model files are "
                        "checked", mpath)
        elif not isinstance(integrity, dict) or integrity.get("sha256") != manifest_digest(manifest):
            raise BundleError(
                f"{mpath}: the manifest was changed after the bundle was written (its integrity sha256 "
                "does not match its content); retrain, or restore the original manifest"
            )
        groups = manifest.get("groups")
        if not isinstance(groups, list):
            raise BundleError(f"{mpath}: 'groups' must be a list of group entries, found {groups!r}")
        entries = [BundleGroup.from_json(g, str(mpath)) for g in groups]
        names = [e.group.name for e in entries]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise BundleError(f"{mpath}: duplicate group names {dup}")
        real_root = root.resolve()
        for e in entries:
            e.check(str(mpath))
            file = root / e.model
            if Path(e.model).is_absolute() or not file.resolve().is_relative_to(real_root):
                raise BundleError(
                    f"{mpath}: group {e.group.name!r} names model {e.model!r}, which lies outside the bundle "
                    f"{root}; model paths must be relative and inside it (models/<group>.onnx)"
                )
            if not file.is_file():
                raise BundleError(f"{mpath}: group {e.group.name!r} names {e.model}, which does not exist")
            got = sha256_file(file)
            if got != e.sha256:
                raise BundleError(
                    f"{file}: sha256 {got} does not match {e.sha256} recorded in {mpath} "
                    "(the model was changed after the bundle was written)"
                )
        bundle = cls(root, manifest, entries)
        if verify:
            for e in entries:
                bundle._session(e)
        return bundle

    @property
    def groups(self) -> list[ReducedGroup]:
        """The reduced groups, in manifest order."""
        return [e.group for e in self.entries]

    @property
    def processes(self) -> list[str]:
        """Every member process name the bundle covers."""
        return [m.process for e in self.entries for m in e.group.members]

    def entry(self, group_name: str) -> BundleGroup:
        """The manifest entry of a group by its (representative) name."""
        try:
            return self._by_name[group_name]
        except KeyError:
            names = sorted(self._by_name)
            raise KeyError(f"{self.root}: no group {group_name!r}; groups are {names}") from None

    def _session(self, e: BundleGroup) -> OnnxSurrogate:
        sess = self._sessions.get(e.group.name)
        if sess is None:
            from fame_surrogate.export import OnnxSurrogate
            from fame_surrogate.onnx_meta import ContractError

            file = self.root / e.model
            try:
                sess = OnnxSurrogate(file, expected_process=e.group.name)
            except ContractError as err:
                raise BundleError(f"{file}: {err}") from err
            if tuple(int(x) for x in sess.pdg) != e.group.pdg:
                raise BundleError(
                    f"{file}: model pdg {list(sess.pdg)} differs from the manifest's {list(e.group.pdg)}"
                )
            self._sessions[e.group.name] = sess
        return sess

    def _lookup(self, process: str) -> tuple[ReducedGroup, GroupMember] | None:
        """The group and member entry of ``process``: a listed member, or else a flavour-equivalent channel.

        A channel the training data did not contain (a rare one, e.g. b b̄ → e+e- u ū in a Z+2-jet
        validation run) belongs to the group whose representative it maps to by Comix's rule
        (:func:`lhe_tools.groups.representative`, the rule ``fame train`` grouped by), if the bundle has it.
        """
        for e in self.entries:
            for m in e.group.members:
                if m.process == process:
                    return e.group, m
        try:
            pdg, n_in = parse_process_name(process)
        except ValueError:  # not a Sherpa process name
            return None
        rep, perm = representative(pdg, n_in)
        for e in self.entries:
            if e.group.n_in == n_in and tuple(e.group.pdg) == tuple(rep):
                return e.group, GroupMember(process=process, pdg=tuple(pdg), permutation=tuple(perm))
        return None

    def surrogate_for(self, process: str) -> tuple[OnnxSurrogate, GroupMember]:
        """The surrogate of the group containing ``process`` and the member (with its permutation).

        ``process`` is a listed member or a channel flavour-equivalent to a group's representative.

        Raises
        ------
        KeyError
            ``process`` is in no group (the message lists the nearest names).
        """
        found = self._lookup(process)
        if found is None:
            group_of(self.groups, process)  # raises KeyError naming the nearest members
            raise AssertionError("unreachable")  # pragma: no cover
        group, member = found
        return self._session(self._by_name[group.name]), member

    def domain(self, process: str) -> Domain:
        """The domain (√s, cuts, training √ŝ range) of the surrogate that serves ``process``."""
        from .domain import Domain

        sess, _ = self.surrogate_for(process)
        found = self._lookup(process)
        assert found is not None  # surrogate_for raised otherwise
        recorded = sess.metadata.train
        train = dict(recorded) if isinstance(recorded, dict) else {}
        train.update(self._by_name[found[0].name].train)
        return Domain.from_metadata(found[0].name, sess.metadata.sqrt_s, sess.metadata.cuts, train)

    def check_domain(self, batch: EventBatch, where: str, *, allow: bool = False) -> dict[str, int]:
        """Count (and unless ``allow`` refuse) the events of ``batch`` outside its surrogate's domain.

        See :func:`sherpa_plugin.domain.check_domain`; the batch is looked up as by :meth:`predict`.
        """
        from .domain import check_domain

        _, process = self._member_momenta(batch)
        return check_domain(self.domain(process), batch, where, allow=allow)

    def covers(self, process: str) -> bool:
        """Whether ``process`` is a member of a group or flavour-equivalent to a group's representative."""
        return self._lookup(process) is not None

    def predict(self, batch: EventBatch) -> tuple[F8, F8]:
        """Surrogate |M|² and its replica spread at the batch's momenta.

        The batch's particles are mapped into the representative's order with the member's
        permutation.  A batch whose ``process`` is empty or not a member is looked up by its pdg's
        canonical channel (and reordered into canonical order first).

        Parameters
        ----------
        batch : EventBatch
            Events of one channel, momenta (N, n, 4) float64 in GeV.

        Returns
        -------
        me2, me2_std : ndarray, float64, shape (N,)
            In the fame-dump normalisation.
        """
        momenta, process = self._member_momenta(batch)
        sess, member = self.surrogate_for(process)
        perm = np.asarray(member.permutation, dtype=np.int64)
        me2, std = sess.predict(np.ascontiguousarray(momenta[:, perm, :]))
        return np.asarray(me2, dtype=np.float64), np.asarray(std, dtype=np.float64)

    def _member_momenta(self, batch: EventBatch) -> tuple[F8, str]:
        """The batch momenta in its member's (canonical) particle order, and the member name."""
        found = self._lookup(batch.process) if batch.process else None
        if found is not None and tuple(int(x) for x in batch.pdg) == found[1].pdg:
            return batch.momenta, batch.process
        from lhe_tools.process import canonical_channel

        name, order = canonical_channel([int(x) for x in batch.pdg], batch.n_in)
        return batch.momenta[:, np.asarray(order, dtype=np.int64), :], name
