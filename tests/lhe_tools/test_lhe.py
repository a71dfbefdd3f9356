"""LHE reading checked event by event against an independent parse with pylhe 2.1, on every real test file."""

from __future__ import annotations

import gzip
import math
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pylhe
import pytest

from lhe_tools import LHEReader, read_lhe_header
from lhe_tools.batch import EventBatch, concatenate
from lhe_tools.process import canonical_channel

LHE_FILES = [
    "pylhe-testfile-sherpa-3.0.1-eejjj.lhe",
    "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz",
    "pylhe-testfile-madgraph-2.0.0-wbj.lhe",
    "pylhe-testlhef3.lhe",
    "pylhe-testfile-powheg-box-v2-Zj.lhe",
    "pylhe-testfile-pr29.lhe",
]
KEPT_STATUS = (-1, 1, 0)


@cache
def _pylhe(path: Path) -> tuple[Any, list[Any]]:
    lhe = pylhe.LHEFile.fromfile(path)
    return lhe, list(lhe.events)


def _channel_key(event: Any) -> tuple[str, list[Any]]:
    """Independent channel of a pylhe event: kept particles, incoming first, in Sherpa's canonical order."""
    inc = [p for p in event.particles if p.status == -1]
    out = [p for p in event.particles if p.status in (1, 0)]
    parts = inc + out
    try:
        name, order = canonical_channel([p.id for p in parts], len(inc))
        return name, [parts[i] for i in order]
    except ValueError:  # hadrons / no incoming particles: PDG-number name, each part sorted by id
        inc_s = sorted(inc, key=lambda p: p.id)
        out_s = sorted(out, key=lambda p: p.id)
        name = f"{len(inc)}_{len(out)}__" + "__".join(str(p.id) for p in inc_s + out_s)
        return name, inc_s + out_s


def _by_channel(batches: list[EventBatch]) -> dict[str, EventBatch]:
    grouped: dict[str, list[EventBatch]] = {}
    for b in batches:
        grouped.setdefault(b.process, []).append(b)
    return {k: concatenate(v) for k, v in grouped.items()}


