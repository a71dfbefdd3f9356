"""Live cross-check with Sherpa's MEProcess for processes that the reference datasets do not contain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.me import generate_ee, matrix_element
from lhe_tools.batch import EventBatch
from lhe_tools.dump import read_dump, write_dump

pytestmark = pytest.mark.sherpa


@pytest.mark.parametrize("pdg", [[11, -11, 2, -2], [11, -11, 21, 21, 2, -2]], ids=["uu", "uugg"])
def test_against_live_sherpa(pdg: list[int], sherpa_python: Path, tmp_path: Path) -> None:
    from sherpa_plugin.dump import DumpSettings, sherpa_dump

    batch = generate_ee(pdg, 20, seed=5)
    # the input carries a dummy me2, so that only Sherpa's own values can match ours
    dummy = EventBatch(
        batch.momenta, batch.pdg, batch.weight, batch.process, me2=np.ones(20), meta=batch.meta
    )
    src = write_dump(tmp_path / "in.npz", dummy)
    res = sherpa_dump(
        tmp_path / "out", DumpSettings(points=len(batch)), input_dump=src, sherpa_python=sherpa_python
    )
    files = [tmp_path / "out" / c.file for c in res.channels]
    assert len(files) == 1, res.channels
    sherpa = read_dump(files[0])
    assert sherpa.me2 is not None
    np.testing.assert_allclose(sherpa.momenta, batch.momenta, rtol=0, atol=1e-9)
    ours = matrix_element(sherpa.momenta, sherpa.pdg)
    np.testing.assert_allclose(ours, sherpa.me2, rtol=1e-8)
