"""Expand a Sherpa process definition into the partonic channels Sherpa builds (SPEC §3.3, issue 3).

``expand_process("93 93 -> 11 -11 93{2}", order={"QCD": "Any", "EW": 2})`` returns every channel Comix
initialises for that ``PROCESSES`` entry: each container (``93`` = j, ``90`` = l, ``91`` = v, ``92`` = f,
``94`` = Q, ``98`` = ewj; contents as Sherpa 3.0.3 prints them in its "Particle containers" table) is expanded
over its flavours, ``X{N}`` adds 0…N copies of ``X``, incoming and outgoing particles are put into Sherpa's
canonical order (:mod:`lhe_tools.process`), duplicates are merged, and a channel is kept only if a tree-level
amplitude with the requested coupling orders exists.

Existence is decided the way a recursive (Berends–Giele) generator does it: for every subset of external
legs the set of (off-shell flavour, QCD order, EW order) that can be built from the Standard-Model three-point
vertices is collected; the channel exists if the subset of all legs but the last reaches the conjugate of the
last leg with the wanted orders.  Four-point vertices change no existence question (each equals two
three-point vertices with the same total order).  Model: Sherpa 3's default SM with a diagonal CKM matrix;
Higgs couplings to t (the only non-zero default Yukawa), W and Z.  Checked against Sherpa's own channel lists
(``Process/Comix.zip``) for pp → e+e- + 0…3 jets (5, 15, 95, 145 channels).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from .groups import GroupingConfig, ReducedGroup, reduce_channels
from .process import canonical_channel, pdg_from_name

__all__ = [
    "CONTAINERS",
    "ProcessDefinition",
    "amplitude_exists",
    "expand_groups",
    "expand_process",
    "parse_process",
]

_JET = (1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 21)
_LEPTONS = (11, -11, 13, -13, 15, -15)
_NEUTRINOS = (12, -12, 14, -14, 16, -16)

#: Sherpa 3.0.3 default particle containers (kf code, name) -> signed PDG ids
CONTAINERS: dict[int, tuple[int, ...]] = {
    90: _LEPTONS,
    91: _NEUTRINOS,
    92: _JET[:-1] + _LEPTONS + _NEUTRINOS,
    93: _JET,
    94: _JET[:-1],
    98: (*_JET, 22),
}
_CONTAINER_NAMES = {"l": 90, "v": 91, "f": 92, "j": 93, "Q": 94, "ewj": 98}


@dataclass(frozen=True)
class ProcessDefinition:
    """A parsed Sherpa process line.

    Attributes
    ----------
    incoming : tuple of int
        Incoming flavour or container codes.
    outgoing : tuple of (int, int, int)
        Outgoing ``(code, min_count, max_count)``: ``93{3}`` is ``(93, 0, 3)``, ``93`` is ``(93, 1, 1)``.
    """

    incoming: tuple[int, ...]
    outgoing: tuple[tuple[int, int, int], ...]

    def largest(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Incoming and outgoing codes of the highest multiplicity: ``93{2}`` counts as ``93 93``."""
        return self.incoming, tuple(code for code, _, hi in self.outgoing for _ in range(hi))

    def sherpa(self) -> str:
        """The definition in Sherpa's process syntax, e.g. ``"93 93 -> 11 -11 93{2}"`` (numeric codes)."""
        out = []
        for code, lo, hi in self.outgoing:
            if lo == 0:
                out.append(f"{code}{{{hi}}}")
            else:  # the grammar gives (code, 1, 1) for a plain particle
                out.extend([str(code)] * hi)
        return f"{' '.join(map(str, self.incoming))} -> {' '.join(out)}"


_TOKEN = re.compile(r"^(?P<code>[^{}\s]+)(\{(?P<n>\d+)\})?$")


def _code(token: str, line: str) -> int:
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    if token in _CONTAINER_NAMES:
        return _CONTAINER_NAMES[token]
    try:
        return pdg_from_name(token)
    except ValueError as err:
        raise ValueError(f"process {line!r}: cannot read particle {token!r}: {err}") from None


