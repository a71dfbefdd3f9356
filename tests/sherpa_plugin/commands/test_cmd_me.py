"""``fame me FILE``: the built-in ME against a dump's stored me2 (Sherpa's, or a corrupted copy)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lhe_tools.batch import EventBatch
from lhe_tools.dump import read_dump, write_dump
from sherpa_plugin.cli import main


def test_me_against_sherpa_dump(sherpa_ee: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["me", str(sherpa_ee / "ee_4j_ycut0.01_photon.npz"), "--points", "200", "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert result["points"] == 200
    assert result["max_rel_dev"] < 1e-10
    assert result["z_exchange"] is False  # read from the dump's metadata


def test_me_detects_a_wrong_me2(tmp_path: Path, sherpa_ee: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = read_dump(sherpa_ee / "ee_3j_ycut0.01_photon.npz").take(np.arange(100))
    assert src.me2 is not None
    me2 = src.me2.copy()
    me2[17] *= 1.01
    bad = EventBatch(src.momenta, src.pdg, src.weight, src.process, me2=me2, meta=src.meta)
    path = write_dump(tmp_path / "bad.npz", bad)
    assert main(["me", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["worst_point"] == 17
    assert result["max_rel_dev"] == pytest.approx(1.0 - 1.0 / 1.01, rel=1e-8)
    assert result["median_rel_dev"] < 1e-12


def test_me_refuses_unknown_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mom = np.zeros((3, 4, 4))
    batch = EventBatch(mom, np.array([11, -11, 13, -13]), np.ones(3), "2_2__e-__e+__mu-__mu+", me2=np.ones(3))
    path = write_dump(tmp_path / "mumu.npz", batch)
    assert main(["me", str(path), "--json"]) == 1
    err = capsys.readouterr().err
    assert "mumu.npz" in err and "[13, -13] are not gluons or light quarks" in err
