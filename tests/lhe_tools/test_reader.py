"""read_events / read_all: dispatch on the file's bytes, dumps, folders, and refusals."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pylhe
import pytest

from lhe_tools import EventFileError, read_all, read_dump, read_events, write_dump
from lhe_tools.reader import expand_paths

SHERPA = "pylhe-testfile-sherpa-3.0.1-eejjj.lhe"


def test_dump_round_trip_and_chunks(testdata: Path, tmp_path: Path) -> None:
    batch = max(read_events(testdata / SHERPA), key=len)
    path = write_dump(tmp_path / "x.bin", batch)  # any name: the zip magic decides
    (back,) = list(read_events(path))
    assert back.process == batch.process and back.pdg.tolist() == batch.pdg.tolist()
    np.testing.assert_array_equal(back.momenta, batch.momenta)
    np.testing.assert_array_equal(back.trials, batch.trials)
    parts = list(read_events(path, chunk_size=10))
    assert [len(p) for p in parts] == [10] * (len(batch) // 10) + (
        [len(batch) % 10] if len(batch) % 10 else []
    )
    np.testing.assert_array_equal(np.concatenate([p.momenta for p in parts]), batch.momenta)
    assert read_dump(path).meta["generator"] == "Sherpa 3.0.1"


@pytest.mark.parametrize(
    "name",
    [
        "pylhe-testfile-hpcgen.hdf5",
        "pylhe-testfile-madgraph-2.0.0-wbj.lhe",
        "pylhe-testfile-pr29.lhe",
        SHERPA,
    ],
)
def test_dispatch_counts_equal_pylhe(testdata: Path, name: str) -> None:
    path = testdata / name
    events = list(pylhe.LHEFile.fromfile(path, with_attributes=False).events)
    batches = list(read_events(path))
    assert sum(len(b) for b in batches) == len(events)
    assert sum(float(b.weight.sum()) for b in batches) == pytest.approx(
        sum(e.eventinfo.weight for e in events), rel=1e-13
    )
    assert {b.meta["source_format"] for b in batches} == {"lheh5" if name.endswith(".hdf5") else "lhe"}


def test_read_all_joins_channels_across_files_and_folders(testdata: Path, tmp_path: Path) -> None:
    for k in range(2):
        shutil.copy(testdata / SHERPA, tmp_path / f"copy{k}.lhe")
    (tmp_path / "notes.txt").write_text("not an event file")
    single = {b.process: b for b in read_all(testdata / SHERPA)}
    double = {b.process: b for b in read_all(tmp_path)}
    assert single.keys() == double.keys()
    for name, b in single.items():
        d = double[name]
        assert len(d) == 2 * len(b)
        np.testing.assert_array_equal(d.momenta, np.concatenate([b.momenta, b.momenta]))
        assert d.meta["sources"] == [str(tmp_path / "copy0.lhe"), str(tmp_path / "copy1.lhe")]
    assert [p.name for p in expand_paths(tmp_path)] == ["copy0.lhe", "copy1.lhe"]


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(EventFileError, match=r"no such file or folder"):
        read_all([tmp_path / "nope.lhe"])
    with pytest.raises(EventFileError, match=r"folder holds no event files"):
        read_all(tmp_path)
    with pytest.raises(EventFileError, match=r"is a folder"):
        list(read_events(tmp_path))
    with pytest.raises(ValueError, match=r"chunk_size must be a positive number"):
        list(read_events(tmp_path / "x.lhe", chunk_size=0))


def test_root_files_go_to_the_ntuple_reader(testdata: Path, tmp_path: Path) -> None:
    if importlib.util.find_spec("lhe_tools.ntuple") is None:
        fake = tmp_path / "t.root"
        fake.write_bytes(b"root" + bytes(200))
        with pytest.raises(EventFileError, match=r"t\.root: this is a ROOT file, but Sherpa ROOT ntuple"):
            list(read_events(fake))
        return
    from lhe_tools.ntuple import write_ntuple

    batches = list(read_events(testdata / SHERPA))
    path = write_ntuple(tmp_path / "sherpa.root", batches, double=True)
    renamed = path.rename(tmp_path / "events.data")  # the ROOT magic, not the name, selects the reader
    back = {b.process: b for b in read_events(renamed)}
    assert sum(len(b) for b in back.values()) == sum(len(b) for b in batches) == 100
    for b in batches:
        np.testing.assert_array_equal(back[b.process].momenta[:, 2:], b.momenta[:, 2:])
        np.testing.assert_array_equal(back[b.process].weight, b.weight)
