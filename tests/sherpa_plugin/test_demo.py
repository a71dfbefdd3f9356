"""``fame demo`` end to end at a small size: every stage runs, the two-stage result is unbiased, and the gain
table it prints is what its own efficiencies and times give."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from fame_surrogate.config import TrainConfig
from lhe_tools import read_dump
from sherpa_plugin.bundle import Bundle
from sherpa_plugin.demo import run_demo
from sherpa_plugin.demo_config import DemoConfig
from sherpa_plugin.sherpa_env import SherpaNotAvailable, find_sherpa_python

REPO = Path(__file__).resolve().parents[2]
COLUMNS = ("jets", "eps_full", "eps_1", "eps_2", "f_eff", "f_ideal", "ratio", "t_me", "t_surr", "t_ps")


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.src: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.src += [v for k, v in attrs if k == "src" and v]


@pytest.mark.slow
def test_small_demo_runs_every_stage_and_closes(tmp_path: Path) -> None:
    # 60 epochs: Muon (the default optimiser) trails AdamW over its first hundred or more steps, and 1500
    # points give 3 per epoch; 40k trials give the closure test enough unweighted events for a χ²
    # (MIN_EXPECTED per bin)
    config = DemoConfig(
        jets=(3,),
        train_points=1500,
        validate_points=40000,
        workers=1,
        sherpa_points=0,
        train=TrainConfig(replicas=1, epochs=60, max_seconds=20.0, threads=1),
    )
    result = run_demo(tmp_path, replace(config, seed=3))
    report = Path(result.report)
    assert report.is_file()
    parser = _Images()
    parser.feed(report.read_text())
    assert parser.src and all((report.parent / s).is_file() for s in parser.src)
    # the bundle it wrote loads (sha256 + contract verified) and covers the generated channel
    bundle = Bundle.load(result.bundle)
    assert bundle.covers("2_3__e-__e+__G__d__db")
    summary = json.loads((report.parent / "summary.json").read_text())
    # unbiased: the two-stage cross section agrees with the exact weighted one within its MC error
    channel = summary["channels"]["2_3__e-__e+__G__d__db"]
    assert abs(channel["sigma_pull"]) < 4.0
    (row,) = result.rows
    assert 0.0 < row.eps_2 <= 1.0 + 1e-9 and row.f_eff > 0.0
    assert result.closure_min_p is not None and result.closure_min_p > 1e-4
    assert result.sherpa_note.startswith("Sherpa MEProcess timing: off")


# ------------------------------------------------------------------ the printed gain table, recomputed


def _f_eff(eps_full: float, eps_1: float, eps_2: float, t_me: float, t_surr: float, t_ps: float) -> float:
    """Cost per unweighted event, standard over two-stage (written out here, not imported)."""
    standard = (t_me + t_ps) / eps_full
    two_stage = (t_surr + t_ps) / (eps_1 * eps_2) + t_me / eps_2
    return standard / two_stage


def _max_epsilon_bisect(w: np.ndarray, eps: float = 1e-3) -> float:
    """Sherpa's Max_Epsilon maximum by bisection: the smallest m with sum(max(0, |w| - m)) <= eps sum |w|."""
    a = np.abs(w)
    lo, hi = 0.0, float(a.max())
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.sum(np.maximum(a - mid, 0.0)) <= eps * np.sum(a):
            hi = mid
        else:
            lo = mid
    return hi


def _tables(stdout: str) -> dict[str, list[dict[str, float]]]:
    """The printed tables: title line → rows (numbers as printed)."""
    tables: dict[str, list[dict[str, float]]] = {}
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("with ") and i + 1 < len(lines) and lines[i + 1].split()[:1] == ["jets"]:
            rows = []
            for body in lines[i + 2 :]:
                if not re.match(r"^\s+\d", body):
                    break
                rows.append(dict(zip(COLUMNS, map(float, body.split()), strict=True)))
            tables[line] = rows
    return tables


