"""tests/data stays what its README says: a few MB of real subsets whose meta is their source's, with the
licence of the third-party files next to them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lhe_tools.process import process_name

DATA = Path(__file__).resolve().parent / "data"


def test_size_budget() -> None:
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < 8e6, f"tests/data holds {total / 1e6:.1f} MB; keep it a few MB (benchmarks use ../shared)"


def test_subsets_keep_their_meta_and_are_consistent() -> None:
    files = sorted(DATA.glob("sherpa-*/*.npz"))
    assert len(files) == 15
    for path in files:
        twin = json.loads(path.with_name(path.name.replace(".npz", ".meta.json")).read_text())
        with np.load(path, allow_pickle=False) as d:
            assert json.loads(str(d["meta"])) == twin, path.name
            n = len(d["momenta"])
            assert 300 <= n <= twin["n_points"], path.name
            for key in d.files:
                if key not in ("pdg", "meta"):
                    assert d[key].shape[0] == n, (path.name, key)
            assert process_name(d["pdg"], 2) == twin["process"], path.name


def test_third_party_files_carry_their_licence() -> None:
    folder = DATA / "testdata"
    licence = (folder / "LICENSE-scikit-hep-testdata").read_text()
    assert "BSD 3-Clause License" in licence and "Scikit-HEP" in licence
    readme = (DATA / "README.md").read_text()
    for p in folder.iterdir():
        assert p.name in readme, f"{p.name} is not described in tests/data/README.md"
