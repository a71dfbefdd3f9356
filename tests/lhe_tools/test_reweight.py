"""Byte-preserving LHE weight insertion (issue 8) on every real LHE file of tests/data/testdata."""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import tracemalloc
from collections.abc import Callable
from itertools import islice
from pathlib import Path

import numpy as np
import pylhe
import pytest

from lhe_tools import LHEFormatError, read_lhe
from lhe_tools._source import open_bytes
from lhe_tools.reweight import LHEChunk, NewWeight, reweight_lhe

WEIGHTS = [NewWeight("fame_twice", "2 XWGTUP"), NewWeight("fame_esum", "sum of final-state energies")]
_WGT = rb"<wgt id='fame_[^']*'> [-+0-9.e]+ </wgt>\r?\n"
_BLOCK = (
    rb"<weightgroup name='fame_reweighting' weight_name_strategy='includeIdInWeightName'>\r?\n"
    rb"(?:<weight id='fame_[^']*'>[^<]*</weight>\r?\n)+</weightgroup>\r?\n"
)


def lhe_files() -> list[Path]:
    """Every LHE text file (plain or gzip) in tests/data/testdata (six; fewer is a broken checkout)."""
    folder = Path(__file__).resolve().parents[1] / "data" / "testdata"
    files = sorted(p for p in folder.glob("*") if p.name.endswith((".lhe", ".lhe.gz")))
    assert len(files) == 6, f"expected the six LHE files of {folder}, found {[p.name for p in files]}"
    return files


def strip_added(data: bytes) -> tuple[bytes, int]:
    """Remove exactly the lines the writer adds; returns the rest and the number of <wgt> lines removed."""
    data, _ = re.subn(rb"<rwgt>\r?\n((?:" + _WGT + rb")+)</rwgt>\r?\n", rb"\1", data)
    data, n_wgt = re.subn(_WGT, b"", data)
    for wrap in (rb"<header>\r?\n<initrwgt>\r?\n" + _BLOCK + rb"</initrwgt>\r?\n</header>\r?\n",
                 rb"<initrwgt>\r?\n" + _BLOCK + rb"</initrwgt>\r?\n", _BLOCK):
        data, n = re.subn(wrap, b"", data)
        if n:
            assert n == 1
            break
    else:
        raise AssertionError("no added weightgroup found")
    return data, n_wgt


def twice_and_esum(chunk: LHEChunk) -> tuple[np.ndarray, np.ndarray]:
    final = chunk.status == 1
    esum = np.zeros(len(chunk))
    np.add.at(esum, np.repeat(np.arange(len(chunk)), np.diff(chunk.offsets))[final], chunk.momenta[final, 0])
    return np.stack([2.0 * chunk.xwgtup, esum], axis=1), np.ones(len(chunk), dtype=bool)


@pytest.mark.parametrize("src", lhe_files(), ids=lambda p: p.name)
def test_bytes_preserved_and_weights_read_back(src: Path, tmp_path: Path) -> None:
    out = tmp_path / ("out.lhe.gz" if src.name.endswith(".gz") else "out.lhe")
    summary = reweight_lhe(src, out, WEIGHTS, twice_and_esum, chunk_size=97)
    original = open_bytes(src).read()
    written = open_bytes(out).read()
    assert (out.read_bytes()[:2] == b"\x1f\x8b") == src.name.endswith(".gz")
    stripped, n_wgt = strip_added(written)
    assert stripped == original
    assert n_wgt == 2 * summary.events

    # independent truth: pylhe's parse of the input; the output's new weights as pylhe reads them
    # (the first 1000 events: pylhe is slow; the byte comparison above covers the whole file)
    n = min(summary.events, 1000)
    expect = [(e.eventinfo.weight, sum(p.e for p in e.particles if p.status == 1))
              for e in islice(pylhe.LHEFile.fromfile(src).events, n)]
    lhe = pylhe.LHEFile.fromfile(out)
    assert lhe.header is not None and lhe.header.initrwgt is not None
    assert {"fame_twice", "fame_esum"} <= set(lhe.header.initrwgt.list_weights_ids())
    got = [(e.weights["fame_twice"], e.weights["fame_esum"]) for e in islice(lhe.events, n)]
    assert len(got) == len(expect) == n and summary.events == summary.reweighted > 0
    if n == summary.events:
        assert summary.events == pylhe.LHEFile.count_events(src)
    np.testing.assert_allclose(np.array(got)[:, 0], 2.0 * np.array(expect)[:, 0], rtol=1e-15)
    np.testing.assert_allclose(np.array(got)[:, 1], np.array(expect)[:, 1], rtol=1e-13)


