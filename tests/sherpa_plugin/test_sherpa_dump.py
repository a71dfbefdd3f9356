"""The Sherpa-side dumper driven through :func:`sherpa_plugin.dump.sherpa_dump`, with the real Sherpa 3.0.3.

Truths: the Sherpa reference datasets (me2 at stored momenta, to 1e-10), the built-in exact e+e- matrix
elements, fame's own RAMBO weight, Sherpa's own per-event ``MEWeight`` and integrated cross section, and
lhe_tools' independent implementation of Sherpa's process naming.  Runs are kept tiny (Sherpa init ~1 s).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.me import matrix_element
from fame_surrogate.phasespace import min_sij_over_s, rambo_weight
from lhe_tools.dump import read_dump
from lhe_tools.fourvec import mdot
from lhe_tools.process import canonical_channel
from sherpa_plugin.dump import DumpSettings, DumpSource, build_job, sherpa_dump
from sherpa_plugin.dump_runner import SherpaDumpError
from sherpa_plugin.run_card import build_run_card
from sherpa_plugin.sherpa_side.job import DumpJob

pytestmark = pytest.mark.sherpa


def _subset(src: Path, dst: Path, n: int) -> Path:
    with np.load(src, allow_pickle=False) as d:
        np.savez(dst, momenta=d["momenta"][:n], pdg=d["pdg"], me2=d["me2"][:n], meta=d["meta"])
    return dst


@pytest.mark.parametrize(("name", "n"), [("ee_3j_ycut0.01", 400), ("ee_4j_ycut0.01", 200)])
def test_me2_at_reference_momenta_equals_sherpa_reference(
    sherpa_python: Path, sherpa_ee: Path, tmp_path: Path, name: str, n: int
) -> None:
    src = _subset(sherpa_ee / f"{name}.npz", tmp_path / "in.npz", n)
    res = sherpa_dump(tmp_path / "out", DumpSettings(points=0, chunk=150), input_dump=src,
                      sherpa_python=sherpa_python).to_json()
    ref = np.load(src)
    (ch,) = res["channels"]
    batch = read_dump(tmp_path / "out" / ch["file"])
    assert batch.process == json.loads(str(ref["meta"]))["process"]
    np.testing.assert_array_equal(batch.momenta, ref["momenta"])
    np.testing.assert_allclose(batch.me2, ref["me2"], rtol=1e-10, atol=0)
    assert res["points"] == n and res["ms_per_point"] > 0


@pytest.fixture(scope="module")
def ee3(sherpa_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("ee3")
    res = sherpa_dump(out, DumpSettings(points=1000, chunk=400, y_cut=0.01, seed=5),
                      process="11 -11 -> 21 1 -1", sqrt_s=1000.0, sherpa_python=sherpa_python).to_json()
    return out, res


def test_rambo_dump_contract_and_physics(ee3: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    out, res = ee3
    assert [c["process"] for c in res["channels"]] == ["2_3__e-__e+__G__d__db"]
    batch = read_dump(out / "2_3__e-__e+__G__d__db.npz")
    assert batch.momenta.shape == (1000, 5, 4) and list(batch.pdg) == [11, -11, 21, 1, -1]
    p = batch.momenta
    np.testing.assert_allclose(p[:, 0], np.broadcast_to([500.0, 0, 0, 500.0], (1000, 4)))
    np.testing.assert_allclose(p[:, :2].sum(1), p[:, 2:].sum(1), atol=1e-9)
    np.testing.assert_allclose(mdot(p[:, 2:], p[:, 2:]), 0.0, atol=1e-6)
    assert np.all(min_sij_over_s(p[:, 2:], 1000.0) > 0.01)
    # fame's RAMBO weight (independent code) and the exact built-in matrix element at the same points
    np.testing.assert_allclose(batch.ps_weight, rambo_weight(3, 1000.0), rtol=1e-14)
    np.testing.assert_allclose(matrix_element(p, batch.pdg), batch.me2, rtol=1e-10)
    meta = batch.meta
    keys = ("process", "generator", "run_card", "sqrt_s", "cuts", "color_scheme", "seed", "me_ms_per_point")
    assert set(keys) <= set(meta)
    assert meta["generator"] == "Sherpa 3.0.3" and meta["color_scheme"] == 1 and meta["seed"] == 5
    # the analytic cut efficiency of y_cut = 0.01 for 3 massless bodies is 0.9408 (reference file: 0.94081)
    assert abs(meta["cut_efficiency"] - 0.9408) < 4 * np.sqrt(0.94 * 0.06 / 1000)
    assert not (out / ".parts").exists()


def test_rerun_of_complete_job_is_a_no_op_and_other_jobs_are_refused(
    ee3: tuple[Path, dict], sherpa_python: Path  # type: ignore[type-arg]
) -> None:
    out, res = ee3
    again = sherpa_dump(out, DumpSettings(points=1000, chunk=400, y_cut=0.01, seed=5),
                        process="11 -11 -> 21 1 -1", sqrt_s=1000.0, sherpa_python=sherpa_python).to_json()
    assert again["points"] == res["points"] and again["channels"] == res["channels"]
    with pytest.raises(ValueError, match="different dump job"):
        sherpa_dump(out, DumpSettings(points=1000, chunk=400, y_cut=0.01, seed=6),
                    process="11 -11 -> 21 1 -1", sqrt_s=1000.0, sherpa_python=sherpa_python)


def _kill_once_written(out: Path, args: str, sherpa_python: Path, path: Path, timeout: float) -> None:
    """Run ``sherpa_dump(out, <args>)`` in a child process; SIGKILL its process group once ``path`` exists."""
    code = (
        "from sherpa_plugin.dump import DumpSettings, sherpa_dump; "
        f"sherpa_dump({str(out)!r}, {args}, sherpa_python={str(sherpa_python)!r})"
    )
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, **quiet)
    deadline = time.monotonic() + timeout
    while not path.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert path.is_file(), f"the dumper wrote no {path.name} before it was killed"


def test_killed_run_leaves_no_complete_looking_dump_and_resumes(sherpa_python: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    part = out / ".parts" / "2_5__e-__e+__G__G__G__d__db" / "part-00000.npz"
    args = "DumpSettings(points=2400, chunk=600, y_cut=0.01, seed=3), process='11 -11 -> 21 21 21 1 -1'"
    _kill_once_written(out, args, sherpa_python, part, 120.0)
    assert not list(out.glob("*.npz")) and not (out / "dump.json").exists()
    with np.load(part) as first:
        saved_mom, saved_me2 = first["momenta"], first["me2"]
    res = sherpa_dump(out, DumpSettings(points=2400, chunk=600, y_cut=0.01, seed=3),
                      process="11 -11 -> 21 21 21 1 -1", sqrt_s=1000.0, sherpa_python=sherpa_python).to_json()
    batch = read_dump(out / res["channels"][0]["file"])
    assert len(batch.me2) == 2400
    np.testing.assert_array_equal(batch.momenta[:600], saved_mom)
    np.testing.assert_array_equal(batch.me2[:600], saved_me2)
    assert len(np.unique(batch.momenta[:, 2, 0])) == 2400  # resumed chunks are new points, not repeats
    idx = np.arange(0, 2400, 120)
    np.testing.assert_allclose(matrix_element(batch.momenta[idx], batch.pdg), batch.me2[idx], rtol=1e-10)


def test_unknown_process_reports_sherpas_words(sherpa_python: Path, tmp_path: Path) -> None:
    out = tmp_path / "bad"
    with pytest.raises(SherpaDumpError, match="No hard process found") as err:
        sherpa_dump(out, DumpSettings(points=10, y_cut=0.01), process="11 -11 -> 1 -2 21",
                    sherpa_python=sherpa_python)
    assert "sherpa.log" in str(err.value)
    assert not list(out.glob("*.npz")) and not (out / "dump.json").exists()


def test_run_card_for_hadron_beams() -> None:
    card = build_run_card("93 93 -> 11 -11 93 93", beams=(2212, 2212), sqrt_s=13000.0, mll=(66.0, 13000.0),
                          jet_pt=20.0)
    assert "BEAMS: [2212, 2212]" in card and "BEAM_ENERGIES: 6500" in card
    assert "Order: {QCD: 2, EW: 2}" in card and "PDF_LIBRARY" not in card
    assert "- [Mass, 11, -11, 66, 13000]" in card and "N: 2, PTMin: 20" in card


@pytest.fixture(scope="module")
def zj1(sherpa_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("zj1")
    res = sherpa_dump(out, DumpSettings(points=400, chunk=250, integration="fast", seed=2, timing_points=20),
                      process="93 93 -> 11 -11 93", beams=(2212, 2212), sqrt_s=13000.0, mll=(66.0, 13000.0),
                      jet_pt=20.0, sherpa_python=sherpa_python).to_json()
    return out, res


def test_hadron_events_channels_and_columns(zj1: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    out, res = zj1
    # Z+1 jet: 15 partonic channels (5 flavours: q qbar, g q, g qbar), as in the KISS 2025 talk's table
    assert len(res["sherpa_channels"]) == 15
    assert set(res["timing"]) == {c["process"] for c in res["sherpa_channels"]}
    assert sum(c["points"] for c in res["channels"]) == 400
    assert res["ps_ms_per_point"] > 0
    for ch in res["channels"]:
        b = read_dump(out / ch["file"])
        name, order = canonical_channel(b.pdg, 2)
        assert name == b.process == ch["process"] and list(order) == list(range(5))
        p = b.momenta
        np.testing.assert_allclose(p[:, :2].sum(1), p[:, 2:].sum(1), atol=1e-6 * 13000)
        np.testing.assert_allclose(p[:, :2, 1:3], 0.0, atol=1e-9)
        plus = np.where(p[:, 0, 3] > 0, p[:, 0, 0], p[:, 1, 0])
        minus = np.where(p[:, 0, 3] > 0, p[:, 1, 0], p[:, 0, 0])
        np.testing.assert_allclose(b.x1, plus / 6500.0, rtol=1e-12)
        np.testing.assert_allclose(b.x2, minus / 6500.0, rtol=1e-12)
        mll2 = mdot(p[:, 2] + p[:, 3], p[:, 2] + p[:, 3])
        assert np.all(mll2 > 66.0**2 * (1 - 1e-9))
        assert np.all(np.hypot(p[:, 4, 1], p[:, 4, 2]) > 20.0 * (1 - 1e-9))  # the one jet
        np.testing.assert_allclose(b.weight, b.ps_weight * b.me2, rtol=1e-12)
        np.testing.assert_allclose(b.muf2, 91.1876**2, rtol=1e-12)
        assert np.all(b.me2 > 0) and np.all(b.trials >= 1)
        meta = b.meta
        # MEProcess |M|^2 in our particle order equals Sherpa's own MEWeight of each generated event
        assert meta["me2_vs_sherpa_meweight_max_rel_dev"] < 1e-10
        assert meta["ps_ms_per_point"] == pytest.approx(res["ps_ms_per_point"])
        assert "PDF4LHC21" in meta["pdf_set"]


def test_hadron_weights_reproduce_sherpas_cross_section(zj1: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    out, res = zj1
    w = np.concatenate([read_dump(out / c["file"]).weight for c in res["channels"]])
    trials = np.concatenate([read_dump(out / c["file"]).trials for c in res["channels"]])
    n = trials.sum()  # sigma = sum(w) / sum(trials) (zero-weight trials included)
    sigma = w.sum() / n
    err = np.sqrt(max((w**2).sum() / n - sigma**2, 0.0) / n)
    log = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", (out / ".sherpa" / "sherpa.log").read_text(errors="replace"))
    m = re.findall(r"2_3__j__j__e-__e\+__j : ([0-9.]+) pb \+- \( ([0-9.]+) pb", log)
    assert m, "Sherpa's integration result not found in its log"
    xs, xs_err = (float(v) for v in m[-1])
    assert abs(sigma - xs) < 5 * np.hypot(err, xs_err), (sigma, err, xs, xs_err)


def test_hadron_me2_from_sherpas_meweight_equals_meprocess(sherpa_python: Path, tmp_path: Path) -> None:
    """--me-check-every 4: |M|^2 comes from Sherpa's event MEWeight; MEProcess at the same momenta agrees."""
    res = sherpa_dump(tmp_path / "ev", DumpSettings(points=300, chunk=150, integration="fast", seed=9,
                                                    me_check_every=4),
                      process="93 93 -> 11 -11 93", beams=(2212, 2212), sqrt_s=13000.0, mll=(66.0, 13000.0),
                      jet_pt=20.0, sherpa_python=sherpa_python).to_json()
    assert sum(c["points"] for c in res["channels"]) == 300
    biggest = max(res["channels"], key=lambda c: c["points"])
    dump = tmp_path / "ev" / biggest["file"]
    b = read_dump(dump)
    assert "MEWeight" in b.meta["me2_source"] and b.meta["me_ms_per_point"] > 0
    np.testing.assert_allclose(b.weight, b.ps_weight * b.me2, rtol=1e-12)
    again = sherpa_dump(tmp_path / "eval", DumpSettings(points=0), input_dump=dump,
                        sherpa_python=sherpa_python).to_json()
    (ch,) = again["channels"]
    np.testing.assert_allclose(read_dump(tmp_path / "eval" / ch["file"]).me2, b.me2, rtol=1e-9, atol=0)


