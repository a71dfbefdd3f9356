"""Sherpa ROOT ntuples: round trip through our writer, and files built directly with uproot from the
documented branch list (Sherpa 3 EDRoot, Sherpa 2.2 style, BlackHat-style ``BHSntuples``)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from lhe_tools.batch import EventBatch, concatenate
from lhe_tools.ntuple import PART_CODES, NtupleError, read_ntuple, write_ntuple
from lhe_tools.process import canonical_channel
from lhe_tools.reader import read_events


def _momenta(rng: np.random.Generator, n_ev: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Massless outgoing momenta with zero total pT, boosted along z; incoming (+z, -z) from conservation."""
    direc = rng.normal(size=(n_ev, n_out - 1, 3))
    p3 = direc * rng.uniform(5.0, 200.0, size=(n_ev, n_out - 1, 1))
    last = -p3.sum(axis=1, keepdims=True)
    p3 = np.concatenate([p3, last], axis=1)
    out = np.concatenate([np.linalg.norm(p3, axis=-1, keepdims=True), p3], axis=-1)
    y = rng.uniform(-1.5, 1.5, size=(n_ev, 1))
    e, pz = out[..., 0].copy(), out[..., 3].copy()
    out[..., 0] = np.cosh(y) * e + np.sinh(y) * pz
    out[..., 3] = np.sinh(y) * e + np.cosh(y) * pz
    tot_e, tot_z = out[..., 0].sum(1), out[..., 3].sum(1)
    plus, minus = (tot_e + tot_z) / 2, (tot_e - tot_z) / 2
    zero = np.zeros(n_ev)
    inc = np.stack([np.stack([plus, zero, zero, plus], -1), np.stack([minus, zero, zero, -minus], -1)], 1)
    return inc, out


def _batch(rng: np.random.Generator, pdg: list[int], n_ev: int, extra: bool) -> EventBatch:
    name, order = canonical_channel(pdg, 2)
    inc, out = _momenta(rng, n_ev, len(pdg) - 2)
    flip = rng.random(n_ev) < 0.5  # the first canonical incoming particle comes from -z in half the events
    inc[flip] = inc[flip][:, ::-1]
    mom = np.concatenate([inc, out], axis=1)[:, order]
    extras = {"me_wgt": rng.uniform(1e-6, 1e-3, n_ev), "kfactor": np.full(n_ev, 1.25)}
    if extra:
        extras |= {
            "id": np.arange(100, 100 + n_ev, dtype=np.float64),
            "part": np.where(np.arange(n_ev) % 2 == 0, PART_CODES["V"], PART_CODES["B"]).astype(np.float64),
            "nuwgt": np.where(np.arange(n_ev) % 2 == 0, 2.0, 0.0),
            "usr_wgts[0]": np.where(np.arange(n_ev) % 2 == 0, rng.normal(size=n_ev), 0.0),
            "usr_wgts[1]": np.where(np.arange(n_ev) % 2 == 0, rng.normal(size=n_ev), 0.0),
        }
    return EventBatch(
        momenta=mom,
        pdg=np.asarray(pdg)[order],
        weight=rng.normal(size=n_ev) * 1e3,
        process=name,
        x1=rng.uniform(0, 1, n_ev),
        x2=rng.uniform(0, 1, n_ev),
        muf2=rng.uniform(100, 1e4, n_ev),
        mur2=rng.uniform(100, 1e4, n_ev),
        alpha_s=rng.uniform(0.1, 0.13, n_ev),
        trials=rng.integers(1, 50, n_ev).astype(np.float64),
        ps_weight=rng.uniform(0, 1, n_ev),
        extra_weights=extras,
    )


@pytest.fixture(scope="module")
def batches() -> list[EventBatch]:
    rng = np.random.default_rng(3)
    return [
        _batch(rng, [1, -1, 11, -11, 21], 40, extra=True),
        _batch(rng, [21, 1, 11, -11, 1], 30, extra=True),
        _batch(rng, [2, -2, 11, -11], 20, extra=True),
    ]


def _by_process(items: list[EventBatch]) -> dict[str, EventBatch]:
    out: dict[str, list[EventBatch]] = {}
    for b in items:
        out.setdefault(b.process, []).append(b)
    return {k: concatenate(v) for k, v in out.items()}


def _assert_same(a: EventBatch, b: EventBatch, *, exact_incoming: bool) -> None:
    assert a.process == b.process and a.pdg.tolist() == b.pdg.tolist()
    np.testing.assert_array_equal(a.momenta[:, 2:], b.momenta[:, 2:])
    if exact_incoming:
        np.testing.assert_array_equal(a.momenta[:, :2], b.momenta[:, :2])
    else:
        np.testing.assert_allclose(a.momenta[:, :2], b.momenta[:, :2], rtol=1e-13, atol=1e-10)
    for name in ("weight", "x1", "x2", "alpha_s", "trials", "ps_weight"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("muf2", "mur2"):  # stored as sqrt(mu^2), as Sherpa does
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-15, err_msg=name)
    for key in ("me_wgt", "kfactor", "id", "part", "nuwgt", "usr_wgts[0]", "usr_wgts[1]"):
        np.testing.assert_array_equal(a.extra_weights[key], b.extra_weights[key], err_msg=key)


