"""generate_ee: fame-dump datasets from the built-in ME."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.me import EWParams, ee_jets_pdg, generate_ee, matrix_element
from fame_surrogate.phasespace import min_sij_over_s, rambo_weight
from lhe_tools.dump import read_dump, write_dump


def test_ee_jets_pdg() -> None:
    assert ee_jets_pdg(3) == [11, -11, 21, 1, -1]
    assert ee_jets_pdg(5, flavour=2) == [11, -11, 21, 21, 21, 2, -2]
    with pytest.raises(ValueError, match="n_jets"):
        ee_jets_pdg(6)


def test_generate_is_consistent_and_round_trips(tmp_path: Path) -> None:
    batch = generate_ee([11, -11, 1, -1, 21, 21], 500, y_cut=0.02, seed=4)
    # canonical (Sherpa) order, independent of the order asked for
    assert list(batch.pdg) == [11, -11, 21, 21, 1, -1]
    assert batch.process == "2_4__e-__e+__G__G__d__db"
    assert batch.me2 is not None and batch.ps_weight is not None
    np.testing.assert_allclose(batch.me2, matrix_element(batch.momenta, batch.pdg), rtol=1e-14)
    np.testing.assert_allclose(batch.ps_weight, rambo_weight(4, 1000.0), rtol=1e-15)
    np.testing.assert_allclose(batch.weight, batch.ps_weight * batch.me2, rtol=1e-15)
    assert np.all(min_sij_over_s(batch.momenta[:, 2:], 1000.0) > 0.02)
    total = batch.momenta[:, 2:].sum(axis=1)
    np.testing.assert_allclose(total, np.broadcast_to([1000.0, 0, 0, 0], total.shape), atol=1e-9)
    meta = batch.meta
    assert meta["generator"] == "fame built-in" and meta["format"] == "fame-dump/1"
    assert meta["me_ms_per_point"] > 0 and meta["ps_ms_per_point"] > 0
    assert 0.0 < meta["cut_efficiency"] < 1.0
    assert meta["cuts"]["y_cut"] == 0.02 and meta["sqrt_s"] == 1000.0
    path = write_dump(tmp_path / "g.npz", batch)
    back = read_dump(path)
    np.testing.assert_array_equal(back.me2, batch.me2)
    assert back.meta["alpha_s"] == 0.118


def test_generate_reproducible_and_seeded() -> None:
    a = generate_ee(ee_jets_pdg(3), 50, seed=1)
    b = generate_ee(ee_jets_pdg(3), 50, seed=1)
    c = generate_ee(ee_jets_pdg(3), 50, seed=2)
    np.testing.assert_array_equal(a.momenta, b.momenta)
    assert not np.array_equal(a.momenta, c.momenta)


def test_cut_efficiency_matches_sherpa_dataset(sherpa_ee: Path) -> None:
    """The same RAMBO + cut as the Sherpa reference: cut efficiencies agree within their binomial errors."""
    import json

    meta = json.loads((sherpa_ee / "ee_5j_ycut0.01.meta.json").read_text())
    batch = generate_ee(ee_jets_pdg(5), 4000, seed=3, params=EWParams())
    eff, n_gen = batch.meta["cut_efficiency"], batch.meta["n_generated_rambo"]
    err = np.sqrt(eff * (1 - eff) / n_gen)
    assert abs(eff - meta["cut_efficiency"]) < 4 * err
