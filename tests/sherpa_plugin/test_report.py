"""The validation report: self-contained HTML whose images all load, rendered by a real browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from fame_surrogate.validation import Accuracy
from lhe_tools import EventBatch, read_dump
from sherpa_plugin.report import accuracy_row
from sherpa_plugin.report_data import time_splits
from sherpa_plugin.validate import validate
from sherpa_plugin.validate_config import ValidateConfig
from sherpa_plugin.validation_result import ValidationResult


class Perturbed:
    """A surrogate made from the truth: ``factor`` x |M|^2 where the quark goes forward, noise elsewhere."""

    def __init__(self, factor: float, noise: float, seed: int) -> None:
        self.factor, self.noise, self.seed = factor, noise, seed

    def predict(self, batch: EventBatch) -> tuple[np.ndarray, np.ndarray]:
        assert batch.me2 is not None
        rng = np.random.default_rng(self.seed)
        fwd = batch.momenta[:, -2, 3] > 0
        pred = (
            batch.me2 * np.where(fwd, self.factor, 1.0) * np.exp(self.noise * rng.standard_normal(len(batch)))
        )
        return pred, np.zeros(len(batch))


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img":
            self.images.append(str(a.get("src")))
        if tag in ("link", "script", "a") and (a.get("href") or a.get("src")):
            self.links.append(str(a.get("href") or a.get("src")))
        if tag == "table":
            self.tables += 1


@pytest.fixture(scope="module")
def report(sherpa_ee: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ValidationResult]:
    b3 = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(slice(0, 40000))
    b4 = read_dump(sherpa_ee / "ee_4j_ycut0.01.npz").take(slice(0, 20000))
    out = tmp_path_factory.mktemp("validation") / "report"
    result = validate(
        Perturbed(1.0, 0.01, 0),
        [b3, b4],
        out,
        ValidateConfig(eps=1e-2, timing_points=2048, timing_repeats=1, n_bins=6),
        compare={"bad (0.5x forward)": Perturbed(0.5, 0.01, 1)},
    )
    return out, result


def test_html_is_self_contained_and_every_image_loads(report: tuple[Path, ValidationResult]) -> None:
    out, res = report
    result = res.to_json()
    index = out / "index.html"
    assert result["report"] == str(index)
    parser = _Collect()
    parser.feed(index.read_text(encoding="utf-8"))
    assert parser.tables >= 3  # gain, comparison, closure
    assert not parser.links  # no scripts, stylesheets or links to fetch
    # time split, accuracy, ratio vs s_ij; weights and closure per channel
    assert len(parser.images) == 3 + 2 * 2
    for src in parser.images:
        assert "://" not in src and not src.startswith("/"), src
        img = mpimg.imread(out / src)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300, (src, img.shape)
        assert float(np.std(img[..., :3])) > 0.02, f"{src} looks blank"
    summary = json.loads((out / "summary.json").read_text())
    for key in ("eps_full", "eps_1", "eps_2", "f_eff", "f_ideal", "closure_min_p"):
        assert summary[key] == pytest.approx(result[key])
    html = index.read_text(encoding="utf-8")
    for process in summary["channels"]:
        assert process in html
    assert "bad (0.5x forward)" in html
    # the page opens with the gain table, then the time split; the method is cited, not a document users lack
    assert html.index("<table") < html.index("time_split.png") < html.index("accuracy.png")
    assert parser.images[0] == "time_split.png"
    assert "SPEC" not in html and "§" not in html
    assert "arXiv:2109.11964" in html and "arXiv:2301.13562" in html
    assert "f_eff = [(t_ME + t_PS)/ε_full] / [(t_surr + t_PS)/(ε_1 ε_2) + t_ME/ε_2]" in html
    # the comparison row of the bad surrogate shows its lower stage-2 efficiency
    for process, row in result["comparisons"]["bad (0.5x forward)"].items():
        assert row["eps_2"] < result["channels"][process]["eps_2"]


@pytest.mark.browser
def test_report_renders_in_headless_chromium(report: tuple[Path, ValidationResult], tmp_path: Path) -> None:
    browser = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if browser is None:
        pytest.skip("chromium not installed (make browser installs Debian's chromium)")
    out, _ = report
    shot = tmp_path / "shot.png"
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,1600",
        (out / "index.html").resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert shot.is_file(), f"chromium wrote no screenshot (rc {proc.returncode}): {proc.stderr[-2000:]}"
    img = mpimg.imread(shot)
    assert img.shape[:2] == (1600, 1200)
    assert float(np.var(img[..., :3])) > 1e-3, "the rendered page is blank"
    # images rendered too: more distinct colours than text on a white page would give
    assert len(np.unique((img[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 200


def test_accuracy_fractions_and_time_split_follow_their_definitions(
    report: tuple[Path, ValidationResult],
) -> None:
    """The accuracy table's fractions within 0.1/1/10% and the time split, recomputed from the summary.

    The fractions themselves (:class:`fame_surrogate.validation.Accuracy`) are tested against a log-normal
    ratio in ``tests/fame_surrogate/validation/test_accuracy.py``."""
    out, res = report
    result = res.to_json()
    html = (out / "index.html").read_text(encoding="utf-8")
    for header in ("within_0.1%", "within_1%", "within_10%"):
        assert header in html
    # a log-normal ratio with sigma 0.01: within 1% is P(|z| < 1) of a Gaussian, within 0.1% P(|z| < 0.1)
    fr = accuracy_row(Accuracy.of_ratio(np.exp(0.01 * np.random.default_rng(0).standard_normal(40000))))
    assert fr["within_1%"] == pytest.approx(0.683, abs=0.01)
    assert fr["within_10%"] == 1.0 and fr["within_0.1%"] == pytest.approx(0.080, abs=0.01)
    # time split per multiplicity: CPU per unweighted event, standard vs two-stage, by phase space,
    # surrogate and exact ME
    channels = result["channels"]
    splits = time_splits([(3 if "_3__" in p else 4, res.channels[p]) for p in channels])
    assert [sp.n_out for sp in splits] == [3, 4]
    for sp, (p, ch) in zip(splits, sorted(channels.items(), key=lambda kv: "_4__" in kv[0]), strict=True):
        assert sp.standard == pytest.approx((ch["t_me_ms"] + ch["t_ps_ms"]) / ch["eps_full"], rel=1e-12)
        two = (ch["t_surr_ms"] + ch["t_ps_ms"]) / (ch["eps_1"] * ch["eps_2"]) + ch["t_me_ms"] / ch["eps_2"]
        assert sp.two_stage == pytest.approx(two, rel=1e-12)
        assert sp.standard / sp.two_stage == pytest.approx(ch["f_eff"], rel=1e-12), p
        assert sp.two_stage_surr == pytest.approx(ch["t_surr_ms"] / (ch["eps_1"] * ch["eps_2"]), rel=1e-12)