def parse_process(line: str) -> ProcessDefinition:
    """Parse ``"93 93 -> 11 -11 93{3}"`` (PDG/container codes, or Sherpa names such as ``j``, ``e-``)."""
    if line.count("->") != 1:
        raise ValueError(f"process {line!r}: expected exactly one '->' between incoming and outgoing")
    left, right = line.split("->")
    incoming = tuple(_code(t, line) for t in left.split())
    outgoing = []
    for token in right.split():
        match = _TOKEN.match(token)
        if match is None:
            raise ValueError(f"process {line!r}: cannot read outgoing {token!r} (expected CODE or CODE{{N}})")
        code = _code(match["code"], line)
        outgoing.append((code, 0, int(match["n"])) if match["n"] else (code, 1, 1))
    if len(incoming) not in (1, 2) or not outgoing:
        raise ValueError(f"process {line!r}: expected 1 or 2 incoming and at least one outgoing particle")
    return ProcessDefinition(incoming=incoming, outgoing=tuple(outgoing))


def _flavours(code: int, containers: Mapping[int, Sequence[int]]) -> tuple[int, ...]:
    return tuple(containers.get(code, (code,)))


# ---- Standard-Model vertices, all legs outgoing: (flavours, QCD order, EW order) ---------------------------


def _vertices() -> list[tuple[tuple[int, int, int], int, int]]:
    out: list[tuple[tuple[int, int, int], int, int]] = []
    for q in range(1, 7):
        out.append(((q, -q, 21), 1, 0))
        out.append(((q, -q, 22), 0, 1))
        out.append(((q, -q, 23), 0, 1))
    out.append(((21, 21, 21), 1, 0))
    for lep in (11, 13, 15):
        out.append(((lep, -lep, 22), 0, 1))
        out.append(((lep, -lep, 23), 0, 1))
        out.append(((lep + 1, -(lep + 1), 23), 0, 1))
        out.append(((lep + 1, -lep, -24), 0, 1))  # nu, l+, W-
        out.append(((-(lep + 1), lep, 24), 0, 1))
    for up, down in ((2, 1), (4, 3), (6, 5)):
        out.append(((up, -down, -24), 0, 1))
        out.append(((-up, down, 24), 0, 1))
    out += [
        ((22, 24, -24), 0, 1),
        ((23, 24, -24), 0, 1),
        ((25, 24, -24), 0, 1),
        ((25, 23, 23), 0, 1),
        ((25, 25, 25), 0, 1),
        ((6, -6, 25), 0, 1),
    ]
    return out


def _anti(pdg: int) -> int:
    return pdg if pdg in (21, 22, 23, 25) else -pdg


@cache
def _joins() -> dict[tuple[int, int], tuple[tuple[int, int, int], ...]]:
    """(a, b) -> possible (c, qcd, ew): lines a and b (flowing out of two blobs) merge into line c."""
    table: dict[tuple[int, int], set[tuple[int, int, int]]] = {}
    for legs, qcd, ew in _vertices():
        for i, j, k in itertools.permutations(range(3)):
            table.setdefault((legs[i], legs[j]), set()).add((_anti(legs[k]), qcd, ew))
    return {key: tuple(sorted(val)) for key, val in table.items()}


def amplitude_exists(pdg: Sequence[int], n_in: int, qcd: int | None, ew: int | None) -> bool:
    """Whether a tree-level SM amplitude with these external flavours and coupling orders exists.

    Parameters
    ----------
    pdg : sequence of int
        Signed PDG ids, incoming first.
    n_in : int
        Number of incoming particles.
    qcd, ew : int or None
        Exact amplitude-level coupling orders (powers of g_s and e); ``None`` for any.
    """
    legs = [_anti(int(c)) if i < n_in else int(c) for i, c in enumerate(pdg)]  # all outgoing
    n = len(legs)
    if qcd is not None and ew is not None and qcd + ew != n - 2:
        return False
    joins = _joins()
    currents: dict[int, set[tuple[int, int, int]]] = {1 << i: {(legs[i], 0, 0)} for i in range(n - 1)}
    full = (1 << (n - 1)) - 1
    for size in range(2, n):
        for subset in itertools.combinations(range(n - 1), size):
            mask = sum(1 << i for i in subset)
            found: set[tuple[int, int, int]] = set()
            low = mask & -mask  # split so that the lowest leg is in the first part: each split once
            sub = (mask - 1) & mask
            while sub:
                if sub & low:
                    rest = mask ^ sub
                    for fa, qa, ea in currents.get(sub, ()):
                        for fb, qb, eb in currents.get(rest, ()):
                            for fc, qv, ev in joins.get((fa, fb), ()):
                                q, e = qa + qb + qv, ea + eb + ev
                                if (qcd is None or q <= qcd) and (ew is None or e <= ew):
                                    found.add((fc, q, e))
                sub = (sub - 1) & mask
            if found:
                currents[mask] = found
    target = _anti(legs[-1])
    return any(
        f == target and (qcd is None or q == qcd) and (ew is None or e == ew)
        for f, q, e in currents.get(full, ())
    )


