"""``fame generate ee``: writes a dump whose me2 is the built-in ME of its momenta."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.me import matrix_element
from lhe_tools.dump import read_dump
from sherpa_plugin.cli import main


def test_generate_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ee4.npz"
    rc = main(
        ["generate", "ee", "--jets", "4", "--points", "300", "--ycut", "0.01", "--out", str(out), "--json"]
    )
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert result["points"] == 300 and result["ms_per_point"] > 0
    batch = read_dump(out)
    assert len(batch) == 300 and list(batch.pdg) == [11, -11, 21, 21, 1, -1]
    assert batch.me2 is not None
    np.testing.assert_allclose(batch.me2, matrix_element(batch.momenta, batch.pdg), rtol=1e-14)


def test_generate_explicit_pdg_and_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "q.npz"
    assert main(["generate", "ee", "--pdg", "11 -11 2 1 -2 -1", "--points", "20", "--out", str(out)]) == 0
    assert read_dump(out).process == "2_4__e-__e+__d__u__db__ub"
    rc = main(
        ["generate", "ee", "--pdg", "11 -11 21 21 1 1 -1 -1", "--points", "5", "--out", str(tmp_path / "x")]
    )
    assert rc == 1
    assert "at most 1 gluon with two quark pairs" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
