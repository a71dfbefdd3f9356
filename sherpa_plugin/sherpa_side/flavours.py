"""Sherpa particle names and the partonic channels Sherpa built (stdlib only).

Sherpa names a channel ``<nin>_<nout>__<IDName>__…`` in its own canonical particle order.  After
``InitializeTheRun`` the channels are listed in ``Process/Comix.zip``: one ``<channel>.map`` per built channel
(groups such as ``2_3__j__j__e-__e+__j`` use container names and are skipped).

The particle table below stands apart from lhe_tools' particle table on purpose: the Sherpa side runs under
Sherpa's Python without fame (the one exception to "each formula once" that issue #20 allows).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

#: Sherpa IDName of every SM particle fame handles (``MODEL/SM/Model.C``), keyed by signed PDG id
_NAMES: dict[int, str] = {
    1: "d", -1: "db", 2: "u", -2: "ub", 3: "s", -3: "sb", 4: "c", -4: "cb", 5: "b", -5: "bb",
    6: "t", -6: "tb", 11: "e-", -11: "e+", 13: "mu-", -13: "mu+", 15: "tau-", -15: "tau+",
    12: "ve", -12: "veb", 14: "vmu", -14: "vmub", 16: "vtau", -16: "vtaub",
    21: "G", 22: "P", 23: "Z", 24: "W+", -24: "W-", 25: "h0",
}  # fmt: skip
_PDG: dict[str, int] = {name: pdg for pdg, name in _NAMES.items()}


def particle_name(pdg: int) -> str:
    """Sherpa IDName of a signed PDG id (``KeyError`` naming the id if unknown)."""
    try:
        return _NAMES[int(pdg)]
    except KeyError:
        raise KeyError(f"PDG id {pdg} has no Sherpa name known to the fame dumper") from None


def channel_name(pdg: list[int], n_in: int = 2) -> str:
    """``<nin>_<nout>__a__b…`` for PDG ids given in Sherpa's order (incoming first)."""
    return f"{n_in}_{len(pdg) - n_in}__" + "__".join(particle_name(p) for p in pdg)


def parse_channel(name: str) -> tuple[list[int], int] | None:
    """``(pdg, n_in)`` of a concrete channel name, or ``None`` for a group name (containers) or junk."""
    head, _, rest = name.partition("__")
    try:
        n_in, n_out = (int(x) for x in head.split("_"))
    except ValueError:
        return None
    parts = rest.split("__")
    if len(parts) != n_in + n_out or any(p not in _PDG for p in parts):
        return None
    return [_PDG[p] for p in parts], n_in


def built_channels(workdir: Path) -> list[tuple[str, list[int], int]]:
    """The channels Sherpa built in ``workdir`` (``Process/Comix.zip``), in Sherpa's listing order.

    Returns
    -------
    list of (name, pdg, n_in)
        Channel name, PDG ids in Sherpa's particle order, number of incoming particles.
    """
    path = workdir / "Process" / "Comix.zip"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: Sherpa built no Comix processes (is ME_GENERATORS: [Comix] set?)"
        )
    out: list[tuple[str, list[int], int]] = []
    with zipfile.ZipFile(path) as zf:
        for entry in zf.namelist():
            if not entry.endswith(".map"):
                continue
            name = entry[: -len(".map")]
            parsed = parse_channel(name)
            if parsed is not None:
                out.append((name, parsed[0], parsed[1]))
    return out


def comix_map(workdir: Path) -> dict[str, str]:
    """Comix's flavour mapping: channel → the channel whose amplitude it reuses (itself when unmapped).

    Read from the first line ``<this> <target>`` of each channel's ``Process/Comix.zip:<channel>.map``
    (reference/sherpa-conventions.md §4.2).
    """
    out: dict[str, str] = {}
    with zipfile.ZipFile(workdir / "Process" / "Comix.zip") as zf:
        for entry in zf.namelist():
            name = entry[: -len(".map")] if entry.endswith(".map") else None
            if name is None or parse_channel(name) is None:
                continue
            first = zf.read(entry).decode("utf-8", "replace").split("\n", 1)[0].split()
            out[name] = first[1] if len(first) == 2 and parse_channel(first[1]) is not None else name
    return out