def test_round_trip_double(tmp_path: Path, batches: list[EventBatch]) -> None:
    path = write_ntuple(tmp_path / "edroot.root", batches, double=True)
    tree = uproot.open(path)["t3"]
    assert tree.title == "Reconst ntuple" and tree["px"].interpretation.content.from_dtype == np.dtype(">f8")
    first = _by_process(list(read_ntuple(path)))
    assert set(first) == {b.process for b in batches}
    for b in batches:
        _assert_same(first[b.process], b, exact_incoming=False)
    # write what we read and read it again: bit-identical, incoming momenta included
    path2 = write_ntuple(tmp_path / "again.root", list(first.values()), double=True)
    again = _by_process(list(read_ntuple(path2)))
    for name, b in first.items():
        _assert_same(again[name], b, exact_incoming=True)


def test_round_trip_float_and_chunks(tmp_path: Path, batches: list[EventBatch]) -> None:
    path = write_ntuple(tmp_path / "root.root", batches)
    tree = uproot.open(path)["t3"]
    assert tree["E"].interpretation.content.from_dtype == np.dtype(">f4")
    titles = {b.name: b.title for b in tree.branches}
    assert titles["px"] == "px[nparticle]/F" and titles["kf"] == "kf[nparticle]/I"
    assert titles["usr_wgts"] == "usr_wgts[nuwgt]/D" and titles["alphasPower"] == "alphasPower/B"
    assert titles["id"] == "id/I" and titles["me_wgt"] == "me_wgt/D" and titles["part"] == "part/C"
    assert [b.name for b in tree.branches] == [
        "id", "ncount", "nparticle", "px", "py", "pz", "E", "alphas", "kfactor", "ps_wgt", "kf", "weight",
        "weight2", "me_wgt", "me_wgt2", "x1", "x2", "x1p", "x2p", "id1", "id2", "id1p", "id2p", "fac_scale",
        "ren_scale", "nuwgt", "usr_wgts", "alphasPower", "part",
    ]  # fmt: skip
    assert tree["part"].array(library="np").tolist()[:2] == ["V", "B"]
    chunked = list(read_ntuple(path, chunk_size=7))
    assert len(chunked) > len(batches)
    whole = _by_process(list(read_events(path)))
    for b in batches:
        got = whole[b.process]
        as_float = b.momenta[:, 2:].astype(np.float32).astype(np.float64)
        np.testing.assert_array_equal(got.momenta[:, 2:], as_float)
        np.testing.assert_array_equal(got.weight, b.weight)
        joined = _by_process(chunked)[b.process]
        np.testing.assert_array_equal(joined.momenta, got.momenta)


def _event_data(rng: np.random.Generator, n_ev: int) -> dict[str, np.ndarray]:
    """u ubar -> e- e+ g and g d -> e- e+ d entries, kf in a scrambled (non-canonical) order."""
    inc, out = _momenta(rng, n_ev, 3)
    kf = np.where(np.arange(n_ev)[:, None] % 2 == 0, [21, -11, 11], [1, 11, -11])
    id1 = np.where(np.arange(n_ev) % 2 == 0, 2, 21)
    id2 = np.where(np.arange(n_ev) % 2 == 0, -2, 1)
    return {"inc": inc, "out": out, "kf": kf, "id1": id1, "id2": id2}


def _type_of(name: str, value: object) -> object:
    if name == "part":
        return "string"
    if isinstance(value, ak.Array):
        return value.type.content
    return np.asarray(value).dtype


def _write_direct(path: Path, tree: str, ev: dict[str, np.ndarray], variant: str) -> dict[str, np.ndarray]:
    n_ev = len(ev["id1"])
    mom_dtype = np.float64 if variant == "edroot" else np.float32
    counts = np.full(n_ev, 3, dtype=np.int32)
    data: dict[str, object] = {"id": np.arange(n_ev, dtype=np.int32)}
    if variant == "edroot":
        data["ncount"] = np.arange(1, n_ev + 1, dtype=np.int32)
    data["nparticle"] = counts
    for comp, name in enumerate(("E", "px", "py", "pz")):
        data[name] = ak.unflatten(ev["out"][..., comp].reshape(-1).astype(mom_dtype), counts)
    data["alphas"] = np.full(n_ev, 0.118)
    if variant == "edroot":
        data["kfactor"] = np.ones(n_ev)
        data["ps_wgt"] = np.full(n_ev, 2.5)
    data["kf"] = ak.unflatten(ev["kf"].reshape(-1).astype(np.int32), counts)
    data["weight"] = np.linspace(-1.0, 1.0, n_ev)
    data["weight2"] = data["weight"]
    data["me_wgt"] = np.full(n_ev, 3.0)
    data["me_wgt2"] = np.full(n_ev, 3.0)
    for name in ("x1", "x2", "x1p", "x2p"):
        data[name] = np.full(n_ev, 0.25)
    data["id1"] = ev["id1"].astype(np.int32)
    data["id2"] = ev["id2"].astype(np.int32)
    if variant == "edroot":
        data["id1p"] = data["id1"]
        data["id2p"] = data["id2"]
    data["fac_scale"] = np.full(n_ev, 91.1876)
    data["ren_scale"] = np.full(n_ev, 45.0)
    data["nuwgt"] = np.zeros(n_ev, dtype=np.int32)
    data["usr_wgts"] = ak.unflatten(np.zeros(0), np.zeros(n_ev, dtype=np.int64))
    data["alphasPower"] = np.ones(n_ev, dtype=np.int16 if tree == "BHSntuples" else np.int8)
    data["part"] = np.array(["B"] * n_ev)
    with uproot.recreate(path) as f:
        f.mktree(
            tree,
            {k: _type_of(k, v) for k, v in data.items()},
            title="Reconst ntuple",
            counter_name=lambda b: "nuwgt" if b == "usr_wgts" else "nparticle",
        )
        f[tree].extend(data)
    return {k: np.asarray(v) for k, v in data.items() if not isinstance(v, ak.Array)}


