"""``fame ingest``: one dump per channel, JSON summary checked against pylhe, clear failure on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pylhe
import pytest

from lhe_tools import read_dump, read_events
from sherpa_plugin.cli import main

FILES = (
    "pylhe-testfile-sherpa-3.0.1-eejjj.lhe",
    "pylhe-testfile-powheg-box-v2-Zj.lhe",
    "pylhe-testfile-hpcgen.hdf5",
    "pylhe-testfile-madgraph-2.0.0-wbj.lhe",
)


def test_ingest_json_and_dumps(testdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(testdata / f) for f in FILES]
    out = tmp_path / "dumps"
    assert main(["ingest", *paths, "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for p in paths:
        events = list(pylhe.LHEFile.fromfile(p, with_attributes=False).events)
        info = result["files"][p]
        assert info["events"] == len(events) == sum(info["channels"].values())
        assert info["sum_weights"] == pytest.approx(sum(e.eventinfo.weight for e in events), rel=1e-13)
    assert result["events"] == sum(f["events"] for f in result["files"].values())
    written = {c["process"]: c for c in result["channels"]}
    assert {p.stem for p in out.glob("*.npz")} == set(written)
    expected = {}
    for p in paths:
        for b in read_events(p):
            expected.setdefault(b.process, []).append(b)
    assert set(expected) == set(written)
    for name, batches in expected.items():
        dump = read_dump(written[name]["path"])
        assert dump.process == name and dump.pdg.tolist() == batches[0].pdg.tolist()
        np.testing.assert_array_equal(dump.momenta, np.concatenate([b.momenta for b in batches]))
        np.testing.assert_array_equal(dump.weight, np.concatenate([b.weight for b in batches]))
        assert written[name]["events"] == len(dump)
        # LHEF3 weights (<rwgt>/<weights> with ids from <initrwgt>) are stored with the events
        if len(batches) == 1:
            assert set(dump.extra_weights) == set(batches[0].extra_weights)
            for key, col in batches[0].extra_weights.items():
                np.testing.assert_array_equal(dump.extra_weights[key], col)
    # a channel joined from runs at different energies (POWHEG 1.96 TeV, hpcgen 14 TeV) claims no sqrt_s
    for name, batches in expected.items():
        energies = {b.meta["sqrt_s"] for b in batches}
        meta = read_dump(written[name]["path"]).meta
        assert meta["sqrt_s"] == (energies.pop() if len(energies) == 1 else None)
    sherpa_dump = read_dump(out / "2_3__e-__e+__G__d__db.npz")
    assert sherpa_dump.trials is not None and sherpa_dump.muf2 is not None
    assert sherpa_dump.meta["generator"] == "Sherpa 3.0.1" and sherpa_dump.n_in == 2


def test_ingest_bad_file_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.lhe"
    bad.write_text('<LesHouchesEvents version="1.0">\n<event>\n</event>\n</LesHouchesEvents>\n')
    out = tmp_path / "dumps"
    assert main(["ingest", str(bad), "--out", str(out), "--json"]) == 1
    err = capsys.readouterr().err
    assert "bad.lhe" in err and "no <init> block" in err
    assert not out.exists() or not list(out.glob("*.npz"))