def _order_value(order: Mapping[str, int | str] | None, key: str) -> int | None:
    if order is None:
        return None
    value = order.get(key, "Any")
    if isinstance(value, str):
        if value.strip().lower() in ("any", "*"):
            return None
        return int(value)
    return int(value)


def expand_process(
    process: str | ProcessDefinition,
    order: Mapping[str, int | str] | None = None,
    containers: Mapping[int, Sequence[int]] | None = None,
) -> list[tuple[tuple[int, ...], int]]:
    """The partonic channels Sherpa builds for a process definition.

    Parameters
    ----------
    process : str or ProcessDefinition
        E.g. ``"93 93 -> 11 -11 93{3}"``.
    order : mapping, optional
        Sherpa's ``Order`` block, e.g. ``{"QCD": "Any", "EW": 2}``; missing keys and ``"Any"`` mean
        unconstrained (Sherpa's default).
    containers : mapping, optional
        Extra or replaced particle containers (Sherpa's ``PARTICLE_CONTAINERS``): code -> signed PDG ids.

    Returns
    -------
    list of (pdg, n_in)
        Canonically ordered PDG tuples, sorted by multiplicity and then by name.
    """
    definition = parse_process(process) if isinstance(process, str) else process
    qcd, ew = _order_value(order, "QCD"), _order_value(order, "EW")
    n_in = len(definition.incoming)
    known = {**CONTAINERS, **(containers or {})}
    ranges = [range(lo, hi + 1) for _, lo, hi in definition.outgoing]
    channels: dict[str, tuple[int, ...]] = {}
    for counts in itertools.product(*ranges):
        slots = [definition.outgoing[i][0] for i, c in enumerate(counts) for _ in range(c)]
        if not slots:
            continue
        incoming = _multisets(definition.incoming, known)
        for combo in itertools.product(incoming, _multisets(slots, known)):
            flat = combo[0] + combo[1]
            if _charge3(flat, n_in) != 0 or not _generations_conserved(flat, n_in):
                continue
            name, ordering = canonical_channel(flat, n_in)
            if name in channels:
                continue
            canon = tuple(int(flat[i]) for i in ordering)
            if amplitude_exists(canon, n_in, qcd, ew):
                channels[name] = canon
    ordered = sorted(channels.items(), key=lambda item: (len(item[1]), item[0]))
    return [(pdg, n_in) for _, pdg in ordered]


def _multisets(codes: Sequence[int], containers: Mapping[int, Sequence[int]]) -> list[tuple[int, ...]]:
    """Every multiset of flavours the slots ``codes`` (containers or flavours) can hold."""
    per_code = [
        list(itertools.combinations_with_replacement(_flavours(code, containers), codes.count(code)))
        for code in sorted(set(codes))
    ]
    return [tuple(itertools.chain.from_iterable(parts)) for parts in itertools.product(*per_code)]


_CHARGE3 = {1: -1, 2: 2, 3: -1, 4: 2, 5: -1, 6: 2, 11: -3, 13: -3, 15: -3, 24: 3}


_GENERATION = {1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 2, 11: 3, 12: 3, 13: 4, 14: 4, 15: 5, 16: 5}


def _generations_conserved(pdg: Sequence[int], n_in: int) -> bool:
    """Quark and lepton number per generation is conserved (necessary with a diagonal CKM matrix)."""
    net = [0] * 6
    for i, c in enumerate(pdg):
        gen = _GENERATION.get(abs(c))
        if gen is not None:
            net[gen] += (1 if c > 0 else -1) * (-1 if i < n_in else 1)
    return not any(net)


def _charge3(pdg: Sequence[int], n_in: int) -> int:
    """Three times the electric charge flowing out minus in."""
    total = 0
    for i, c in enumerate(pdg):
        q = _CHARGE3.get(abs(c), 0) * (1 if c > 0 else -1)
        total += -q if i < n_in else q
    return total


def expand_groups(
    process: str | ProcessDefinition,
    order: Mapping[str, int | str] | None = None,
    config: GroupingConfig | None = None,
    containers: Mapping[int, Sequence[int]] | None = None,
) -> tuple[list[tuple[tuple[int, ...], int]], list[ReducedGroup]]:
    """:func:`expand_process` followed by :func:`lhe_tools.groups.reduce_channels`."""
    channels = expand_process(process, order, containers)
    return channels, reduce_channels(channels, config=config)
