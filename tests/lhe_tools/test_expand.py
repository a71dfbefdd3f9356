"""Process-definition expansion and grouping: hand counts, and Sherpa 3.0.3 itself (INIT_ONLY runs)."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from lhe_tools.expand import amplitude_exists, expand_groups, expand_process, parse_process
from lhe_tools.process import process_name


def test_parse_process_syntax() -> None:
    d = parse_process("93 93 -> 11 -11 93{3}")
    assert d.incoming == (93, 93)
    assert d.outgoing == ((11, 1, 1), (-11, 1, 1), (93, 0, 3))
    assert parse_process("j j -> e- e+ j") == parse_process("93 93 -> 11 -11 93")
    assert d.largest() == ((93, 93), (11, -11, 93, 93, 93))
    assert parse_process("j j -> e- e+ j{3}").sherpa() == "93 93 -> 11 -11 93{3}"
    assert parse_process(d.sherpa()) == d
    for bad in ("93 93 11 -11", "93 93 -> 11 -11 93{x}", "93 93 -> foo", "-> 11", "1 2 3 -> 11"):
        with pytest.raises(ValueError, match="process"):
            parse_process(bad)


@pytest.mark.parametrize(
    ("pdg", "qcd", "ew", "exists"),
    [
        ((1, -1, 11, -11), 0, 2, True),
        ((21, 21, 11, -11), 0, 2, False),  # no gamma/Z coupling to gluons
        ((21, 21, 11, -11, 21), 1, 2, False),
        ((1, -1, 11, -11, 21), 1, 2, True),
        ((1, -1, 11, -11, 21), 2, 2, False),  # tree level: QCD + EW = n - 2
        ((2, -1, -11, 12), 0, 2, True),  # W+
        ((2, -1, -11, 12), None, None, True),
        ((2, -3, -11, 12), 0, 2, False),  # diagonal CKM
        ((1, -1, 2, -2), 2, 0, True),
        ((1, -1, 2, -2), 0, 2, True),  # s-channel gamma/Z, t-channel W
        ((1, -1, 3, -3), 0, 2, True),
        ((1, -1, 13, -11), 0, 2, False),
        ((21, 21, 6, -6, 25), 2, 1, True),  # Higgs radiated off the top
        ((21, 21, 1, -1, 25), 2, 1, False),  # no Yukawa for massless quarks
    ],
)
def test_amplitude_existence(pdg: tuple[int, ...], qcd: int | None, ew: int | None, exists: bool) -> None:
    assert amplitude_exists(pdg, 2, qcd, ew) is exists


def test_hand_counted_z_plus_jets() -> None:
    # 5 massless flavours: q qbar -> Z (5); q qbar -> Z g, g q -> Z q, g qbar -> Z qbar (15)
    order = {"QCD": "Any", "EW": 2}
    names = [process_name(p, n) for p, n in expand_process("93 93 -> 11 -11 93{1}", order)]
    assert len(names) == 20 == len(set(names))
    assert sum(n.startswith("2_2__") for n in names) == 5
    assert "2_3__G__d__e-__e+__d" in names and "2_3__d__db__e-__e+__G" in names
    assert "2_3__d__G__e-__e+__d" not in names
    channels, groups = expand_groups("93 93 -> 11 -11 93{1}", order)
    assert len(channels) == 20 and len(groups) == 2 + 6
    # e+e- -> 3 jets: every flavour, one group per quark type
    _, groups = expand_groups("11 -11 -> 93 93 93", {"QCD": 1, "EW": 2})
    assert [g.name for g in groups] == ["2_3__e-__e+__G__d__db", "2_3__e-__e+__G__u__ub"]
    assert [len(g.members) for g in groups] == [3, 2]


#: process blocks of the Sherpa run: Z+0..2 jets, W+0..1 jets (all lepton flavours), pp -> 2 jets
SHERPA_BLOCKS = (
    ("93 93 -> 11 -11 93{2}", {"QCD": "Any", "EW": 2}),
    ("93 93 -> 90 91 93{1}", {"QCD": "Any", "EW": 2}),
    ("93 93 -> 93 93", {"QCD": 2, "EW": 0}),
)


def _sherpa_maps(python: Path, tmp: Path) -> dict[str, str]:
    """Run Sherpa with INIT_ONLY and return {channel: Comix map target} from Process/Comix.zip."""
    site = subprocess.run(
        [str(python), "-c", "import os, Sherpa; print(os.path.dirname(os.path.abspath(Sherpa.__file__)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
    blocks = "".join(
        f"- {proc}:\n    Order: {{QCD: {order['QCD']}, EW: {order['EW']}}}\n" for proc, order in SHERPA_BLOCKS
    )
    card = f"""BEAMS: 2212
BEAM_ENERGIES: 6500
ME_GENERATORS: [Comix]
SHOWER_GENERATOR: None
FRAGMENTATION: None
MI_HANDLER: None
INIT_ONLY: 1
SCALES: VAR{{sqr(91.1876)}}
PROCESSES:
{blocks}"""
    (tmp / "Sherpa.yaml").write_text(card)
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = f"{site}/lib64/SHERPA-MC:" + env.get("LD_LIBRARY_PATH", "")
    env["LHAPDF_DATA_PATH"] = f"{site}/share/SHERPA-MC/LHAPDF"
    run = subprocess.run(
        [f"{site}/bin/Sherpa"], cwd=tmp, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    archive = tmp / "Process" / "Comix.zip"
    assert run.returncode == 0 and archive.is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    maps: dict[str, str] = {}
    with zipfile.ZipFile(archive) as z:
        for member in z.namelist():
            this, target = z.read(member).decode().splitlines()[0].split()[:2]
            if target != "x":  # 'x' lines list vanishing channels of a container group
                maps[this] = target
    return maps


@pytest.mark.sherpa
def test_channels_and_groups_equal_sherpa(sherpa_python: Path, tmp_path: Path) -> None:
    maps = _sherpa_maps(sherpa_python, tmp_path)
    ours: dict[str, str] = {}
    for proc, order in SHERPA_BLOCKS:
        _, groups = expand_groups(proc, order)
        ours.update({m.process: g.name for g in groups for m in g.members})
    assert len(maps) == 5 + 15 + 95 + 12 + 36 + 96
    assert set(ours) == set(maps)  # exactly the channels Sherpa builds
    assert ours == maps  # same partition and the same representative (Comix's map target) for every channel


def test_custom_container() -> None:
    # PARTICLE_CONTAINERS-style d-only jets: d db -> Z g, g d -> Z d, g db -> Z db
    names = {
        process_name(p, n)
        for p, n in expand_process("900 900 -> 11 -11 900", {"EW": 2}, containers={900: [1, -1, 21]})
    }
    assert names == {"2_3__d__db__e-__e+__G", "2_3__G__d__e-__e+__d", "2_3__G__db__e-__e+__db"}
