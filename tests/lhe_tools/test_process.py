"""Sherpa process names and canonical order, checked against names written by Sherpa 3.0.3 itself."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from lhe_tools.process import (
    canonical_channel,
    parse_process_name,
    particle_name,
    pdg_from_name,
    process_name,
)

# Names observed in Sherpa 3.0.3 INIT_ONLY runs (Process/Comix.zip) for the given (unsorted) PDG lists.
SHERPA_NAMES = [
    ([2, -1, 11, -11, 2, -1, 1, -1], "2_6__u__db__e-__e+__d__u__db__db"),
    ([2, -1, 11, -11, 13, -13, 15, -15], "2_6__u__db__e-__mu-__tau-__e+__mu+__tau+"),
    ([2, -1, 22, 24, 21, 12, -12], "2_5__u__db__ve__veb__W+__P__G"),
    ([1, -1, 25, 23, 22, -11, 11], "2_5__d__db__e-__e+__h0__Z__P"),
    ([1, -1, 6, -6, 21, 21], "2_4__d__db__t__tb__G__G"),
    ([21, 1, 6, -6, 21, 1], "2_4__G__d__t__tb__G__d"),
    ([2, -1, 11, -11, 2, -1, 2, -2], "2_6__u__db__e-__e+__u__u__db__ub"),
    ([2, 2, 11, -11, 2, 2, 1, -1], "2_6__u__u__e-__e+__d__u__u__db"),
    ([4, 5, 11, -11, 4, 5], "2_4__c__b__e-__e+__c__b"),
    ([5, -4, 11, -11, 5, -4], "2_4__b__cb__e-__e+__b__cb"),
    ([21, -5, 11, -11, 4, -4, -5], "2_5__G__bb__e-__e+__c__cb__bb"),
    ([21, 5, 11, -11, 4, 5, -4], "2_5__G__b__e-__e+__c__b__cb"),
]


@pytest.mark.parametrize(("pdg", "name"), SHERPA_NAMES)
def test_names_match_sherpa_under_any_input_order(pdg: list[int], name: str) -> None:
    rng = random.Random(7)
    for _ in range(5):
        inc, out = pdg[:2], pdg[2:]
        rng.shuffle(inc)
        rng.shuffle(out)
        shuffled = np.array(inc + out)
        got, order = canonical_channel(shuffled, 2)
        assert got == name
        assert order.dtype == np.int64
        assert sorted(order[:2]) == [0, 1]
        assert process_name(shuffled[order], 2) == name
        assert parse_process_name(name) == (tuple(int(x) for x in shuffled[order]), 2)


def test_sherpa_reference_dumps_are_canonical(sherpa_ee: Path) -> None:
    for meta_file in sorted(sherpa_ee.glob("*.meta.json")):
        meta = json.loads(meta_file.read_text())
        incoming, outgoing = meta["process_card"].split("->")
        pdg = [int(x) for x in incoming.split()] + [int(x) for x in outgoing.split()]
        name, _ = canonical_channel(pdg[:2][::-1] + pdg[2:][::-1], 2)
        assert name == meta["process"], meta_file.name
        with np.load(meta_file.with_name(meta_file.name.replace(".meta.json", ".npz"))) as data:
            stored = data["pdg"]
        assert process_name(stored, 2) == meta["process"]
        _, order = canonical_channel(stored, 2)
        np.testing.assert_array_equal(order, np.arange(len(stored)))


def test_particle_names_round_trip_and_errors() -> None:
    expected = {1: "d", -1: "db", 21: "G", 22: "P", -11: "e+", 11: "e-", 12: "ve", -16: "vtaub", -24: "W-"}
    for code, name in expected.items():
        assert particle_name(code) == name
        assert pdg_from_name(name) == code
    with pytest.raises(ValueError, match="2212"):
        particle_name(2212)
    with pytest.raises(ValueError, match="-21"):
        particle_name(-21)
    with pytest.raises(ValueError, match="nearest"):
        pdg_from_name("dbar")
    with pytest.raises(ValueError, match="n_in"):
        canonical_channel([11, -11], 2)
    with pytest.raises(ValueError, match="3 names"):
        parse_process_name("2_2__e-__e+__d")
