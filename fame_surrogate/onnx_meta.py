"""The ``fame.*`` metadata of a ``fame-onnx/1`` file (SPEC §3.4) as a typed record.

An exported graph carries its process, particle content, domain and training figures as ONNX
``metadata_props``: string values under the keys ``fame.contract``, ``fame.process``, ``fame.members``
(JSON), ``fame.pdg`` (JSON), ``fame.sqrt_s``, ``fame.cuts`` (JSON), ``fame.model``, ``fame.replicas``,
``fame.train`` (JSON), ``fame.version``.  :class:`OnnxMetadata` is that record:
:meth:`OnnxMetadata.for_export` builds it at export, :meth:`OnnxMetadata.to_props` writes the strings,
:meth:`OnnxMetadata.from_props` parses and checks them at load.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata as _pkg_metadata
from typing import Any

__all__ = ["CONTRACT", "METADATA_KEYS", "ContractError", "OnnxMetadata"]

#: the contract string stored as ``fame.contract``
CONTRACT = "fame-onnx/1"
#: metadata keys (without the ``fame.`` prefix) and whether their value is JSON
METADATA_KEYS: dict[str, bool] = {
    "contract": False,
    "process": False,
    "members": True,
    "pdg": True,
    "sqrt_s": False,
    "cuts": True,
    "model": False,
    "replicas": False,
    "train": True,
    "version": False,
}


class ContractError(ValueError):
    """An ONNX file does not follow ``fame-onnx/1``, or is used for a process it was not trained for."""


def _fame_version() -> str:
    try:
        return _pkg_metadata.version("fame")
    except _pkg_metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class OnnxMetadata:
    """The ``fame.*`` metadata of one ``fame-onnx/1`` graph (keys without the ``fame.`` prefix).

    Attributes
    ----------
    process : str
        The representative process the model was trained for.
    pdg : list of int
        Particle content in the model's order (the second dimension of ``momenta``).
    model : str
        The model family, ``"dipole"`` or ``"mlp"``.
    replicas : int
        Ensemble replicas.
    members : list
        The group's member processes: names, or JSON objects with a ``"process"`` (SPEC §3.4).
    sqrt_s : float or None
        Collision energy in GeV (written as given, read as a float; None: unknown).
    cuts : JSON value
        Generation cuts (a JSON object, e.g. ``{"y_cut": 0.01}``).
    train : JSON value
        Training figures (a JSON object: sizes, epochs, seed, accuracy on the validation split).
    version : str
        The fame package version that wrote the file.
    contract : str
        :data:`CONTRACT`.
    """

    process: str
    pdg: list[int]
    model: str
    replicas: int
    members: list[Any] = field(default_factory=list)
    sqrt_s: float | None = None
    cuts: Any = field(default_factory=dict)
    train: Any = field(default_factory=dict)
    version: str = field(default_factory=_fame_version)
    contract: str = CONTRACT

    @classmethod
    def for_export(
        cls, given: Mapping[str, Any], *, pdg: Sequence[int], model: str, replicas: int
    ) -> OnnxMetadata:
        """The metadata of a graph being exported: ``given`` holds the keys of SPEC §3.4 an exporter sets
        (``process`` (required), ``members``, ``pdg`` (must equal the model's ``pdg``), ``sqrt_s``, ``cuts``,
        ``train``); ``model``, ``replicas``, ``contract`` and ``version`` come from the model and the
        package."""
        if "process" not in given or not str(given["process"]):
            raise ValueError("export_onnx metadata needs a non-empty 'process' (the representative's name)")
        own = [int(p) for p in pdg]
        named = [int(p) for p in given.get("pdg", own)]
        if named != own:
            raise ContractError(f"metadata pdg {named} differs from the model's particle content {own}")
        unknown = set(given) - set(METADATA_KEYS)
        if unknown:
            raise ValueError(f"unknown metadata keys {sorted(unknown)}; allowed: {sorted(METADATA_KEYS)}")
        return cls(
            process=str(given["process"]),
            pdg=own,
            model=str(model),
            replicas=int(replicas),
            members=given.get("members", []),
            sqrt_s=given.get("sqrt_s"),
            cuts=given.get("cuts", {}),
            train=given.get("train", {}),
        )

    def to_json(self) -> dict[str, Any]:
        """The metadata as one JSON object (keys without the ``fame.`` prefix)."""
        return dataclasses.asdict(self)

    def to_props(self) -> dict[str, str]:
        """The ``metadata_props`` strings: ``fame.<key>`` → JSON (sorted keys) for the JSON keys, the text of
        the value for the others (``""`` for no ``sqrt_s``), in the order of :data:`METADATA_KEYS`."""
        values = self.to_json()
        out = {}
        for key, is_json in METADATA_KEYS.items():
            value = values[key]
            out[f"fame.{key}"] = (
                json.dumps(value, sort_keys=True) if is_json else ("" if value is None else str(value))
            )
        return out

    @classmethod
    def from_props(cls, raw: Mapping[str, str], where: str) -> OnnxMetadata:
        """Parse a file's ``metadata_props`` (:class:`ContractError` naming ``where`` for a missing key, a
        contract other than :data:`CONTRACT`, or a JSON value that does not parse)."""
        contract = raw.get("fame.contract")
        if contract != CONTRACT:
            raise ContractError(f"{where}: fame.contract is {contract!r}, expected {CONTRACT!r}")
        out: dict[str, Any] = {}
        for key, is_json in METADATA_KEYS.items():
            full = f"fame.{key}"
            if full not in raw:
                raise ContractError(f"{where}: metadata_props lacks {full!r} (has {sorted(raw)})")
            text = raw[full]
            if is_json:
                try:
                    out[key] = json.loads(text)
                except json.JSONDecodeError as err:
                    raise ContractError(f"{where}: {full} is not JSON ({err}): {text[:80]!r}") from err
            else:
                out[key] = text
        out["pdg"] = [int(p) for p in out["pdg"]]
        out["replicas"] = int(out["replicas"])
        out["sqrt_s"] = float(out["sqrt_s"]) if out["sqrt_s"] not in ("", "None") else None
        return cls(**out)

    @property
    def member_names(self) -> list[str]:
        """The member processes' names (entries that are neither a name nor carry a ``"process"`` are
        skipped)."""
        names = []
        for m in self.members:
            if isinstance(m, str):
                names.append(m)
            elif isinstance(m, Mapping) and "process" in m:
                names.append(str(m["process"]))
        return names
