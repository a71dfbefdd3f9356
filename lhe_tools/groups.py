"""Reduced groups: partonic channels that share one matrix element up to a flavour relabelling (SPEC §3.3).

Comix (``COMIX/Main/Single_Process.C``, ``MapProcess``) maps a process onto an already built one when their
amplitudes are equal after relabelling flavours of identical couplings.  One relabelling is applied
consistently to every particle of the process (antiparticles follow their particles).  With Sherpa 3's
default model (massless d u s c b, e and μ; diagonal CKM) and minimal electroweak order, which flavours are
interchangeable depends on how the quarks couple:

* quarks that couple to a γ/Z (every flavour conserved and some non-strong particle present, e.g. Z+jets,
  e+e- → jets): down-type d ↔ s ↔ b and up-type u ↔ c separately;
* quarks that couple only to gluons (pure QCD, or the spectator lines of a W process): all of d u s c b;
* flavours that are not conserved (charged currents, e.g. ``d ub -> e- veb``): the relabelling must keep their
  SU(2) partners together ((d,u) ↔ (s,c); b has the massive t as partner), so ``s cb -> e- veb`` joins
  ``d ub -> e- veb``;
* charged leptons e ↔ μ (τ is *not* mapped by Sherpa 3.0.3), neutrinos ν_e ↔ ν_μ ↔ ν_τ.

Limitation: the couplings are inferred from the external flavours assuming the minimal electroweak order;
processes whose orders allow extra W/Z exchange between quark lines (e.g. pure-EW four-quark channels, or
W-pair production with t-channel quarks) may be grouped more coarsely than Comix does.

Two modes:

``"comix"`` (default)
    Exactly Comix's rule: the relabelling acts position by position on the canonically ordered channel, and
    the relabelled list must itself be in Sherpa's canonical order.  So ``2_4__u__b__e-__e+__u__b`` maps onto
    ``2_4__u__s__e-__e+__u__s`` but not onto ``2_4__d__u__e-__e+__d__u`` (b → d would reorder the particles).
    The member permutations are the canonical ordering only.  This reproduces the channel → map-target
    assignment of Sherpa's ``Process/Comix.zip`` (pp → e+e- + 0…3 jets: 5/15/95/145 channels in 2/6/30/50
    groups; also W+0…2 jets, pp → 2, 3 jets, lepton and neutrino channels).
``"full"``
    Any allowed relabelling followed by re-sorting; fewer groups (e.g. ``u b`` joins ``d u``), and the member
    permutations carry the re-sorting.

The representative of a group is its first member in Sherpa's build order, which is the map target Comix
writes: incoming flavours (as a set) compared first, then the outgoing ones position by position, each flavour
ranked as in Sherpa's jet container (d db u ub s sb c cb b bb G), other flavours after them by |PDG id|,
particle before antiparticle.  So d comes before s before b and u before c.  It is chosen over the whole orbit
of the channel, so a group's name does not depend on which members happen to be present.  Checked: the same
target as Sherpa's ``Comix.zip`` for every channel of the runs listed above.  The group name is the
representative's process name.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .process import canonical_channel, is_canonical, process_name, sherpa_particle

__all__ = [
    "DEFAULT_CLASSES",
    "DEFAULT_PARTNERS",
    "DEFAULT_QCD_QUARKS",
    "GroupMember",
    "GroupingConfig",
    "ReducedGroup",
    "group_of",
    "reduce_channels",
    "representative",
]

#: flavour classes of identical electroweak couplings in Sherpa 3's default model (unsigned PDG ids)
DEFAULT_CLASSES: tuple[tuple[int, ...], ...] = ((1, 3, 5), (2, 4), (11, 13), (12, 14, 16))
#: massless quarks, interchangeable where they couple only to gluons
DEFAULT_QCD_QUARKS: tuple[int, ...] = (1, 2, 3, 4, 5)
#: Sherpa's jet-container order, which fixes the build order of channels and so the Comix map targets
_BUILD_ORDER: tuple[int, ...] = (1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 21)

#: SU(2) partners (W couplings with a diagonal CKM matrix)
DEFAULT_PARTNERS: tuple[tuple[int, int], ...] = ((1, 2), (3, 4), (5, 6), (11, 12), (13, 14), (15, 16))


@dataclass(frozen=True)
class GroupingConfig:
    """How channels are reduced.

    Attributes
    ----------
    mode : str
        ``"comix"`` (position-preserving relabellings only, as Comix maps) or ``"full"`` (any relabelling,
        particles re-sorted afterwards).
    classes : tuple of tuple of int
        Interchangeable flavours (unsigned PDG ids), each class ordered lowest first.
    partners : tuple of (int, int)
        Charged-current partners; kept together for the flavours a process does not conserve.
    qcd_quarks : tuple of int
        Quarks that are interchangeable where they couple only to gluons, lowest first.
    """

    mode: str = "comix"
    classes: tuple[tuple[int, ...], ...] = DEFAULT_CLASSES
    partners: tuple[tuple[int, int], ...] = DEFAULT_PARTNERS
    qcd_quarks: tuple[int, ...] = DEFAULT_QCD_QUARKS

    def __post_init__(self) -> None:
        if self.mode not in ("comix", "full"):
            raise ValueError(f"GroupingConfig.mode must be 'comix' or 'full', got {self.mode!r}")
        seen: set[int] = set()
        for cls in self.classes:
            overlap = seen.intersection(cls)
            if overlap or len(set(cls)) != len(cls) or any(k <= 0 for k in cls):
                raise ValueError(f"flavour classes must be disjoint positive PDG ids, got {self.classes}")
            seen.update(cls)


@dataclass(frozen=True)
class GroupMember:
    """One partonic channel of a reduced group.

    Attributes
    ----------
    process : str
        The member's Sherpa process name.
    pdg : tuple of int
        The member's PDG ids in its own particle order (canonical order for channels from this package).
    permutation : tuple of int
        ``member_momenta[:, permutation]`` is in the representative's particle order, and
        ``pdg[permutation]`` equals the representative's pdg up to the flavour relabelling.
    """

    process: str
    pdg: tuple[int, ...]
    permutation: tuple[int, ...]


@dataclass(frozen=True)
class ReducedGroup:
    """Channels sharing one matrix element.

    Attributes
    ----------
    name : str
        Process name of the representative (the lowest member).
    pdg : tuple of int
        The representative's PDG ids in canonical order.
    n_in : int
        Number of incoming particles.
    members : tuple of GroupMember
        All channels of the group, the representative first, then by name.
    """

    name: str
    pdg: tuple[int, ...]
    n_in: int
    members: tuple[GroupMember, ...] = field(default_factory=tuple)

    def member(self, process: str) -> GroupMember:
        """The member called ``process`` (KeyError if it is not in this group)."""
        for m in self.members:
            if m.process == process:
                return m
        raise KeyError(f"{process!r} is not a member of group {self.name!r}")


def _unconserved(pdg: Sequence[int], n_in: int) -> set[int]:
    """Unsigned flavours whose number (particles minus antiparticles, outgoing minus incoming) changes."""
    net: dict[int, int] = {}
    for i, c in enumerate(pdg):
        sign = (1 if c > 0 else -1) * (-1 if i < n_in else 1)
        net[abs(c)] = net.get(abs(c), 0) + sign
    return {kf for kf, n in net.items() if n != 0}


def _classes_for(pdg: Sequence[int], n_in: int, config: GroupingConfig) -> list[tuple[int, ...]]:
    """The flavour classes that apply to this channel (see the module docstring)."""
    quarks = set(config.qcd_quarks)
    has_ew = any(not sherpa_particle(c).strong for c in pdg)
    quark_cc = bool(quarks & _unconserved(pdg, n_in))
    if has_ew and not quark_cc:
        return list(config.classes)
    return [config.qcd_quarks] + [cls for cls in config.classes if not quarks.intersection(cls)]


def _build_rank(pdg: int) -> int:
    try:
        return _BUILD_ORDER.index(pdg)
    except ValueError:
        return len(_BUILD_ORDER) + 2 * abs(pdg) + (pdg < 0)


def _build_key(pdg: Sequence[int], n_in: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Sort key of Sherpa's build order: incoming flavours as a set, then the outgoing ones in order."""
    return tuple(sorted(_build_rank(c) for c in pdg[:n_in])), tuple(_build_rank(c) for c in pdg[n_in:])


