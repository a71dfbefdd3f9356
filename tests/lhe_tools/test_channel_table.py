"""``lhe_tools.channel_table``: channels of files and process definitions, grouped as Comix maps them.

Truths: pylhe's reading of a real Sherpa LHE file (event counts per particle content), and the electroweak
couplings: with massless quarks, e+e- -> q qbar (g) has one matrix element per up-type and one per down-type
quark (the same charge and weak isospin give the same |M|^2), so d, s, b share a group and u, c share one.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pylhe
import pytest

from lhe_tools.channel_table import (
    channels_from_files,
    channels_from_process,
    group_table,
    parse_order,
)

SHERPA_LHE = "pylhe-testfile-sherpa-3.0.1-eejjj.lhe"
DOWN, UP = (1, 3, 5), (2, 4)


def _content(pdg: tuple[int, ...], n_in: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return pdg[:n_in], tuple(sorted(pdg[n_in:]))


def test_channels_of_a_file_have_pylhe_event_counts(testdata: Path) -> None:
    path = testdata / SHERPA_LHE
    truth: collections.Counter[tuple[tuple[int, ...], tuple[int, ...]]] = collections.Counter()
    first_seen = []
    for event in pylhe.LHEFile.fromfile(str(path), with_attributes=False).events:
        key = (tuple(int(p.id) for p in event.particles if p.status == -1),
               tuple(sorted(int(p.id) for p in event.particles if p.status == 1)))
        if key not in truth:
            first_seen.append(key)
        truth[key] += 1
    channels, events = channels_from_files([str(path)])
    assert [_content(pdg, n_in) for pdg, n_in, _ in channels] == first_seen  # first-seen order
    assert {_content(pdg, n_in): events[name] for pdg, n_in, name in channels} == truth
    assert len({name for *_, name in channels}) == len(channels) == 9

    table = group_table(channels, events)
    # e+e- -> q qbar: d, s, b | u, c; e+e- -> q qbar g (no b g in the file): d, s | u, c
    assert dict(table.by_multiplicity) == {
        "2_2": {"channels": 5, "groups": 2}, "2_3": {"channels": 4, "groups": 2},
    }
    for group in table.groups:
        quarks = {abs(pid) for pid in group.pdg if 0 < abs(pid) < 6}
        members = {abs(pid) for _, pdg, _ in group.members for pid in pdg if 0 < abs(pid) < 6}
        assert members <= set(DOWN) or members <= set(UP), group.name
        assert quarks <= members
        assert group.events == sum(events[name] for name, _, _ in group.members)
    assert sum(g.events or 0 for g in table.groups) == sum(truth.values()) == 100
    assert {row.name: row.events for row in table.channels} == events


def test_process_definitions_group_by_quark_type() -> None:
    definitions = [f"11 -11 -> {q} -{q} 21" for q in (1, 3, 2)]
    channels = channels_from_process(definitions, None)
    assert [sorted(pdg[2:]) for pdg, _, _ in channels] == [[-1, 1, 21], [-3, 3, 21], [-2, 2, 21]]
    assert all(n_in == 2 and pdg[:2] == (11, -11) for pdg, n_in, _ in channels)
    table = group_table(channels, source="process")
    assert table.source == "process" and table.mode == "comix"
    assert [len(g.members) for g in table.groups] == [2, 1]
    d_group, u_group = table.groups
    assert {abs(p) for _, pdg, _ in d_group.members for p in pdg if p != 21} == {11, 1, 3}
    assert {abs(p) for _, pdg, _ in u_group.members for p in pdg if p != 21} == {11, 2}
    assert all(g.events is None and row.events is None for g in table.groups for row in table.channels)
    rows = {row.name: row.group for row in table.channels}
    assert rows == {name: (d_group.name if abs(pdg[3]) != 2 else u_group.name) for pdg, _, name in channels}
    assert table.lines() == [
        "2_3: 3 channels in 2 groups",
        f"{d_group.name}  [2]  {d_group.members[0][0]}, {d_group.members[1][0]}",
        f"{u_group.name}  [1]  {u_group.members[0][0]}",
    ]
    # 93 is the jet container: 5 massless quark flavours
    jets = channels_from_process(["11 -11 -> 93 93"], None)
    assert sorted(abs(pdg[2]) for pdg, _, _ in jets) == [1, 2, 3, 4, 5]
    assert [len(g.members) for g in group_table(jets).groups] == [3, 2]


def test_a_channel_without_a_sherpa_name_is_a_group_of_its_own() -> None:
    named = channels_from_process(["11 -11 -> 1 -1"], None)
    unknown = ((11, -11, 9_999_999, -1), 2, "my_channel")
    table = group_table([*named, unknown], {named[0][2]: 3, "my_channel": 4})
    own = table.groups[-1]
    assert own.name == "my_channel" and own.sherpa_name is False and own.events == 4
    assert own.members == (("my_channel", unknown[0], (0, 1, 2, 3)),)
    assert table.groups[0].sherpa_name is True and table.groups[0].events == 3
    data = json.loads(json.dumps(table.to_json()))
    assert data["n_channels"] == data["n_groups"] == 2
    assert data["groups"][-1]["sherpa_name"] is False and "sherpa_name" not in data["groups"][0]
    assert list(data["groups"][-1]) == ["name", "pdg", "n_in", "members", "sherpa_name", "events"]
    assert data["channels"][-1] == {"name": "my_channel", "pdg": [11, -11, 9_999_999, -1], "n_in": 2,
                                    "group": "my_channel", "events": 4}


@pytest.mark.parametrize(("text", "expected"), [
    (None, None),
    ("QCD:Any,EW:2", {"QCD": "Any", "EW": 2}),
    ("{QCD: Any, EW: 2}", {"QCD": "Any", "EW": 2}),
    ("ew=2", {"EW": 2}),
    ("QCD:*", {"QCD": "Any"}),
    ("{}", {}),
])
def test_parse_order(text: str | None, expected: dict[str, int | str] | None) -> None:
    assert parse_order(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("QCD:two", "QCD must be a non-negative integer or Any"),
    ("XY:1", "unknown coupling 'XY'"),
    ("QCD", "cannot read 'QCD'"),
    ("EW:-1", "EW must be a non-negative integer"),
])
def test_parse_order_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_order(text)
