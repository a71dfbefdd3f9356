"""LHEH5 reading checked against pylhe's LHEH5 reader and a direct h5py read of the hpcgen file."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pylhe
import pytest

from lhe_tools import LHEFormatError, read_events, read_lheh5, read_lheh5_meta
from lhe_tools.batch import concatenate
from lhe_tools.process import canonical_channel

NAME = "pylhe-testfile-hpcgen.hdf5"


@pytest.fixture
def h5path(testdata: Path) -> Path:
    return testdata / NAME


def test_events_equal_pylhe(h5path: Path) -> None:
    events = list(pylhe.LHEFile.fromfile(h5path).events)
    batches = list(read_lheh5(h5path))
    assert sum(len(b) for b in batches) == len(events) == 100
    by_name: dict[str, list[pylhe.LHEEvent]] = {}
    for e in events:
        parts = [p for p in e.particles if p.status == -1] + [p for p in e.particles if p.status == 1]
        n_in = sum(p.status == -1 for p in parts)
        name, order = canonical_channel([p.id for p in parts], n_in)
        by_name.setdefault(name, []).append(e)
        e.particles[:] = [parts[i] for i in order]
    assert sorted(b.process for b in batches) == sorted(by_name)
    for b in batches:
        evs = by_name[b.process]
        np.testing.assert_array_equal(b.weight, [e.eventinfo.weight for e in evs])
        np.testing.assert_array_equal(
            b.momenta, [[[p.e, p.px, p.py, p.pz] for p in e.particles] for e in evs]
        )
        assert b.pdg.tolist() == [p.id for p in evs[0].particles]
        np.testing.assert_array_equal(b.trials, [float(e.attributes["trials"]) for e in evs])
        np.testing.assert_array_equal(b.muf2, [e.scales["fscale"] ** 2 for e in evs])
        np.testing.assert_array_equal(b.mur2, [e.scales["rscale"] ** 2 for e in evs])
        np.testing.assert_array_equal(b.alpha_s, [e.eventinfo.aqcd for e in evs])


def test_direct_h5py_columns_and_meta(h5path: Path) -> None:
    with h5py.File(h5path, "r") as f:
        ev = f["events"][()]
        names = [n.decode() if isinstance(n, bytes) else n for n in f["events"].attrs["properties"]]
        init = f["init"][()]
        xsec = f["procInfo"][()][0, 3]
    batches = list(read_events(h5path))
    total = sum(float(b.weight.sum()) for b in batches)
    assert total == pytest.approx(ev[:, names.index("NOMINAL")].sum(), rel=1e-14)
    meta = read_lheh5_meta(h5path)
    assert meta["beams"] == [int(init[0]), int(init[1])] == [2212, 2212]
    assert meta["sqrt_s"] == pytest.approx(14000.0)
    assert meta["pdf_set"] == [13000, 13000]
    assert meta["processes"][0]["xsec"] == xsec
    assert meta["lheh5_version"] == "2.0.0"
    # q qbar -> e- e+: momentum conservation in every event
    for b in batches:
        assert b.process.endswith("__e-__e+")
        np.testing.assert_allclose(b.momenta[:, :2].sum(1), b.momenta[:, 2:].sum(1), atol=1e-8, rtol=1e-12)


@pytest.mark.parametrize("chunk_size", [1, 30])
def test_chunked(h5path: Path, chunk_size: int) -> None:
    whole = {b.process: b for b in read_lheh5(h5path)}
    parts: dict[str, list] = {}
    for b in read_lheh5(h5path, chunk_size=chunk_size):
        parts.setdefault(b.process, []).append(b)
    for name, b in whole.items():
        np.testing.assert_array_equal(concatenate(parts[name]).momenta, b.momenta)


def _copy_with(src: Path, dst: Path, drop: str | None = None, start_shift: int = 0) -> Path:
    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        for key in fin:
            if key == drop:
                continue
            data = fin[key][()]
            if key == "events" and start_shift:
                data = data.copy()
                data[-1, 2] += start_shift
            ds = fout.create_dataset(key, data=data)
            for k, v in fin[key].attrs.items():
                ds.attrs[k] = v
    return dst


def test_missing_dataset_is_an_error(h5path: Path, tmp_path: Path) -> None:
    bad = _copy_with(h5path, tmp_path / "nop.hdf5", drop="particles")
    with pytest.raises(
        LHEFormatError, match=r"nop\.hdf5: not an LHEH5 file: missing dataset\(s\) \['particles'\]"
    ):
        list(read_events(bad))


def test_particle_range_outside_dataset_is_an_error(h5path: Path, tmp_path: Path) -> None:
    bad = _copy_with(h5path, tmp_path / "range.hdf5", start_shift=10)
    with pytest.raises(
        LHEFormatError, match=r"event 99: particles \[406, 410\) outside the 'particles' dataset"
    ):
        list(read_events(bad))
