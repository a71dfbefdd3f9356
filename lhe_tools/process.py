"""Sherpa-style process names and Sherpa's canonical particle order (SPEC §3.3).

Sherpa names a partonic channel ``<nin>_<nout>__<name>__<name>…`` (``PHASIC++/Process/Process_Base.C``),
incoming particles first, then outgoing ones, each part sorted by Sherpa's ``Order_Flavour`` comparator
(``PHASIC++/Process/Process_Base.H``), applied rule by rule:

1. higher ``Priority`` first (charged leptons 2, neutrinos 1, everything else 0);
2. a strong massive particle before a photon;
3. non-strong before strong;
4. heavier first (Sherpa 3 default masses in the matrix element: d u s c b and all leptons massless);
5. scalars, then vectors, then fermions;
6. particle before antiparticle;
7. smaller ``|kf|`` first.

Examples checked against Sherpa 3.0.3 ``INIT_ONLY`` runs: ``2_5__e-__e+__G__G__G__d__db``,
``2_4__e-__e+__d__u__db__ub``, ``2_6__u__db__e-__mu-__tau-__e+__mu+__tau+``,
``2_5__u__db__ve__veb__W+__P__G``, ``2_5__d__db__e-__e+__h0__Z__P``, ``2_4__d__db__t__tb__G__G``.
Incoming particles are sorted with the same rule (Sherpa's default ``Sort_Flavors`` for processes built from
containers), so names read ``G__d`` and ``d__db``; incoming particle 0 is *not* necessarily the +z beam.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cmp_to_key

import numpy as np
import numpy.typing as npt

__all__ = [
    "SherpaParticle",
    "canonical_channel",
    "is_canonical",
    "order_flavours",
    "parse_process_name",
    "particle_name",
    "pdg_from_name",
    "process_name",
    "sherpa_particle",
]

_SCALAR, _VECTOR, _FERMION = 0, 1, 2


@dataclass(frozen=True)
class SherpaParticle:
    """Properties of one Sherpa flavour that enter the canonical ordering.

    Attributes
    ----------
    kf : int
        Unsigned PDG code (Sherpa's ``Kfcode``).
    name, anti_name : str
        Sherpa ``IDName`` of the particle and of its antiparticle (equal for self-conjugate ones).
    priority : int
        Sherpa's ordering priority (charged leptons 2, neutrinos 1, others 0).
    strong : bool
        Carries colour.
    mass : float
        Mass in GeV as seen by the matrix element in Sherpa 3's default setup (0 for massless).
    spin_class : int
        0 scalar, 1 vector, 2 fermion.
    """

    kf: int
    name: str
    anti_name: str
    priority: int
    strong: bool
    mass: float
    spin_class: int


def _table() -> dict[int, SherpaParticle]:
    rows: list[SherpaParticle] = []
    for kf, name in ((1, "d"), (2, "u"), (3, "s"), (4, "c"), (5, "b")):
        rows.append(SherpaParticle(kf, name, name + "b", 0, True, 0.0, _FERMION))
    rows.append(SherpaParticle(6, "t", "tb", 0, True, 172.5, _FERMION))
    for kf, name in ((11, "e"), (13, "mu"), (15, "tau")):
        rows.append(SherpaParticle(kf, name + "-", name + "+", 2, False, 0.0, _FERMION))
    for kf, name in ((12, "ve"), (14, "vmu"), (16, "vtau")):
        rows.append(SherpaParticle(kf, name, name + "b", 1, False, 0.0, _FERMION))
    rows += [
        SherpaParticle(21, "G", "G", 0, True, 0.0, _VECTOR),
        SherpaParticle(22, "P", "P", 0, False, 0.0, _VECTOR),
        SherpaParticle(23, "Z", "Z", 0, False, 91.1876, _VECTOR),
        SherpaParticle(24, "W+", "W-", 0, False, 80.379, _VECTOR),
        SherpaParticle(25, "h0", "h0", 0, False, 125.09, _SCALAR),
    ]
    return {row.kf: row for row in rows}


_PARTICLES: dict[int, SherpaParticle] = _table()
_SELF_CONJUGATE = frozenset(kf for kf, p in _PARTICLES.items() if p.name == p.anti_name)
_BY_NAME: dict[str, int] = {}
for _kf, _p in _PARTICLES.items():
    _BY_NAME[_p.name] = _kf
    if _kf not in _SELF_CONJUGATE:
        _BY_NAME[_p.anti_name] = -_kf


def _describe(pdg: int) -> str:
    """A human description of a PDG id for error messages (via the ``particle`` package when it knows it)."""
    try:
        from particle import Particle

        return f"{pdg} ({Particle.from_pdgid(pdg).name})"
    except Exception:  # the particle package does not know every id (e.g. 0, generator-internal codes)
        return str(pdg)


def sherpa_particle(pdg: int) -> SherpaParticle:
    """The :class:`SherpaParticle` of a signed PDG id.

    Raises
    ------
    ValueError
        If the id is not a Standard-Model particle of Sherpa's default model (quarks d…t, leptons,
        neutrinos, g, γ, Z, W±, h), or is the negative of a self-conjugate one.
    """
    code = int(pdg)
    row = _PARTICLES.get(abs(code))
    if row is None or (code < 0 and abs(code) in _SELF_CONJUGATE):
        known = ", ".join(str(k) for k in sorted(_PARTICLES))
        raise ValueError(
            f"PDG id {_describe(code)} has no Sherpa Standard-Model name; expected one of ±{{{known}}} "
            "(21, 22, 23, 25 without sign)"
        )
    return row


def particle_name(pdg: int) -> str:
    """Sherpa's ``IDName`` of a signed PDG id: ``1 -> "d"``, ``-1 -> "db"``, ``21 -> "G"``, ``-11 -> "e+"``.
    """
    row = sherpa_particle(pdg)
    return row.anti_name if int(pdg) < 0 else row.name


def pdg_from_name(name: str) -> int:
    """Inverse of :func:`particle_name`: ``"db" -> -1``, ``"G" -> 21``, ``"W-" -> -24``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        near = difflib.get_close_matches(name, list(_BY_NAME), n=3)
        raise ValueError(f"unknown Sherpa particle name {name!r}; nearest known: {near}") from None


