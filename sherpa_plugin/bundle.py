"""A bundle read back: :class:`Bundle` verifies the manifest and every model (sha256, ONNX contract) and maps
every member process, or a flavour-equivalent channel, to its group's surrogate; :func:`record_validation`
stores validation figures in the manifest.  The layout and the writing side are in
:mod:`sherpa_plugin.bundle_manifest`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lhe_tools import EventBatch
from lhe_tools.groups import GroupMember, ReducedGroup, group_of, representative
from lhe_tools.process import parse_process_name

from .bundle_manifest import (
    FORMAT,
    MANIFEST,
    BundleError,
    BundleGroup,
    manifest_digest,
    sha256_file,
    write_manifest_file,
)

if TYPE_CHECKING:
    from fame_surrogate.onnx_session import OnnxSurrogate

    from .domain import Domain

__all__ = ["Bundle", "record_validation"]

log = logging.getLogger(__name__)

F8 = npt.NDArray[np.float64]


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
    write_manifest_file(mpath, manifest)
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
            from fame_surrogate.onnx_meta import ContractError
            from fame_surrogate.onnx_session import OnnxSurrogate

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

    def stage1_temper(self, process: str) -> float | None:
        """The stage-1 temper β that ``fame train`` chose for the group serving ``process`` (the manifest's
        ``train.stage1_temper.beta``; :mod:`fame_surrogate.validation.temper`), or None where the group
        records none (e+e- groups, older bundles) or ``process`` is in no group."""
        found = self._lookup(process)
        return None if found is None else self._by_name[found[0].name].stage1_temper

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
