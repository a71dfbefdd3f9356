"""sherpa-snippet.yaml: parses as YAML, Sherpa 3 key spellings only, every member mapped; vanilla Sherpa
3.0.3 accepts it and reports exactly the MLHANDLER block as unused."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from sherpa_plugin.sherpa_env import probe_sherpa
from sherpa_plugin.snippet import (
    CONTRACT,
    SnippetSettings,
    make_snippet,
    settings_from_meta,
    settings_from_run_card,
)

MEMBERS = {
    "2_3__e-__e+__G__d__db": "models/2_3__e-__e+__G__d__db.onnx",
    "2_3__e-__e+__G__s__sb": "models/2_3__e-__e+__G__d__db.onnx",
    "2_3__e-__e+__G__u__ub": "models/2_3__e-__e+__G__u__ub.onnx",
}


def test_snippet_parses_and_maps_every_member() -> None:
    text = make_snippet(MEMBERS, SnippetSettings(scales="VAR{sqr(91.1876)}", alphas=0.118))
    data = yaml.safe_load(text)
    assert data["EVENT_GENERATION_MODE"] == "PartiallyUnweighted"
    assert data["COLOR_SCHEME"] == 1
    assert data["SCALES"] == "VAR{sqr(91.1876)}"
    assert data["ALPHAS(MZ)"] == 0.118
    assert data["MLHANDLER"]["CONTRACT"] == CONTRACT
    assert data["MLHANDLER"]["MODELS"] == MEMBERS
    assert set(data) == {"EVENT_GENERATION_MODE", "COLOR_SCHEME", "SCALES", "ALPHAS(MZ)", "MLHANDLER"}
    # Sherpa 3 spellings: underscores, never the dotted or Sherpa-2.2 forms
    assert "EVENT.GENERATION" not in text and "COLOUR_SCHEME" not in text
    comments = " ".join(ln for ln in text.splitlines() if ln.startswith("#"))
    assert "surrogate-enabled" in comments and "unused" in comments


def test_optional_keys_and_comment() -> None:
    text = make_snippet(MEMBERS, SnippetSettings(color_scheme=2), comment="line one\nline two")
    data = yaml.safe_load(text)
    assert data["COLOR_SCHEME"] == 2
    assert "SCALES" not in data and "ALPHAS(MZ)" not in data
    assert text.startswith("# line one\n# line two\n")


def test_stage1_temper_block_maps_the_members_given() -> None:
    temper = {"2_3__e-__e+__G__d__db": 0.75, "2_3__e-__e+__G__s__sb": 0.75}
    data = yaml.safe_load(make_snippet(MEMBERS, temper=temper))
    assert data["MLHANDLER"]["STAGE1_TEMPER"] == temper  # the u group has none: stage 1 on s itself
    assert data["MLHANDLER"]["MODELS"] == MEMBERS
    assert "STAGE1_TEMPER" not in yaml.safe_load(make_snippet(MEMBERS, temper={}))["MLHANDLER"]


@pytest.mark.parametrize(
    ("temper", "match"),
    [
        ({"2_3__e-__e+__G__c__cb": 0.8}, "not a member"),
        ({"2_3__e-__e+__G__d__db": 0.0}, "0 < beta <= 1"),
        ({"2_3__e-__e+__G__d__db": 1.5}, "0 < beta <= 1"),
        ({"2_3__e-__e+__G__d__db": float("nan")}, "0 < beta <= 1"),
    ],
)
def test_bad_temper_is_refused(temper: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_snippet(MEMBERS, temper=temper)


@pytest.mark.parametrize(
    ("members", "match"),
    [
        ({}, "at least one"),
        ({"ee_3j": "models/a.onnx"}, "not a Sherpa process name"),
        ({"2_3__e-__e+__G__d__db": "models/a.pt"}, r"\.onnx"),
    ],
)
def test_bad_members_are_refused(members: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_snippet(members)


def test_vanilla_sherpa_reports_only_mlhandler_unused(sherpa_python: Path, tmp_path: Path) -> None:
    install = probe_sherpa(sherpa_python)
    exe = install.site / "bin" / "Sherpa"
    if not exe.is_file():
        pytest.skip(f"no Sherpa executable at {exe}")
    card = (
        "BEAMS: [11, -11]\nBEAM_ENERGIES: 500\nPDF_LIBRARY: None\nEVENTS: 0\nME_GENERATORS: [Comix]\n"
        "SHOWER_GENERATOR: None\nFRAGMENTATION: None\nBEAM_REMNANTS: false\n"
        "PSI: {ITMIN: 1000, NOPT: 1, MAXOPT: 1}\n"
        "PROCESSES:\n- 11 -11 -> 1 -1:\n    Order: {QCD: 0, EW: 2}\n"
    )
    snippet = make_snippet({"2_2__e-__e+__d__db": "models/2_2__e-__e+__d__db.onnx"},
                           SnippetSettings(scales="VAR{sqr(91.1876)}", alphas=0.118),
                           temper={"2_2__e-__e+__d__db": 0.75})
    (tmp_path / "Sherpa.yaml").write_text(card + snippet)
    res = subprocess.run([str(exe)], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
                         errors="replace")
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", res.stdout + res.stderr)
    assert res.returncode == 0, out[-2000:]
    unused = re.search(r"- Sherpa\.yaml: ([^\n]*)", out)
    assert unused is not None, out[-2000:]
    assert unused.group(1).split() == ["MLHANDLER"]


def test_settings_from_a_reference_run_card(sherpa_ee: Path) -> None:
    import json

    card = json.loads((sherpa_ee / "ee_3j_ycut0.01.meta.json").read_text())["run_card"]
    settings = settings_from_run_card(card)
    assert settings == SnippetSettings(scales="VAR{sqr(91.1876)}", alphas=0.118)
    data = yaml.safe_load(make_snippet(MEMBERS, settings))
    assert data["SCALES"] == "VAR{sqr(91.1876)}" and data["ALPHAS(MZ)"] == 0.118
    assert settings_from_run_card("- not a mapping") == SnippetSettings()


def test_settings_from_meta_and_their_common_part() -> None:
    card = "SCALES: VAR{sqr(91.1876)}\nALPHAS(MZ): 0.118\n"
    assert settings_from_meta({"color_scheme": 2, "run_card": card, "alpha_s": 0.2}) == SnippetSettings(
        color_scheme=2, scales="VAR{sqr(91.1876)}", alphas=0.118
    )
    # the built-in generator records alpha_s and no run card; COLOR_SCHEME defaults to the colour sum
    assert settings_from_meta({"alpha_s": 0.12}) == SnippetSettings(color_scheme=1, alphas=0.12)
    assert settings_from_meta({}) == SnippetSettings()
    # a setting some dumps leave open (None) is taken from the others; one they disagree on is left out
    a = SnippetSettings(color_scheme=1, scales="VAR{8315.}", alphas=0.118)
    b = SnippetSettings(color_scheme=1, alphas=0.12)
    common, mixed = SnippetSettings.common([a, b])
    assert common == SnippetSettings(color_scheme=1, scales="VAR{8315.}")
    assert mixed == {"alphas": ["0.118", "0.12"]}
    assert SnippetSettings.common([]) == (SnippetSettings(), {})
    assert SnippetSettings.common([SnippetSettings(color_scheme=2), a])[0] == SnippetSettings(
        scales="VAR{8315.}", alphas=0.118
    )