def _keeps_doublet(
    kf: int, mapping: dict[int, int], partner: dict[int, int], ew_class: dict[int, tuple[int, ...]]
) -> bool:
    """A flavour on a charged current keeps its electroweak class and moves together with its partner."""
    image = mapping.get(kf, kf)
    if image != kf and image not in ew_class.get(kf, ()):
        return False
    if kf not in partner:
        return True
    return mapping.get(partner[kf], partner[kf]) == partner.get(image)


def _relabellings(pdg: Sequence[int], n_in: int, config: GroupingConfig) -> Iterable[dict[int, int]]:
    """Every allowed relabelling (unsigned kf → kf) of the flavours in ``pdg``."""
    present = {abs(int(c)) for c in pdg}
    classes = _classes_for(pdg, n_in, config)
    used = [(tuple(sorted(present.intersection(cls))), cls) for cls in classes if present.intersection(cls)]
    partner = {a: b for a, b in config.partners} | {b: a for a, b in config.partners}
    charged = _unconserved(pdg, n_in)
    ew_class = {kf: cls for cls in config.classes for kf in cls}
    choices = [itertools.permutations(cls, len(src)) for src, cls in used]
    for images in itertools.product(*choices):
        mapping: dict[int, int] = {}
        for (src, _), image in zip(used, images, strict=True):
            mapping.update(zip(src, image, strict=True))
        if all(_keeps_doublet(kf, mapping, partner, ew_class) for kf in charged):
            yield mapping


