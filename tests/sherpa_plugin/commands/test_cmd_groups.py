"""``fame groups``: channels and reduced groups from a process definition, a real LHE file and fame dumps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pylhe
import pytest

from lhe_tools.channel_table import parse_order
from lhe_tools.process import canonical_channel
from sherpa_plugin.cli import main


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["groups", *args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert isinstance(result, dict)
    return result


def test_process_definition_json(capsys: pytest.CaptureFixture[str]) -> None:
    result = _run(["--process", "93 93 -> 11 -11 93{1}", "--order", "{QCD: Any, EW: 2}"], capsys)
    channels, groups = result["channels"], result["groups"]
    assert isinstance(channels, list) and isinstance(groups, list)
    # hand count with 5 massless flavours: q qbar -> Z (5); q qbar -> Z g, g q -> Z q, g qbar -> Z qbar (15)
    assert len(channels) == result["n_channels"] == 20
    by_mult = result["by_multiplicity"]
    assert by_mult == {"2_2": {"channels": 5, "groups": 2}, "2_3": {"channels": 15, "groups": 6}}
    names = {g["name"] for g in groups}
    assert "2_3__G__d__e-__e+__d" in names and "2_3__G__s__e-__e+__s" not in names
    for group in groups:
        assert set(group) >= {"name", "members"}
        assert group["members"][0]["process"] == group["name"]
        for member in group["members"]:
            assert canonical_channel(member["pdg"], 2)[0] == member["process"]
    assert sum(len(g["members"]) for g in groups) == 20


def test_lhe_file_channels_match_pylhe(testdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = testdata / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"
    expected: dict[str, int] = {}
    for event in pylhe.LHEFile.fromfile(str(path)).events:
        inc = [int(p.id) for p in event.particles if p.status == -1]
        out = [int(p.id) for p in event.particles if p.status == 1]
        name = canonical_channel(inc + out, 2)[0]
        expected[name] = expected.get(name, 0) + 1
    result = _run([str(path)], capsys)
    channels = result["channels"]
    assert isinstance(channels, list)
    assert {c["name"]: c["events"] for c in channels} == expected
    groups = result["groups"]
    assert isinstance(groups, list)
    assert sum(g["events"] for g in groups) == 10_000
    assert result["n_groups"] < result["n_channels"]


def test_dump_folder(sherpa_ee: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("ee_4q_dddd_ycut0.01.npz", "ee_4q_dduu_ycut0.01.npz"):
        (folder / name).symlink_to(sherpa_ee / name)
    result = _run([str(folder)], capsys)
    groups = result["groups"]
    assert isinstance(groups, list)
    assert [g["name"] for g in groups] == ["2_4__e-__e+__d__d__db__db", "2_4__e-__e+__d__u__db__ub"]
    with np.load(sherpa_ee / "ee_4q_dddd_ycut0.01.npz") as data:
        assert groups[0]["events"] == len(data["me2"])


def test_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["groups", "--json"]) == 1
    assert "exactly one" in capsys.readouterr().err
    assert main(["groups", "--process", "93 93 -> 11 -11", "--order", "QCD:two"]) == 1
    assert "QCD" in capsys.readouterr().err
    assert parse_order("QCD:Any,EW:2") == parse_order("{QCD: Any, EW: 2}") == {"QCD": "Any", "EW": 2}
    assert main(["groups", "--process", "93 93 -> 11 -11"]) == 0
    assert "2_2: 5 channels in 2 groups" in capsys.readouterr().out


def test_channels_without_sherpa_names(testdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GiBUU file: hadrons and no incoming partons; each channel stays a group of its own, nothing is dropped
    path = testdata / "pylhe-testfile-pr29.lhe"
    n_events = sum(1 for _ in pylhe.LHEFile.fromfile(str(path)).events)
    result = _run([str(path)], capsys)
    groups = result["groups"]
    assert isinstance(groups, list)
    assert result["n_groups"] == result["n_channels"] == len(groups) > 1
    assert all(g["sherpa_name"] is False and len(g["members"]) == 1 for g in groups)
    assert sum(g["events"] for g in groups) == n_events