@pytest.mark.slow
def test_quick_demo_prints_gains_that_follow_from_its_efficiencies_and_times(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "sherpa_plugin.cli", "demo", "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=900, check=False, cwd=REPO, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    stdout = proc.stdout
    # the summary leads with the gain table
    assert stdout.startswith("Two-stage unweighting gain per multiplicity")
    tables = _tables(stdout)
    builtin = next(rows for title, rows in tables.items() if "built-in" in title)
    assert [r["jets"] for r in builtin] == [3, 4, 5]
    saved = json.loads((out / "demo-summary.json").read_text())
    assert (out / "demo-summary.txt").read_text() == stdout

    # 1. every printed f_eff, f_ideal and their ratio follow from the printed efficiencies and times
    #    (printed to 3-4 significant digits, hence the tolerance)
    for rows in tables.values():
        for r in rows:
            f_eff = _f_eff(r["eps_full"], r["eps_1"], r["eps_2"], r["t_me"], r["t_surr"], r["t_ps"])
            f_ideal = _f_eff(r["eps_full"], r["eps_full"], 1.0, r["t_me"], r["t_surr"], r["t_ps"])
            assert r["f_eff"] == pytest.approx(f_eff, rel=1.5e-2), r
            assert r["f_ideal"] == pytest.approx(f_ideal, rel=1.5e-2), r
            assert r["ratio"] == pytest.approx(f_eff / f_ideal, rel=1.5e-2, abs=2e-3), r

    # 2. the same at full precision from the JSON summary, whose rows are the printed ones
    for key in ("rows", "sherpa_rows"):
        for row in saved[key]:
            t = (row["t_me_ms"], row["t_surr_ms"], row["t_ps_ms"])
            f_eff = _f_eff(row["eps_full"], row["eps_1"], row["eps_2"], *t)
            f_ideal = _f_eff(row["eps_full"], row["eps_full"], 1.0, *t)
            assert row["f_eff"] == pytest.approx(f_eff, rel=1e-12)
            assert row["f_ideal"] == pytest.approx(f_ideal, rel=1e-12)
            assert row["f_eff_over_ideal"] == pytest.approx(f_eff / f_ideal, rel=1e-12)
    for printed, row in zip(builtin, saved["rows"], strict=True):
        assert printed["eps_full"] == pytest.approx(row["eps_full"], rel=1e-3)
        assert printed["t_me"] == pytest.approx(1e3 * row["t_me_ms"], rel=5e-3)

    # 3. eps_full from the validation points on disk: <|w|>/w_max with Max_Epsilon (1e-3) by bisection
    for row in saved["rows"]:
        batch = read_dump(out / "data" / "validate" / f"ee_{row['jets']}j.npz")
        w = batch.weight
        assert row["eps_full"] == pytest.approx(np.mean(np.abs(w)) / _max_epsilon_bisect(w), rel=1e-6)

    # 4. Sherpa's time where a Sherpa Python exists, else one line saying so
    try:
        find_sherpa_python()
    except SherpaNotAvailable:
        assert not saved["sherpa_rows"]
        lines = [ln for ln in stdout.splitlines() if ln.startswith("Sherpa MEProcess timing")]
        assert len(lines) == 1 and "not run" in lines[0]
        return
    sherpa = next(rows for title, rows in tables.items() if "Sherpa" in title)
    assert [r["jets"] for r in sherpa] == [3, 4, 5]
    timings = saved["sherpa_timings"]
    for s_row, b_row, timing in zip(saved["sherpa_rows"], saved["rows"], timings, strict=True):
        # the same efficiencies, surrogate and phase-space times; only t_ME is Sherpa's
        for key in ("eps_full", "eps_1", "eps_2", "t_surr_ms", "t_ps_ms"):
            assert s_row[key] == b_row[key]
        # Sherpa's time as the dumper recorded it at the timed points (median of one MatrixElement() call)
        dumped = read_dump(out / "sherpa-timing" / f"{timing['jets']}j" / f"{timing['process']}.npz")
        assert len(dumped) == timing["points"] == 300
        assert s_row["t_me_ms"] == pytest.approx(dumped.meta["me_ms_per_point"], rel=1e-12)
        # and Sherpa's |M|^2 there is the built-in one
        val = read_dump(out / "data" / "validate" / f"ee_{timing['jets']}j.npz").take(slice(0, 300))
        assert dumped.me2 is not None and val.me2 is not None
        np.testing.assert_allclose(dumped.me2, val.me2, rtol=1e-9)


def test_without_a_sherpa_python_the_demo_says_so_in_one_line(tmp_path: Path) -> None:
    from sherpa_plugin.demo import _sherpa_timings

    batch = read_dump(REPO / "tests" / "data" / "sherpa-ee" / "ee_3j_ycut0.01.npz").take(slice(0, 10))
    timings, note = _sherpa_timings(tmp_path, {3: batch}, 300, str(tmp_path / "no-such-python"))
    assert timings == []
    assert note.startswith("Sherpa MEProcess timing: not run") and "\n" not in note
    assert "make sherpa-env" in note
    assert not any(tmp_path.iterdir())  # nothing was started or written