@pytest.mark.parametrize(
    ("tree", "variant"), [("t3", "edroot"), ("t3", "sherpa22"), ("BHSntuples", "sherpa22")]
)
def test_independently_written_files(tmp_path: Path, tree: str, variant: str) -> None:
    rng = np.random.default_rng(11)
    ev = _event_data(rng, 10)
    path = tmp_path / f"{tree}_{variant}.root"
    scalars = _write_direct(path, tree, ev, variant)
    got = {b.process: b for b in read_ntuple(path)}
    assert set(got) == {"2_3__u__ub__e-__e+__G", "2_3__G__d__e-__e+__d"}
    uu, gd = got["2_3__u__ub__e-__e+__G"], got["2_3__G__d__e-__e+__d"]
    even, odd = np.arange(0, 10, 2), np.arange(1, 10, 2)
    mom_dtype = np.float64 if variant == "edroot" else np.float32
    out = ev["out"].astype(mom_dtype).astype(np.float64)
    # u ubar -> e- e+ g: file order g, e+, e- -> canonical e-, e+, g; u from +z
    np.testing.assert_array_equal(uu.momenta[:, 2:], out[even][:, [2, 1, 0]])
    tot = out[even].sum(axis=1)
    np.testing.assert_allclose(uu.momenta[:, 0, 0], (tot[:, 0] + tot[:, 3]) / 2, rtol=1e-15)
    np.testing.assert_allclose(uu.momenta[:, 1, 3], -(tot[:, 0] - tot[:, 3]) / 2, rtol=1e-15)
    rtol = 1e-12 if variant == "edroot" else 1e-5
    np.testing.assert_allclose(uu.momenta[:, :2], ev["inc"][even], rtol=rtol)
    # g d -> e- e+ d: file order d, e-, e+ -> canonical e-, e+, d
    np.testing.assert_array_equal(gd.momenta[:, 2:], out[odd][:, [1, 2, 0]])
    assert gd.pdg.tolist() == [21, 1, 11, -11, 1]
    np.testing.assert_array_equal(uu.weight, scalars["weight"][even])
    np.testing.assert_allclose(gd.muf2, 91.1876**2) and np.testing.assert_allclose(gd.mur2, 45.0**2)
    np.testing.assert_array_equal(gd.extra_weights["me_wgt"], 3.0)
    np.testing.assert_array_equal(gd.extra_weights["part"], PART_CODES["B"])
    if variant == "edroot":
        np.testing.assert_array_equal(gd.trials, scalars["ncount"][odd])
        np.testing.assert_array_equal(gd.ps_weight, 2.5)
    else:
        assert gd.trials is None and gd.ps_weight is None


def test_errors(tmp_path: Path) -> None:
    bad = tmp_path / "mismatch.root"
    moms = {c: "var * float32" for c in ("px", "py", "pz", "E")}
    ints = {"nparticle": "int32", "id1": "int32", "id2": "int32"}
    with uproot.recreate(bad) as f:
        f.mktree("t3", {**ints, **moms, "kf": "var * int32", "weight": "float64"})
        one = ak.Array([[1.0, 2.0]])
        f["t3"].extend(
            {**{c: np.array([v], np.int32) for c, v in zip(ints, (3, 1, -1), strict=True)},
             **{c: one for c in moms}, "kf": ak.Array([[11, -11]]), "weight": np.array([1.0])}
        )  # fmt: skip
    with pytest.raises(NtupleError, match=r"entry 0: branch 'px' has 2 values, nparticle = 3"):
        list(read_ntuple(bad))
    with pytest.raises(NtupleError, match="no Sherpa ntuple tree 'other'"):
        list(read_ntuple(bad, tree="other"))
    missing = tmp_path / "missing.root"
    with uproot.recreate(missing) as f:
        f.mktree("t3", {"weight": "float64"})
        f["t3"].extend({"weight": np.array([1.0])})
    with pytest.raises(NtupleError, match=r"lacks the required branches \['nparticle'"):
        list(read_ntuple(missing))
    with pytest.raises(ValueError, match="no events"):
        write_ntuple(tmp_path / "empty.root", [])
