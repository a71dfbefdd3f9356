"""``lhe_tools.ingest``: event files into one dump per channel, checked against pylhe's own reading."""

from __future__ import annotations

import collections
import math
from pathlib import Path

import numpy as np
import pylhe
import pytest

from lhe_tools import read_dump
from lhe_tools.ingest import dump_file_name, ingest_files

SHERPA_LHE = "pylhe-testfile-sherpa-3.0.1-eejjj.lhe"

#: a channel as pylhe sees it: (incoming ids in order, outgoing ids sorted)
Key = tuple[tuple[int, ...], tuple[int, ...]]


def _pylhe_events(path: Path) -> list[tuple[Key, float]]:
    """(channel, weight) of every event, in file order, read by pylhe (not by lhe_tools)."""
    out = []
    for event in pylhe.LHEFile.fromfile(str(path), with_attributes=False).events:
        inc = tuple(int(p.id) for p in event.particles if p.status == -1)
        final = tuple(sorted(int(p.id) for p in event.particles if p.status == 1))
        out.append(((inc, final), float(event.eventinfo.weight)))
    return out


def _key(pdg: np.ndarray, n_in: int) -> Key:
    ids = [int(x) for x in pdg]
    return tuple(ids[:n_in]), tuple(sorted(ids[n_in:]))


def test_one_dump_per_channel_with_the_events_pylhe_reads(testdata: Path, tmp_path: Path) -> None:
    path = testdata / SHERPA_LHE
    truth = _pylhe_events(path)
    counts = collections.Counter(key for key, _ in truth)
    assert len(truth) == 100 and len(counts) == 9  # e+e- -> q qbar (5 flavours) and q qbar g (4)

    result = ingest_files([path], tmp_path / "dumps")

    summary = result.files[str(path)]
    assert summary.events == result.events == 100
    assert summary.sum_weights == pytest.approx(math.fsum(w for _, w in truth), rel=1e-13)
    assert len(result.channels) == len(summary.channels) == 9
    assert sorted(p.name for p in (tmp_path / "dumps").iterdir()) == sorted(
        Path(c.path).name for c in result.channels
    )
    info = pylhe.LHEFile.fromfile(str(path)).init.initInfo
    seen = set()
    for written in result.channels:
        dump = read_dump(written.path)
        key = _key(dump.pdg, dump.n_in)
        seen.add(key)
        # the channel's events are pylhe's events of that particle content, in file order
        weights = [w for k, w in truth if k == key]
        assert written.events == len(dump) == summary.channels[written.process] == counts[key]
        np.testing.assert_allclose(dump.weight, weights, rtol=1e-15)
        assert written.sum_weights == pytest.approx(math.fsum(weights), rel=1e-13)
        assert dump.process == written.process and Path(written.path).stem == written.process
        assert dump.meta["sources"] == [str(path)] and dump.meta["ingested_by"] == "fame ingest"
        assert dump.meta["sqrt_s"] == pytest.approx(info.energyA + info.energyB)  # head-on lepton beams
    assert seen == set(counts)


def test_chunked_reading_and_a_second_copy_join_per_channel(testdata: Path, tmp_path: Path) -> None:
    path = testdata / SHERPA_LHE
    copy = tmp_path / "copy.lhe"
    copy.write_bytes(path.read_bytes())
    whole = ingest_files([path], tmp_path / "whole", chunk_size=None)
    # the file and a copy, parsed 7 events at a time: every channel has its events twice, in order
    twice = ingest_files([path, copy], tmp_path / "twice", chunk_size=7)
    assert twice.events == 2 * whole.events == sum(c.events for c in twice.channels)
    assert twice.files[str(copy)] == twice.files[str(path)] == whole.files[str(path)]
    by_name = {c.process: c for c in twice.channels}
    assert set(by_name) == {c.process for c in whole.channels}
    for once in whole.channels:
        one, two = read_dump(once.path), read_dump(by_name[once.process].path)
        assert by_name[once.process].events == 2 * once.events == len(two)
        np.testing.assert_array_equal(two.momenta, np.concatenate([one.momenta, one.momenta]))
        np.testing.assert_array_equal(two.weight, np.concatenate([one.weight, one.weight]))
        assert two.meta["sqrt_s"] == one.meta["sqrt_s"]  # one energy: still claimed
        assert two.meta["sources"] == sorted([str(path), str(copy)])


def test_a_file_given_twice_is_refused(testdata: Path, tmp_path: Path) -> None:
    path = testdata / SHERPA_LHE
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / SHERPA_LHE).symlink_to(path)
    for paths in ([path, path], [folder, path]):  # its events would count twice
        with pytest.raises(ValueError, match="given more than once"):
            ingest_files(paths, tmp_path / "out")
        assert not (tmp_path / "out").exists()


def test_its_own_dumps_round_trip(testdata: Path, tmp_path: Path) -> None:
    first = ingest_files([testdata / SHERPA_LHE], tmp_path / "a")
    second = ingest_files([tmp_path / "a"], tmp_path / "b")  # a folder of fame dumps
    assert {c.process: c.events for c in second.channels} == {c.process: c.events for c in first.channels}
    for c in first.channels:
        a, b = read_dump(c.path), read_dump(tmp_path / "b" / Path(c.path).name)
        assert a.pdg.tolist() == b.pdg.tolist() and a.n_in == b.n_in
        for column in ("momenta", "weight", "me2", "trials", "muf2"):
            x, y = getattr(a, column), getattr(b, column)
            assert (x is None) == (y is None), column
            if x is not None:
                np.testing.assert_array_equal(x, y)


def test_existing_dumps_are_kept_unless_forced(testdata: Path, tmp_path: Path) -> None:
    path, out = testdata / SHERPA_LHE, tmp_path / "dumps"
    result = ingest_files([path], out)
    before = {c.path: Path(c.path).read_bytes() for c in result.channels}
    copy = tmp_path / "copy.lhe"
    copy.write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match="nothing was written"):
        ingest_files([path, copy], out)
    assert {p: Path(p).read_bytes() for p in before} == before
    forced = ingest_files([path, copy], out, force=True)
    assert {c.path for c in forced.channels} == set(before)
    assert all(read_dump(c.path).weight.size == c.events for c in forced.channels)
    assert forced.events == 2 * result.events == sum(c.events for c in forced.channels)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(ValueError, match="is not a folder"):
        ingest_files([path], not_a_folder)


def test_dump_file_name_stays_in_the_folder(tmp_path: Path) -> None:
    name = "2_3__e-__e+__G__d__db"
    assert dump_file_name(name, tmp_path) == tmp_path.resolve() / f"{name}.npz"
    for bad in ("../2_3__e-__e+__d__db", "2_2__e-/..__x", "2_2", "x__e-", ""):
        with pytest.raises(ValueError, match="cannot be used as a file name"):
            dump_file_name(bad, tmp_path)