def test_existing_weights_survive_in_pylhe(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "pylhe-testfile-madgraph-2.0.0-wbj.lhe"
    out = tmp_path / "wbj.lhe"
    reweight_lhe(src, out, WEIGHTS, twice_and_esum)
    before = [e.weights for e in pylhe.LHEFile.fromfile(src).events]
    after = [e.weights for e in pylhe.LHEFile.fromfile(out).events]
    for b, a in zip(before, after, strict=True):
        assert {k: v for k, v in a.items() if not k.startswith("fame_")} == b
    # a second reweighting adds a second group; reusing an id is refused
    out2 = tmp_path / "wbj2.lhe"
    reweight_lhe(out, out2, [NewWeight("fame_more")], lambda c: (c.xwgtup[:, None], np.ones(len(c), bool)))
    ids = pylhe.LHEFile.fromfile(out2).header.initrwgt.list_weights_ids()
    assert ids[-3:] == ["fame_twice", "fame_esum", "fame_more"]
    with pytest.raises(ValueError, match="already declared"):
        reweight_lhe(out, tmp_path / "x.lhe", WEIGHTS, twice_and_esum)


def test_streaming_memory_is_constant(testdata: Path, tmp_path: Path) -> None:
    # the first 500 and 1500 events of the MadGraph Z file: three times the input, the same peak memory
    text = gzip.decompress((testdata / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz").read_bytes())
    peaks, sizes = [], []
    for n in (500, 1500):
        pos = text.index(b"<event>")
        for _ in range(n):
            pos = text.index(b"</event>", pos) + len(b"</event>\n")
        src = tmp_path / f"z{n}.lhe"
        src.write_bytes(text[:pos] + b"</LesHouchesEvents>\n")
        tracemalloc.start()
        try:
            summary = reweight_lhe(src, tmp_path / f"out{n}.lhe", WEIGHTS, twice_and_esum, chunk_size=64)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert summary.events == n
        sizes.append(src.stat().st_size)
    assert sizes[1] > 2.5 * sizes[0]
    assert peaks[1] < 1.2 * peaks[0], f"peak memory grew from {peaks[0]} to {peaks[1]} bytes"


def test_failure_leaves_no_output(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "pylhe-testfile-pr29.lhe"
    calls = []

    def failing(chunk: LHEChunk) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(chunk))
        if len(calls) == 2:
            raise RuntimeError("boom")
        return twice_and_esum(chunk)

    with pytest.raises(RuntimeError, match="boom"):
        reweight_lhe(src, tmp_path / "out.lhe", WEIGHTS, failing, chunk_size=100)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="expected"):
        reweight_lhe(src, tmp_path / "out.lhe", WEIGHTS, lambda c: (c.xwgtup[:, None], np.ones(len(c), bool)))
    with pytest.raises(ValueError, match="not finite"):
        reweight_lhe(src, tmp_path / "out.lhe", WEIGHTS,
                     lambda c: (np.full((len(c), 2), np.nan), np.ones(len(c), bool)))
    assert list(tmp_path.iterdir()) == []


def test_not_an_lhe_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.lhe"
    bad.write_text("hello\n<init>\n")
    with pytest.raises(LHEFormatError, match="LesHouchesEvents"):
        reweight_lhe(bad, tmp_path / "y.lhe", WEIGHTS, twice_and_esum)


def test_malformed_wgt_raises_the_readers_error(testdata: Path, tmp_path: Path) -> None:
    # a <wgt> value that is not a number: the reader's LHEFormatError (file, line, event), never a NaN weight
    text = (testdata / "pylhe-testfile-madgraph-2.0.0-wbj.lhe").read_bytes()
    first = text.index(b"<wgt", text.index(b"<event"))
    third_event = text.index(b"<event", text.index(b"<event", text.index(b"<event") + 1) + 1)
    pos = text.index(b"<wgt", third_event)
    value = text.index(b">", pos) + 1
    bad = text[:value] + b" 1.0x5 " + text[text.index(b"</wgt>", value):]
    assert first < third_event < pos
    src = tmp_path / "bad.lhe"
    src.write_bytes(bad)
    line = bad.count(b"\n", 0, pos) + 1
    with pytest.raises(LHEFormatError, match=rf"bad\.lhe, line {line}, event 2: non-numeric weight") as err:
        reweight_lhe(src, tmp_path / "out.lhe", WEIGHTS, twice_and_esum, chunk_size=2)
    assert (err.value.line, err.value.event) == (line, 2)
    with pytest.raises(LHEFormatError, match=rf"line {line}, event 2: non-numeric weight"):
        for _ in read_lhe(src):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.lhe"]


@pytest.mark.parametrize("compress", [bz2.compress, lzma.compress], ids=["bzip2", "xz"])
def test_compressed_inputs_the_reader_accepts(
    testdata: Path, tmp_path: Path, compress: Callable[[bytes], bytes]
) -> None:
    text = (testdata / "pylhe-testlhef3.lhe").read_bytes()
    src = tmp_path / "in.lhe.any"
    src.write_bytes(compress(text))
    plain = reweight_lhe(testdata / "pylhe-testlhef3.lhe", tmp_path / "plain.lhe", WEIGHTS, twice_and_esum)
    packed = reweight_lhe(src, tmp_path / "packed.lhe", WEIGHTS, twice_and_esum)
    assert packed.events == plain.events == sum(len(b) for b in read_lhe(src)) > 0
    assert (tmp_path / "packed.lhe").read_bytes() == (tmp_path / "plain.lhe").read_bytes()
    # a truncated compressed stream: the reader's error, no output
    src.write_bytes(compress(text)[: len(compress(text)) // 2])
    with pytest.raises(LHEFormatError, match="truncated or corrupt"):
        reweight_lhe(src, tmp_path / "cut.lhe", WEIGHTS, twice_and_esum)
    assert not (tmp_path / "cut.lhe").exists()