@pytest.fixture(scope="session")
def z_head(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 2000 events of the MadGraph Z+jets file (gzip, as the original), to keep the suite fast."""
    with gzip.open(testdata / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz") as fh:
        text = fh.read()
    cut = 0
    for _ in range(2000):
        cut = text.index(b"</event>", cut) + len(b"</event>\n")
    out = tmp_path_factory.mktemp("z") / "z-head.lhe.gz"
    with gzip.open(out, "wb", compresslevel=1) as fh:
        fh.write(text[:cut] + b"</LesHouchesEvents>\n")
    return out


@pytest.fixture(params=LHE_FILES)
def lhe_path(request: pytest.FixtureRequest, testdata: Path, z_head: Path) -> Path:
    if "Z-mlm" in request.param:
        return z_head
    return testdata / request.param


def test_full_z_file_counts_and_weights(testdata: Path) -> None:
    path = testdata / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"
    events = list(pylhe.LHEFile.fromfile(path, with_attributes=False).events)
    batches = list(LHEReader(path, chunk_size=3000))
    assert sum(len(b) for b in batches) == len(events) == pylhe.LHEFile.count_events(path) == 10_000
    ours = np.sort(np.concatenate([b.weight for b in batches]))
    np.testing.assert_array_equal(ours, np.sort([e.eventinfo.weight for e in events]))
    n_particles = sum(sum(p.status in KEPT_STATUS for p in e.particles) for e in events)
    assert sum(b.momenta.shape[0] * b.momenta.shape[1] for b in batches) == n_particles


def test_flat_events_equal_pylhe(lhe_path: Path) -> None:
    """File-order flat columns: counts, NUP, weights, ids, statuses, momenta, extra weights, attributes."""
    _, events = _pylhe(lhe_path)
    flats = list(LHEReader(lhe_path).iter_flat())
    n = sum(len(f) for _, f in flats)
    assert n == len(events) > 0
    nup = np.concatenate([f.nup for _, f in flats])
    weight = np.concatenate([f.weight for _, f in flats])
    pdg = np.concatenate([f.pdg for _, f in flats])
    status = np.concatenate([f.status for _, f in flats])
    mom = np.concatenate([f.momenta for _, f in flats])
    assert nup.tolist() == [e.eventinfo.nparticles for e in events]
    np.testing.assert_array_equal(weight, [e.eventinfo.weight for e in events])
    assert math.isclose(weight.sum(), math.fsum(e.eventinfo.weight for e in events), rel_tol=1e-12)
    parts = [p for e in events for p in e.particles]
    assert pdg.tolist() == [p.id for p in parts]
    assert status.tolist() == [p.status for p in parts]
    np.testing.assert_array_equal(mom, [[p.e, p.px, p.py, p.pz] for p in parts])
    # LHEF3 weights, event by event (NaN where an event does not carry an id)
    ids = sorted({k for e in events for k in e.weights})
    extra = {k: np.concatenate([f.extra_weights[k] for _, f in flats]) for k in ids}
    for k in ids:
        want = [e.weights.get(k, np.nan) for e in events]
        np.testing.assert_array_equal(extra[k], want)
    assert all(set(f.extra_weights) <= set(ids) for _, f in flats)


def test_batches_equal_pylhe_per_channel(lhe_path: Path) -> None:
    """Per-channel batches: canonical order, momenta and columns of every event, in file order."""
    _, events = _pylhe(lhe_path)
    batches = _by_channel(list(LHEReader(lhe_path)))
    expected: dict[str, list[tuple[Any, list[Any]]]] = {}
    for e in events:
        name, parts = _channel_key(e)
        expected.setdefault(name, []).append((e, parts))
    assert sorted(batches) == sorted(expected)
    for name, items in expected.items():
        b = batches[name]
        assert len(b) == len(items)
        assert b.pdg.tolist() == [p.id for p in items[0][1]]
        assert b.n_in == sum(p.status == -1 for p in items[0][1])
        np.testing.assert_array_equal(b.momenta, [[[p.e, p.px, p.py, p.pz] for p in ps] for _, ps in items])
        np.testing.assert_array_equal(b.weight, [e.eventinfo.weight for e, _ in items])
        aqcd = np.array([e.eventinfo.aqcd for e, _ in items])
        if np.any(aqcd > 0):
            assert b.alpha_s is not None
            np.testing.assert_array_equal(b.alpha_s, np.where(aqcd > 0, aqcd, np.nan))
        for attr in ("trials", "muf2", "mur2"):
            vals = [e.attributes.get(attr) for e, _ in items]
            if attr in ("muf2", "mur2"):  # LHEF 3 <scales muf mur> enter squared where no attribute is given
                key = attr[:3]
                vals = [
                    v if v is not None else (e.scales[key] ** 2 if key in e.scales else None)
                    for v, (e, _) in zip(vals, items, strict=True)
                ]
            if all(v is None for v in vals):
                assert getattr(b, attr) is None
            else:
                want = [np.nan if v is None else float(v) for v in vals]
                np.testing.assert_array_equal(getattr(b, attr), want)
        for k, arr in b.extra_weights.items():
            np.testing.assert_array_equal(arr, [e.weights.get(k, np.nan) for e, _ in items])
        assert b.meta["source"] == str(lhe_path)


def test_init_and_weight_ids_equal_pylhe(lhe_path: Path) -> None:
    lhe, _ = _pylhe(lhe_path)
    h = read_lhe_header(lhe_path)
    info = lhe.init.initInfo
    assert h.init.beams == (info.beamA, info.beamB)
    assert h.init.energies == (info.energyA, info.energyB)
    assert h.init.pdf_group == (info.PDFgroupA, info.PDFgroupB)
    assert h.init.pdf_set == (info.PDFsetA, info.PDFsetB)
    assert h.init.idwtup == info.weightingStrategy
    assert h.init.nprup == info.numProcesses
    assert [(p.xsec, p.xerr, p.xmax, p.lprup) for p in h.init.processes] == [
        (p.xSection, p.error, p.unitWeight, p.procId) for p in lhe.init.procInfo
    ]
    want_ids = lhe.header.initrwgt.list_weights_ids() if lhe.header is not None else []
    assert h.weight_ids == want_ids
    assert [g["name"] for g in h.generators] == [g.name for g in lhe.init.generators]


def test_sherpa_metadata(testdata: Path) -> None:
    path = testdata / "pylhe-testfile-sherpa-3.0.1-eejjj.lhe"
    reader = LHEReader(path)
    meta = reader.meta
    assert meta["generator"] == "Sherpa 3.0.1"
    assert meta["beams"] == [11, -11] and meta["sqrt_s"] == 44.0
    assert meta["idwtup"] == 3
    assert "BEAM_ENERGIES: 22.0" in meta["run_card"]
    batches = list(reader)
    # Sherpa's sigma = sum XWGTUP / sum trials (reference: 206.6 pb for this file)
    sigma = sum(b.weight.sum() for b in batches) / sum(
        float(b.trials.sum()) for b in batches if b.trials is not None
    )
    assert sigma == pytest.approx(206.6, abs=0.05)
    names = {b.process for b in batches}
    assert "2_3__e-__e+__G__d__db" in names and all(b.meta["canonical"] for b in batches)


def test_resonances_are_dropped_but_channel_is_kept(z_head: Path) -> None:
    """MG Z+jets: the status-2 Z is not in the momenta; the channel is the lepton + parton content."""
    batches = list(LHEReader(z_head))
    assert sum(len(b) for b in batches) == 2000
    assert all(23 not in b.pdg.tolist() for b in batches)
    assert all(b.meta["dropped_statuses"] == [2] for b in batches)
    assert any(b.process == "2_2__u__ub__e-__e+" for b in batches)
    for b in batches:  # momentum conservation holds without the resonance
        total = b.momenta[:, : b.n_in].sum(axis=1) - b.momenta[:, b.n_in :].sum(axis=1)
        np.testing.assert_allclose(total, 0.0, atol=1e-6 * float(b.momenta[..., 0].max()))


def test_fast_and_line_parsers_agree(lhe_path: Path) -> None:
    fast = list(LHEReader(lhe_path).iter_flat())
    slow = list(LHEReader(lhe_path, fast=False).iter_flat())
    assert [i for i, _ in fast] == [i for i, _ in slow]
    for (_, a), (_, b) in zip(fast, slow, strict=True):
        for name in ("nup", "idprup", "weight", "pdg", "status", "momenta"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert a.columns.keys() == b.columns.keys() and a.extra_weights.keys() == b.extra_weights.keys()
        for k in a.columns:
            np.testing.assert_array_equal(a.columns[k], b.columns[k])
        for k in a.extra_weights:
            np.testing.assert_array_equal(a.extra_weights[k], b.extra_weights[k])


@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_chunks_and_small_blocks_give_the_same_events(testdata: Path, chunk_size: int) -> None:
    path = testdata / "pylhe-testfile-powheg-box-v2-Zj.lhe"
    whole = _by_channel(list(LHEReader(path)))
    chunks = list(LHEReader(path, chunk_size=chunk_size, block_size=2048))
    assert all(
        sum(len(b) for b in chunks if b.meta["first_event"] == f) <= chunk_size
        for f in {b.meta["first_event"] for b in chunks}
    )
    joined = _by_channel(chunks)
    assert joined.keys() == whole.keys()
    for k, b in whole.items():
        np.testing.assert_array_equal(joined[k].momenta, b.momenta)
        np.testing.assert_array_equal(joined[k].weight, b.weight)


def test_compression_is_detected_from_bytes(tmp_path: Path, testdata: Path) -> None:
    src = testdata / "pylhe-testfile-sherpa-3.0.1-eejjj.lhe"
    misnamed_gz = tmp_path / "events.lhe"  # gzip content, plain name
    with src.open("rb") as fin, gzip.open(misnamed_gz, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    misnamed_plain = tmp_path / "events.lhe.gz"  # plain content, gzip name
    shutil.copy(src, misnamed_plain)
    ref = _by_channel(list(LHEReader(src)))
    for path in (misnamed_gz, misnamed_plain):
        got = _by_channel(list(LHEReader(path)))
        assert got.keys() == ref.keys()
        for k in ref:
            np.testing.assert_array_equal(got[k].momenta, ref[k].momenta)


def test_awkward_view(testdata: Path) -> None:
    b = next(iter(LHEReader(testdata / "pylhe-testfile-sherpa-3.0.1-eejjj.lhe")))
    arr = b.to_awkward()
    mass = np.asarray(arr.particles.mass)
    energy = np.asarray(arr.particles.E)
    assert np.all((mass / energy) ** 2 < 1e-9)  # massless partons, up to rounding of the stored digits
    np.testing.assert_array_equal(np.asarray(arr.particles.pdg), np.broadcast_to(b.pdg, mass.shape))


@pytest.mark.parametrize("block_size", [37, 333])
def test_tiny_blocks_cut_anywhere(testdata: Path, block_size: int) -> None:
    """Blocks that end inside tags, numbers or '</event>' give exactly the same events and LHEF 3 fields."""
    path = testdata / "pylhe-testlhef3.lhe"
    ref = [f for _, f in LHEReader(path).iter_flat()]
    got = [f for _, f in LHEReader(path, block_size=block_size).iter_flat()]
    for name in ("momenta", "weight", "pdg", "status"):
        np.testing.assert_array_equal(
            np.concatenate([getattr(f, name) for f in got]), np.concatenate([getattr(f, name) for f in ref])
        )
    for field in ("columns", "extra_weights"):
        keys = set().union(*(getattr(f, field) for f in ref))
        for k in keys:
            np.testing.assert_array_equal(
                np.concatenate([getattr(f, field).get(k, np.full(len(f), np.nan)) for f in got]),
                np.concatenate([getattr(f, field).get(k, np.full(len(f), np.nan)) for f in ref]),
            )
