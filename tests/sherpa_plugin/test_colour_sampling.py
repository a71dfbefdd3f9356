"""``fame sherpa dump --colour-scheme sample``: Sherpa's colour-sampled weighted generation (issue 16).

Independent truths: the colour-summed |M|^2 of Sherpa's own ``MEProcess`` (``COLOR_SCHEME 1``) at the same
momenta, of which the colour-sampled ``MEWeight`` must be an unbiased but fluctuating estimate; and the cross
section of a colour-summed run of the same process, which the colour-sampled weights must reproduce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lhe_tools.dump import read_dump
from sherpa_plugin.dump import DumpSettings, DumpSource, build_job, sherpa_dump
from sherpa_plugin.dump_result import DumpResult

#: u ū → e- e+ g g at 13 TeV: cheap (seconds), and with two gluons the colour sampling is not trivial
PROCESS = "2 -2 -> 11 -11 21 21"
KW: dict[str, Any] = dict(
    process=PROCESS, beams=(2212, 2212), sqrt_s=13000.0, mll=(66.0, 13000.0), jet_pt=20.0
)
N_EVENTS = 3000


def test_default_job_is_unchanged_and_sampling_sets_color_scheme_2() -> None:
    summed = build_job(DumpSettings(points=10), DumpSource(**KW)).to_json()
    sampled = build_job(DumpSettings(points=10, colour_scheme="sample"), DumpSource(**KW)).to_json()
    # the default job carries no new key (earlier dumps still resume) and Sherpa's colour sum
    assert "color_scheme" not in summed and summed["overrides"]["COLOR_SCHEME"] == "1"
    assert sampled["color_scheme"] == "sample" and sampled["overrides"]["COLOR_SCHEME"] == "2"
    assert {k: v for k, v in sampled.items() if k not in ("color_scheme", "overrides")} == {
        k: v for k, v in summed.items() if k != "overrides"
    }
    with pytest.raises(ValueError, match="colour_scheme 'random': expected one of"):
        DumpSettings(points=10, colour_scheme="random")
    with pytest.raises(ValueError, match="hadron-beam event dumps only"):
        build_job(DumpSettings(points=10, y_cut=0.01, colour_scheme="sample"),
                  DumpSource(process="11 -11 -> 1 -1 21"))


def test_cli_passes_the_colour_scheme(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sherpa_plugin.dump as dump_module
    from sherpa_plugin.cli import main

    seen: list[DumpSettings] = []

    def fake_dump(out: Any, settings: DumpSettings, **kwargs: Any) -> DumpResult:
        seen.append(settings)
        return DumpResult(channels=[], points=0, ms_per_point=float("nan"), out=str(out), mode="events")

    monkeypatch.setattr(dump_module, "sherpa_dump", fake_dump)
    args = ["sherpa", "dump", "--process", PROCESS, "--beams", "2212", "2212", "--sqrt-s", "13000",
            "--points", "10", "--out", str(tmp_path / "o"), "--json"]
    assert main([*args, "--colour-scheme", "sample"]) == 0
    assert main(args) == 0
    assert [s.colour_scheme for s in seen] == ["sample", "sum"]


@pytest.fixture(scope="module")
def runs(sherpa_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A colour-sampled and a colour-summed run, and the colour sum at the sampled run's momenta."""
    base = tmp_path_factory.mktemp("colour")
    out: dict[str, Any] = {}
    for scheme, seed in (("sample", 21), ("sum", 22)):
        res = sherpa_dump(base / scheme, DumpSettings(points=N_EVENTS, chunk=N_EVENTS, integration="medium",
                                                       seed=seed, colour_scheme=scheme),
                          sherpa_python=sherpa_python, **KW).to_json()
        (ch,) = res["channels"]
        out[scheme] = read_dump(base / scheme / ch["file"])
    again = sherpa_dump(base / "eval", DumpSettings(points=0), input_dump=base / "sample" / ch["file"],
                        sherpa_python=sherpa_python).to_json()
    (ch,) = again["channels"]
    out["sum_at_sampled"] = read_dump(base / "eval" / ch["file"]).me2
    return out


@pytest.mark.sherpa
def test_sampled_dump_records_its_scheme_and_times(runs: dict[str, Any]) -> None:
    b = runs["sample"]
    assert len(b) == N_EVENTS and b.meta["color_scheme"] == 2 and b.meta["overrides"]["COLOR_SCHEME"] == "2"
    assert "COLOR_SCHEME 2" in b.meta["me2_source"] and "me2_vs_sherpa_meweight_max_rel_dev" not in b.meta
    assert runs["sum"].meta["color_scheme"] == 1
    np.testing.assert_allclose(b.weight, b.ps_weight * b.me2, rtol=1e-12)
    assert np.all(b.me2 > 0) and np.all(b.trials >= 1)
    for key in ("me_cpu_ms_per_point", "ps_cpu_ms_per_point", "gen_cpu_ms_per_event"):
        assert b.meta[key] > 0, key


@pytest.mark.sherpa
def test_sampled_me_is_an_unbiased_fluctuating_estimate_of_the_colour_sum(runs: dict[str, Any]) -> None:
    """E[r | x] = 1 for r = MEWeight / Σ_colours |M|^2 at every point x, and r is not 1: the colour-sampled
    weight w·r has the colour-summed weight w as its mean at each point and a larger second moment,
    E[(w r)^2 | x] = w^2 (1 + Var r) > w^2."""
    r = runs["sample"].me2 / runs["sum_at_sampled"]
    n = len(r)
    mean, err = float(r.mean()), float(r.std(ddof=1) / np.sqrt(n))
    assert abs(mean - 1.0) < 4.0 * err, (mean, err)
    assert err < 0.2  # the unbiasedness check has teeth
    # Var r = E[(r-1)^2] >= 0.01 P(|r-1| > 0.1): most points are off by over 10% (with the colour sum: none)
    off = float(np.mean(np.abs(r - 1.0) > 0.1))
    assert off - 4.0 * np.sqrt(off * (1 - off) / n) > 0.5, off


@pytest.mark.sherpa
def test_sampled_weights_reproduce_the_colour_summed_cross_section(runs: dict[str, Any]) -> None:
    sig = {}
    for scheme in ("sample", "sum"):
        b = runs[scheme]
        n = float(b.trials.sum())
        s = float(b.weight.sum() / n)
        sig[scheme] = (s, float(np.sqrt(max(float((b.weight**2).sum()) / n - s * s, 0.0) / n)))
    (s1, e1), (s2, e2) = sig["sample"], sig["sum"]
    assert abs(s1 - s2) < 4.0 * np.hypot(e1, e2), sig
    assert e1 < 0.4 * s1 and e2 < 0.4 * s2, sig  # the comparison has teeth