def representative(
    pdg: Sequence[int], n_in: int = 2, config: GroupingConfig | None = None
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The representative channel of ``pdg`` and the permutation into its particle order.

    Parameters
    ----------
    pdg : sequence of int, length n
        Signed PDG ids, incoming first, in any order within the incoming and outgoing parts.
    n_in : int
        Number of incoming particles.
    config : GroupingConfig, optional
        Mode and flavour classes (default: Comix's rule with Sherpa 3's default classes).

    Returns
    -------
    rep_pdg : tuple of int
        The representative's PDG ids in canonical order.
    permutation : tuple of int
        ``momenta[:, permutation]`` is in ``rep_pdg``'s order.
    """
    cfg = config or GroupingConfig()
    codes = [int(c) for c in pdg]
    _, order = canonical_channel(codes, n_in)
    canon = [codes[i] for i in order]
    best: tuple[tuple[tuple[int, ...], tuple[int, ...]], tuple[int, ...], tuple[int, ...]] | None = None
    for mapping in _relabellings(canon, n_in, cfg):
        image = [int(np.sign(c)) * mapping.get(abs(c), abs(c)) for c in canon]
        if cfg.mode == "comix":
            if not is_canonical(image, n_in):
                continue
            perm = list(range(len(image)))
        else:
            _, sub = canonical_channel(image, n_in)
            perm = [int(i) for i in sub]
            image = [image[i] for i in perm]
        cand = (_build_key(image, n_in), tuple(image), tuple(int(order[i]) for i in perm))
        if best is None or cand[:2] < best[:2]:
            best = cand
    assert best is not None  # the identity relabelling is always valid
    return best[1], best[2]


def reduce_channels(
    channels: Iterable[tuple[Sequence[int], int]], *, config: GroupingConfig | None = None
) -> list[ReducedGroup]:
    """Partition channels into reduced groups.

    Parameters
    ----------
    channels : iterable of (pdg, n_in)
        Each channel's signed PDG ids (incoming first; canonical order expected, any order accepted) and its
        number of incoming particles.  Duplicates (same process name) are merged.
    config : GroupingConfig, optional
        Mode and flavour classes (default: Comix's rule, Sherpa 3's default classes).

    Returns
    -------
    list of ReducedGroup
        Sorted by multiplicity, then name; members with the representative first, then by name.
    """
    cfg = config or GroupingConfig()
    buckets: dict[tuple[tuple[int, ...], int], dict[str, GroupMember]] = {}
    for pdg, n_in in channels:
        codes = tuple(int(c) for c in pdg)
        name, _ = canonical_channel(codes, n_in)
        rep, perm = representative(codes, n_in, cfg)
        members = buckets.setdefault((rep, n_in), {})
        if name not in members:
            members[name] = GroupMember(process=name, pdg=codes, permutation=perm)
    groups = []
    for (rep, n_in), members in buckets.items():
        rep_name = process_name(rep, n_in)
        ordered = sorted(members.values(), key=lambda m: (m.process != rep_name, m.process))
        groups.append(ReducedGroup(name=rep_name, pdg=rep, n_in=n_in, members=tuple(ordered)))
    groups.sort(key=lambda g: (len(g.pdg), g.name))
    return groups


def group_of(groups: Sequence[ReducedGroup], process: str) -> tuple[ReducedGroup, GroupMember]:
    """The group and member entry of the channel called ``process``.

    Raises
    ------
    KeyError
        If no group has such a member; the message names the nearest known process names.
    """
    names: list[str] = []
    for group in groups:
        for member in group.members:
            if member.process == process:
                return group, member
            names.append(member.process)
    near = difflib.get_close_matches(process, names, n=3, cutoff=0.5)
    raise KeyError(f"process {process!r} is in none of the {len(groups)} groups; nearest: {near}")
