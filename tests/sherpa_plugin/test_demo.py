"""``fame demo`` end to end at a small size: every stage runs and the two-stage result is unbiased."""

from __future__ import annotations

import json
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fame_surrogate.train import TrainConfig
from sherpa_plugin.bundle import Bundle
from sherpa_plugin.demo import DemoConfig, run_demo


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.src: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.src += [v for k, v in attrs if k == "src" and v]


@pytest.mark.slow
def test_small_demo_runs_every_stage_and_closes(tmp_path: Path) -> None:
    config = DemoConfig(
        jets=(3,),
        train_points=1500,
        validate_points=20000,
        workers=1,
        train=TrainConfig(epochs=15, max_seconds=20.0, threads=1),
    )
    result = run_demo(tmp_path, replace(config, seed=3))
    report = Path(result["report"])
    assert report.is_file()
    parser = _Images()
    parser.feed(report.read_text())
    assert parser.src and all((report.parent / s).is_file() for s in parser.src)
    # the bundle it wrote loads (sha256 + contract verified) and covers the generated channel
    bundle = Bundle.load(result["bundle"])
    assert bundle.covers("2_3__e-__e+__G__d__db")
    summary = json.loads((report.parent / "summary.json").read_text())
    # unbiased: the two-stage cross section agrees with the exact weighted one within its MC error
    channel = summary["channels"]["2_3__e-__e+__G__d__db"]
    assert abs(channel["sigma_pull"]) < 4.0
    assert 0.0 < result["eps_2"] <= 1.0 + 1e-9 and result["f_eff"] > 0.0
    assert result["closure_min_p"] > 1e-4
