"""Reduced groups (Comix flavour mapping): hand-made cases, a real MadGraph Z+jets file, permutations.

The comparison with Sherpa's own ``Process/Comix.zip`` maps is in ``test_expand.py`` (it runs Sherpa).
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pylhe
import pytest

from lhe_tools.groups import GroupingConfig, group_of, reduce_channels, representative
from lhe_tools.process import canonical_channel

# Interchangeable flavours for neutral-current processes (Z/γ* + jets), written out independently.
NC_CLASSES = ({1, 3, 5}, {2, 4}, {11, 13}, {12, 14, 16})


def _class_of(kf: int) -> frozenset[int]:
    for cls in NC_CLASSES:
        if kf in cls:
            return frozenset(cls)
    return frozenset({kf})


def _relabelling(src: Sequence[int], dst: Sequence[int]) -> dict[int, int] | None:
    """Position-wise flavour map src -> dst if it is a consistent class-preserving bijection, else None."""
    if len(src) != len(dst):
        return None
    mapping: dict[int, int] = {}
    for a, b in zip(src, dst, strict=True):
        if (a > 0) != (b > 0) or abs(b) not in _class_of(abs(a)):
            return None
        if mapping.setdefault(abs(a), abs(b)) != abs(b):
            return None
    if len(set(mapping.values())) != len(mapping):
        return None
    return mapping


def _canon(pdg: Sequence[int]) -> tuple[int, ...]:
    _, order = canonical_channel(pdg, 2)
    return tuple(int(pdg[i]) for i in order)


def test_hand_made_cases_of_the_issue() -> None:
    dd_g = (1, -1, 11, -11, 21)
    ss_g = (3, -3, 11, -11, 21)
    uu_g = (2, -2, 11, -11, 21)
    dd_ddg = (1, -1, 11, -11, 21, 1, -1)
    dd_ssg = (1, -1, 11, -11, 21, 3, -3)
    groups = reduce_channels([(_canon(p), 2) for p in (dd_g, ss_g, uu_g, dd_ddg, dd_ssg)])
    by_member = {m.process: g.name for g in groups for m in g.members}
    assert by_member["2_3__d__db__e-__e+__G"] == by_member["2_3__s__sb__e-__e+__G"] == "2_3__d__db__e-__e+__G"
    assert by_member["2_3__u__ub__e-__e+__G"] == "2_3__u__ub__e-__e+__G"
    assert by_member["2_5__d__db__e-__e+__G__d__db"] != by_member["2_5__d__db__e-__e+__G__s__sb"]
    assert len(groups) == 4
    group, member = group_of(groups, "2_3__s__sb__e-__e+__G")
    assert group.name == "2_3__d__db__e-__e+__G" and member.pdg == (3, -3, 11, -11, 21)
    assert group.members[0].process == group.name
    with pytest.raises(KeyError, match="2_3__s__sb__e-__e\\+__G"):
        group_of(groups, "2_3__s__sb__e-__e+__P")


def test_representative_is_chosen_over_the_whole_orbit() -> None:
    # only the b channel is present, the group is still named after d
    groups = reduce_channels([((5, -5, 11, -11, 21), 2)])
    assert [g.name for g in groups] == ["2_3__d__db__e-__e+__G"]
    # e+e- -> jets: initial-state leptons, final-state quark relabelling
    rep, perm = representative((11, -11, 21, 4, -4), 2)
    assert rep == (11, -11, 21, 2, -2) and perm == (0, 1, 2, 3, 4)


def test_charged_current_keeps_partners_together() -> None:
    # W channels: (s, c) -> (d, u) together; tau is not mapped (Sherpa 3.0.3), nu_tau only with its partner
    rep, _ = representative((4, -3, -11, 12, 21), 2)
    assert rep == (2, -1, -11, 12, 21)
    rep, _ = representative((1, -2, 15, -16), 2)
    assert rep == (1, -2, 15, -16)
    # the spectator pair of a W+2j channel couples to gluons only: c cb -> s sb (Comix maps it so)
    rep, _ = representative((1, -2, 11, -12, 4, -4), 2)
    assert rep == (1, -2, 11, -12, 3, -3)


def test_full_mode_permutations_map_onto_the_representative() -> None:
    cfg = GroupingConfig(mode="full")
    channels = [((2, 5, 11, -11, 2, 5), 2), ((1, 2, 11, -11, 1, 2), 2), ((3, 4, 11, -11, 3, 4), 2)]
    groups = reduce_channels(channels, config=cfg)
    assert len(groups) == 1
    group = groups[0]
    assert group.name == "2_4__d__u__e-__e+__d__u"
    for member in group.members:
        permuted = [member.pdg[i] for i in member.permutation]
        assert _relabelling(permuted, group.pdg) is not None, member
    ub = group.member("2_4__u__b__e-__e+__u__b")
    assert ub.permutation == (1, 0, 2, 3, 5, 4)  # b takes d's place, u moves behind it
    # in comix mode the same channels stay apart (b -> d would reorder the particles)
    assert len(reduce_channels(channels)) == 2
    with pytest.raises(ValueError, match="mode"):
        GroupingConfig(mode="other")


def _madgraph_channels(path: Path) -> collections.Counter[tuple[int, ...]]:
    counts: collections.Counter[tuple[int, ...]] = collections.Counter()
    for event in pylhe.LHEFile.fromfile(str(path)).events:
        inc = [int(p.id) for p in event.particles if p.status == -1]
        out = [int(p.id) for p in event.particles if p.status == 1]
        counts[tuple(inc + out)] += 1
    return counts


def test_madgraph_z_jets_file(testdata: Path) -> None:
    raw = _madgraph_channels(testdata / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz")
    assert sum(raw.values()) == 10_000
    groups = reduce_channels((pdg, 2) for pdg in raw)
    canon_events: collections.Counter[str] = collections.Counter()
    for pdg, n in raw.items():
        canon_events[canonical_channel(pdg, 2)[0]] += n
    members = {m.process: (g, m) for g in groups for m in g.members}
    assert set(members) == set(canon_events)  # every channel in exactly one group
    assert sum(len(g.members) for g in groups) == len(canon_events)
    assert len(groups) < len(canon_events)
    # each member's particles, permuted, are the representative's up to a class-preserving relabelling
    for group in groups:
        for m in group.members:
            assert _relabelling([m.pdg[i] for i in m.permutation], group.pdg) is not None, m.process
    # maximality, by brute force over pairs with an independent position-wise relabelling test
    canon = {name: _canon(members[name][1].pdg) for name in canon_events}
    for a, b in itertools.combinations(canon, 2):
        same = members[a][0].name == members[b][0].name
        assert same == (_relabelling(canon[a], canon[b]) is not None), (a, b)
    # physics spot checks: e <-> mu and d <-> s share, u and d do not
    name_of = {n: members[n][0].name for n in canon_events}
    assert name_of["2_2__s__sb__mu-__mu+"] == name_of["2_2__d__db__e-__e+"] == "2_2__d__db__e-__e+"
    assert name_of["2_2__c__cb__mu-__mu+"] == name_of["2_2__u__ub__e-__e+"] == "2_2__u__ub__e-__e+"
    assert name_of["2_3__G__c__mu-__mu+__c"] == "2_3__G__u__e-__e+__u"
    per_group = np.array([sum(canon_events[m.process] for m in g.members) for g in groups])
    assert per_group.sum() == 10_000
    assert np.all(per_group > 0)
