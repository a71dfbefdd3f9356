"""The run card's coupling orders follow the process (issue 22): EW = the electroweak vertices of a
tree-level amplitude, QCD = the rest.  Truths: the orders of the processes by counting vertices by hand,
and Sherpa itself (it builds the channel with these orders; it refused ``Order: {QCD: 4, EW: 2}`` for
tt̄ + 2 jets)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lhe_tools.dump import read_dump
from lhe_tools.expand import expand_process, parse_process
from sherpa_plugin.dump import DumpSettings, sherpa_dump
from sherpa_plugin.run_card import build_run_card, coupling_orders


@pytest.mark.parametrize(
    ("process", "orders"),
    [
        # tt̄ + jets, stable tops: only QCD vertices (g g → t t̄ g g: four powers of g_s)
        ("21 21 -> 6 -6 21 21", (4, 0)),
        ("93 93 -> 6 -6 93 93 93", (5, 0)),
        # W + jets: u d̄ → W+ → e+ ν (two EW vertices), each jet one power of g_s
        ("93 93 -> 11 -12 93 93", (2, 2)),
        ("93 93 -> -11 12 93 93 93 93", (4, 2)),
        ("21 2 -> -11 12 21 21 21 1", (4, 2)),
        # Z + jets and e+e- → jets: as the dumper wrote them before
        ("21 2 -> 11 -11 21 21 21 2", (4, 2)),
        ("11 -11 -> 1 -1 21 21 21", (3, 2)),
        # a photon: one EW vertex
        ("2 -2 -> 22 21", (1, 1)),
    ],
)
def test_orders_of_the_issues_processes(process: str, orders: tuple[int, int]) -> None:
    assert coupling_orders(*parse_process(process).largest()) == orders
    qcd, ew = orders
    assert f"Order: {{QCD: {qcd}, EW: {ew}}}" in build_run_card(process, beams=(2212, 2212), sqrt_s=13000.0)


def test_the_groups_process_grammar() -> None:
    # the string `fame groups --process` reads: containers, Sherpa names, CODE{N} (0…N extra jets)
    process = "93 93 -> 11 -11 93{2}"
    assert parse_process(process).largest() == ((93, 93), (11, -11, 93, 93))
    card = build_run_card(process, beams=(2212, 2212), sqrt_s=13000.0, jet_pt=20.0)
    # Sherpa's syntax; the orders count 93{2} as two jets
    assert "- 93 93 -> 11 -11 93{2}:\n    Order: {QCD: 2, EW: 2}\n" in card
    assert "NJetFinder: {N: 2," in card
    assert build_run_card("j j -> e- e+ j{2}", beams=(2212, 2212), sqrt_s=13000.0) == card.replace(
        "93 93 -> 11 -11 93{2} at", "j j -> e- e+ j{2} at"
    ).replace("SELECTORS:\n- NJetFinder: {N: 2, PTMin: 20, ETMin: 0.0, R: 0.4, Exp: -1}\n", "")
    # the top multiplicity's orders are those of its channels (the groups expansion, exact orders)
    top = expand_process("93 93 -> 11 -11 93 93", {"QCD": 2, "EW": 2})
    assert top and expand_process(process, {"QCD": 2, "EW": 2}) == top
    card = build_run_card("11 -11 -> 1 -1 21", beams=(11, -11), sqrt_s=91.2)
    assert "- 11 -11 -> 1 -1 21:\n    Order: {QCD: 1, EW: 2}\n" in card
    with pytest.raises(ValueError, match="expected exactly one '->'"):
        build_run_card("11 -11 1 -1", beams=(11, -11))


def test_unknown_particles_and_explicit_orders() -> None:
    with pytest.raises(ValueError, match=r"PDG id\(s\) \[1000021\]"):
        coupling_orders([21, 21], [1000021, 1000021])
    card = build_run_card("93 93 -> 11 -12 93", beams=(2212, 2212), sqrt_s=13000.0, order_qcd=3, order_ew=0)
    assert "Order: {QCD: 3, EW: 0}" in card


def test_top_card_keeps_tops_stable_and_out_of_the_jets() -> None:
    card = build_run_card("21 21 -> 6 -6 21 21", beams=(2212, 2212), sqrt_s=13000.0, jet_pt=20.0)
    assert "6: {Width: 0}" in card and "N: 2, PTMin: 20" in card  # two jets: the gluons, not the tops
    assert "Width" not in build_run_card("93 93 -> 11 -12 93", beams=(2212, 2212), sqrt_s=13000.0)


@pytest.mark.sherpa
@pytest.mark.parametrize(
    ("process", "channel"),
    [("21 21 -> 6 -6 21 21", "2_4__G__G__t__tb__G__G"), ("2 -1 -> -11 12 21 21", "2_4__u__db__e+__ve__G__G")],
)
def test_sherpa_builds_the_channel_with_these_orders(
    sherpa_python: Path, tmp_path: Path, process: str, channel: str
) -> None:
    settings = DumpSettings(points=0, timing_only=True, timing_points=3)
    res = sherpa_dump(tmp_path / "t", settings, process=process, beams=(2212, 2212), sqrt_s=13000.0,
                      jet_pt=20.0, sherpa_python=sherpa_python).to_json()
    assert set(res["timing"]) == {channel} and res["timing"][channel] > 0


@pytest.mark.sherpa
def test_top_pair_events_are_on_shell_at_the_recorded_mass(sherpa_python: Path, tmp_path: Path) -> None:
    settings = DumpSettings(points=200, chunk=200, integration="fast", seed=3)
    res = sherpa_dump(tmp_path / "tt", settings, process="21 21 -> 6 -6", beams=(2212, 2212),
                      sqrt_s=13000.0, sherpa_python=sherpa_python).to_json()
    (ch,) = res["channels"]
    batch = read_dump(tmp_path / "tt" / ch["file"])
    masses = batch.meta["masses"]
    assert masses["6"]["width"] == 0.0 and masses["-6"]["mass"] == masses["6"]["mass"]
    assert 170.0 < masses["6"]["mass"] < 176.0 and masses["21"]["mass"] == 0.0
    p = batch.momenta[:, 2:]
    m2 = p[..., 0] ** 2 - np.sum(p[..., 1:] ** 2, axis=-1)
    np.testing.assert_allclose(np.sqrt(m2), masses["6"]["mass"], rtol=1e-6)
    assert np.all(batch.me2 > 0)