def _compare(a: int, b: int) -> int:
    """Sherpa's ``Order_Flavour(a, b)`` as a three-way comparison (-1: a first, 1: b first, 0: equivalent)."""
    pa, pb = sherpa_particle(a), sherpa_particle(b)
    if pa.priority != pb.priority:
        return -1 if pa.priority > pb.priority else 1
    a_photon_rule = pa.strong and pa.mass > 0 and pb.kf == 22
    b_photon_rule = pb.strong and pb.mass > 0 and pa.kf == 22
    if a_photon_rule:
        return -1
    if b_photon_rule:
        return 1
    if pa.strong != pb.strong:
        return 1 if pa.strong else -1
    if pa.mass != pb.mass:
        return -1 if pa.mass > pb.mass else 1
    if pa.spin_class != pb.spin_class:
        return -1 if pa.spin_class < pb.spin_class else 1
    anti_a, anti_b = int(a) < 0, int(b) < 0
    if anti_a != anti_b:
        return 1 if anti_a else -1
    return (pa.kf > pb.kf) - (pa.kf < pb.kf)


def _ranks() -> dict[int, int]:
    """Position of every known signed flavour in Sherpa's order (the comparator is a total order on them)."""
    codes = [c for kf in _PARTICLES for c in ((kf,) if kf in _SELF_CONJUGATE else (kf, -kf))]
    ordered = sorted(codes, key=cmp_to_key(_compare))
    for i, a in enumerate(ordered):  # the comparator must be transitive for ranks to reproduce it
        for b in ordered[i + 1 :]:
            if _compare(a, b) != -1 or _compare(b, a) != 1:
                raise AssertionError(f"Sherpa flavour order is not total for {a}, {b}")
    return {c: i for i, c in enumerate(ordered)}


_RANK: dict[int, int] = _ranks()


def _rank(pdg: int) -> int:
    rank = _RANK.get(int(pdg))
    if rank is None:
        sherpa_particle(pdg)  # raises the descriptive error
        raise AssertionError(pdg)  # pragma: no cover - every known flavour has a rank
    return rank


def order_flavours(pdg: Sequence[int]) -> list[int]:
    """Indices that sort ``pdg`` into Sherpa's order.

    The sort is stable: identical flavours keep their relative order.
    """
    ranks = [_rank(c) for c in pdg]
    return sorted(range(len(ranks)), key=ranks.__getitem__)


def is_canonical(pdg: Sequence[int], n_in: int = 2) -> bool:
    """Whether ``pdg`` (incoming first) is already in Sherpa's canonical order."""
    ranks = [_rank(c) for c in pdg]
    parts = (ranks[:n_in], ranks[n_in:])
    return all(a <= b for part in parts for a, b in itertools.pairwise(part))


def process_name(pdg: Sequence[int], n_in: int = 2) -> str:
    """The Sherpa name of ``pdg`` *as given* (no sorting): ``<nin>_<nout>__<name>…``."""
    codes = [int(c) for c in pdg]
    if not 0 < n_in < len(codes):
        raise ValueError(f"a process needs 0 < n_in < n; got n_in={n_in} for {len(codes)} particles {codes}")
    names = "__".join(particle_name(c) for c in codes)
    return f"{n_in}_{len(codes) - n_in}__{names}"


def canonical_channel(pdg: Sequence[int], n_in: int = 2) -> tuple[str, npt.NDArray[np.int64]]:
    """Sherpa-style name of a partonic channel and the permutation into Sherpa's canonical order.

    Parameters
    ----------
    pdg : sequence of int, length n
        Signed PDG ids, the ``n_in`` incoming particles first, in any order within each part.
    n_in : int
        Number of incoming particles (2 for collisions, 1 for decays).

    Returns
    -------
    name : str
        E.g. ``"2_3__e-__e+__G__d__db"``.
    order : ndarray, int64, shape (n,)
        ``pdg[order]`` (and ``momenta[:, order]``) is in canonical order; incoming indices stay first.
    """
    codes = [int(c) for c in pdg]
    if not 0 < n_in < len(codes):
        raise ValueError(f"a process needs 0 < n_in < n; got n_in={n_in} for {len(codes)} particles {codes}")
    incoming = order_flavours(codes[:n_in])
    outgoing = [n_in + i for i in order_flavours(codes[n_in:])]
    order = np.asarray(incoming + outgoing, dtype=np.int64)
    return process_name([codes[i] for i in order], n_in), order


def parse_process_name(name: str) -> tuple[tuple[int, ...], int]:
    """Inverse of :func:`process_name`: ``"2_3__e-__e+__G__d__db" -> ((11, -11, 21, 1, -1), 2)``."""
    head, sep, rest = name.partition("__")
    parts = head.split("_")
    if not sep or len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{name!r} is not a Sherpa process name of the form '<nin>_<nout>__<name>__…'")
    n_in, n_out = int(parts[0]), int(parts[1])
    names = rest.split("__")
    if len(names) != n_in + n_out:
        raise ValueError(f"{name!r}: header says {n_in}+{n_out} particles but {len(names)} names follow")
    return tuple(pdg_from_name(n) for n in names), n_in