def test_me_check_every_needs_a_positive_count_and_hadron_beams(sherpa_python: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="me_check_every must be a positive integer, got 0"):
        DumpSettings(points=10, me_check_every=0)
    with pytest.raises(ValueError, match="hadron-beam event dumps only"):
        sherpa_dump(tmp_path, DumpSettings(points=10, y_cut=0.01, me_check_every=2), process="11 -11 -> 1 -1",
                    sherpa_python=sherpa_python)


def test_another_seed_reuses_the_integration_of_the_same_setup(
    zj1: tuple[Path, dict], sherpa_python: Path, tmp_path: Path  # type: ignore[type-arg]
) -> None:
    src, _ = zj1
    kw = dict(process="93 93 -> 11 -11 93", beams=(2212, 2212), sqrt_s=13000.0, mll=(66.0, 13000.0),
              sherpa_python=sherpa_python)
    settings = DumpSettings(points=200, chunk=200, integration="fast", seed=3)
    res = sherpa_dump(tmp_path / "more", settings, jet_pt=20.0, integration_from=src, **kw).to_json()  # type: ignore[arg-type]
    assert res["points"] == 200
    clean = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", (tmp_path / "more" / ".sherpa" / "sherpa.log").read_text())
    assert "Starting the calculation" not in clean  # Sherpa read the grids instead of integrating
    assert "Starting the calculation" in (src / ".sherpa" / "sherpa.log").read_text()
    first = np.concatenate([read_dump(src / c["file"]).momenta[:, 2, 0] for c in zj1[1]["channels"]])
    more = np.concatenate([read_dump(tmp_path / "more" / c["file"]).momenta[:, 2, 0]
                           for c in res["channels"]])
    assert not np.isin(more, first).any()  # other seed, other events
    with pytest.raises(ValueError, match="integrated a different setup"):  # other cuts, other integration
        sherpa_dump(tmp_path / "other", settings, jet_pt=30.0, integration_from=src, **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no Sherpa integration to reuse"):
        sherpa_dump(tmp_path / "none", settings, jet_pt=20.0, integration_from=tmp_path, **kw)  # type: ignore[arg-type]


def test_hadron_run_is_cut_short_by_a_rerun_with_fewer_events(sherpa_python: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = (
        "DumpSettings(points=100000, chunk=200, integration='fast', seed=4), process='93 93 -> 11 -11 93', "
        "beams=(2212, 2212), sqrt_s=13000.0, mll=(66.0, 13000.0), jet_pt=20.0"
    )
    _kill_once_written(out, args, sherpa_python, out / ".parts" / "chunk-00000.json", 180.0)
    done = 200 * len(list((out / ".parts").glob("chunk-*.json")))
    settings = DumpSettings(points=200, chunk=200, integration="fast", seed=4)
    res = sherpa_dump(out, settings, process="93 93 -> 11 -11 93", beams=(2212, 2212), sqrt_s=13000.0,
                      mll=(66.0, 13000.0), jet_pt=20.0, sherpa_python=sherpa_python).to_json()
    # every finished chunk is kept (no event drawn twice), nothing beyond them is generated
    assert res["points"] == done >= 200
    mom = np.concatenate([read_dump(out / c["file"]).momenta for c in res["channels"]])
    assert len(np.unique(mom[:, 2, 0])) == done
    with pytest.raises(ValueError, match="different dump job"):  # asking for more is another job
        sherpa_dump(out, dataclasses.replace(settings, points=100000), process="93 93 -> 11 -11 93",
                    beams=(2212, 2212), sqrt_s=13000.0, mll=(66.0, 13000.0), jet_pt=20.0,
                    sherpa_python=sherpa_python)


def test_users_run_card_is_used_verbatim(sherpa_python: Path, sherpa_ee: Path, tmp_path: Path) -> None:
    card = json.loads((sherpa_ee / "ee_4j_ycut0.01.meta.json").read_text())["run_card"]
    (tmp_path / "Sherpa.yaml").write_text(card)
    res = sherpa_dump(tmp_path / "out", DumpSettings(points=200, y_cut=0.01, seed=1),
                      run_card=tmp_path / "Sherpa.yaml", sherpa_python=sherpa_python).to_json()
    batch = read_dump(tmp_path / "out" / res["channels"][0]["file"])
    assert batch.process == "2_4__e-__e+__G__G__d__db" and batch.meta["run_card"] == card
    assert batch.meta["sqrt_s"] == 1000.0
    np.testing.assert_allclose(matrix_element(batch.momenta, batch.pdg), batch.me2, rtol=1e-10)


def test_foreign_particle_order_is_refused(sherpa_python: Path, sherpa_ee: Path, tmp_path: Path) -> None:
    with np.load(sherpa_ee / "ee_3j_ycut0.01.npz") as d:
        order = [0, 1, 3, 4, 2]  # e- e+ d db G: not Sherpa's order (gluons before quarks)
        np.savez(tmp_path / "in.npz", momenta=d["momenta"][:20][:, order], pdg=d["pdg"][order])
    with pytest.raises(SherpaDumpError, match="order must be Sherpa's"):
        sherpa_dump(tmp_path / "out", DumpSettings(points=0), input_dump=tmp_path / "in.npz",
                    sherpa_python=sherpa_python)
    assert not list((tmp_path / "out").glob("*.npz"))


def test_cli_json_keys(sherpa_python: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sherpa_plugin.cli import main

    code = main(["sherpa", "dump", "--process", "11 -11 -> 1 -1 21 21", "--sqrt-s", "1000", "--ycut", "0.01",
                 "--points", "300", "--out", str(tmp_path / "out"), "--sherpa-python", str(sherpa_python),
                 "--json"])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert {"channels", "points", "ms_per_point"} <= set(res)
    assert res["points"] == 300 and res["ms_per_point"] > 0
    assert [c["process"] for c in res["channels"]] == ["2_4__e-__e+__G__G__d__db"]
    batch = read_dump(tmp_path / "out" / res["channels"][0]["file"])
    np.testing.assert_allclose(matrix_element(batch.momenta, batch.pdg), batch.me2, rtol=1e-10)


def test_timings_are_taken_at_the_runs_energy() -> None:
    """The job carries the energy of the MatrixElement() timing points, under the key the dumper reads."""
    lep = build_job(DumpSettings(points=10, y_cut=0.01, timing_points=5),
                    DumpSource(process="11 -11 -> 21 1 -1", sqrt_s=91.2)).to_json()
    had = build_job(DumpSettings(points=10, timing_points=5), DumpSource(process="93 93 -> 11 -11",
                    beams=(2212, 2212), sqrt_s=13000.0, mll=(66.0, 13000.0))).to_json()
    assert (lep["timing_sqrt_s"], had["timing_sqrt_s"]) == (91.2, 13000.0)
    assert "timing_sqrt_s" not in build_job(DumpSettings(points=10, y_cut=0.01),
                                            DumpSource(process="11 -11 -> 1 -1")).to_json()
    # the dumper reads the job file through DumpJob.read / from_json and times at job.timing_sqrt_s
    assert DumpJob.from_json(json.loads(json.dumps(had))).timing_sqrt_s == 13000.0
    timings = Path(__file__).resolve().parents[2] / "sherpa_plugin" / "sherpa_side" / "run_integrate.py"
    assert "job.timing_sqrt_s" in timings.read_text()
