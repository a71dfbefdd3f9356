"""The Sherpa 3 run card of ``fame sherpa dump``: coupling orders, the card of a process, card parsing.

:func:`build_run_card` writes the card of one process (fixed scale, ``COLOR_SCHEME: 1``, cuts for hadron
beams); :func:`card_beams` reads beams and √s back from a user's card; :func:`card_for_input` builds the card
of a fame dump's channel (``--momenta``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lhe_tools.expand import parse_process

__all__ = ["HADRONS", "build_run_card", "card_beams", "card_for_input", "coupling_orders"]

log = logging.getLogger("fame.sherpa")

HADRONS = frozenset({2212, -2212})
_STRONG = frozenset({1, 2, 3, 4, 5, 6, 21, 93, 94})
#: electroweak external particles: leptons, neutrinos, γ, Z, W, h, and the lepton / neutrino containers
_ELECTROWEAK = frozenset({11, 12, 13, 14, 15, 16, 22, 23, 24, 25, 90, 91})
#: top quarks: external ones are kept stable (zero width) as in the surrogate papers' tt̄ + jets
_TOP = 6


def coupling_orders(incoming: Sequence[int], outgoing: Sequence[int]) -> tuple[int, int]:
    """The tree-level coupling orders (QCD, EW) of a process, for the run card's ``Order``.

    A tree-level amplitude with n external particles has n − 2 powers of couplings (a four-gluon vertex
    counts as two).  Every external electroweak particle (lepton, neutrino, γ, Z, W, h) attaches through one
    electroweak vertex, so EW = their number: 2 for ℓℓ or ℓν + jets (one boson between the quark line and
    the leptons), 2 for e+e- → jets, 0 for tt̄ + jets; QCD = n − 2 − EW.

    Parameters
    ----------
    incoming, outgoing : sequence of int
        PDG ids; the containers 93/94 (jets) and 90/91 (leptons / neutrinos) are allowed.

    Returns
    -------
    (int, int)
        (QCD, EW) powers of g_s and e in the amplitude.

    Raises
    ------
    ValueError
        A particle neither strong nor electroweak (named), or fewer than three particles.
    """
    ids = [int(p) for p in (*incoming, *outgoing)]
    unknown = sorted({p for p in ids if abs(p) not in _STRONG and abs(p) not in _ELECTROWEAK})
    if unknown:
        raise ValueError(
            f"process {list(incoming)} -> {list(outgoing)}: cannot infer coupling orders for PDG id(s) "
            f"{unknown} (expected quarks, gluons, 93/94, leptons, neutrinos, 90/91, γ, Z, W, h); give the "
            "orders explicitly"
        )
    if len(ids) < 3:
        raise ValueError(f"process {list(incoming)} -> {list(outgoing)}: needs at least three particles")
    ew = sum(abs(p) in _ELECTROWEAK for p in ids)
    return len(ids) - 2 - ew, ew


def build_run_card(
    process: str,
    *,
    beams: Sequence[int] = (11, -11),
    sqrt_s: float = 1000.0,
    mll: tuple[float, float] | None = None,
    jet_pt: float | None = None,
    jet_r: float = 0.4,
    order_qcd: int | None = None,
    order_ew: int | None = None,
    scales: str = "VAR{sqr(91.1876)}",
    alphas: float | None = 0.118,
) -> str:
    """A Sherpa 3 run card for one process, with a fixed scale (so a fixed αs) and ``COLOR_SCHEME: 1``.

    Parameters
    ----------
    process : str
        ``"IN IN -> OUT ..."`` in the grammar of :func:`lhe_tools.expand.parse_process` (PDG ids, containers
        such as 93, Sherpa names such as ``j``, ``CODE{N}`` for 0…N copies), as ``fame groups --process``
        reads it.  The card writes it in Sherpa's syntax; orders and jets count ``CODE{N}`` as N particles
        (the highest multiplicity).
    beams : sequence of int
        Beam PDG ids; 2212 gives hadron beams with Sherpa's default PDF (PDF4LHC21_40_pdfas from the wheel).
    sqrt_s : float
        Collider energy, GeV (symmetric beams).
    mll : (float, float), optional
        Hadron beams: ``[Mass, 11, -11, min, max]`` selector on the e-e+ pair, GeV.
    jet_pt, jet_r : float
        Hadron beams: ``NJetFinder`` with N = number of outgoing light partons (tops excluded), anti-kt
        (``Exp: -1``), pT > jet_pt.
    order_qcd, order_ew : int, optional
        Coupling orders; by default those of :func:`coupling_orders` (EW = the electroweak vertices, QCD =
        the rest of a tree-level amplitude).  With external tops the card sets their width to 0 (stable tops;
        Sherpa's default mass).
    scales : str
        Sherpa ``SCALES``; the default fixes μ_R = μ_F = M_Z, so αs is fixed.
    alphas : float, optional
        ``ALPHAS(MZ)`` for lepton beams (hadron beams take αs from the PDF set unless given).

    Returns
    -------
    str
        The run card (YAML).
    """
    definition = parse_process(process)
    incoming, outgoing = definition.largest()
    qcd, ew = coupling_orders(incoming, outgoing)
    qcd = qcd if order_qcd is None else order_qcd
    ew = ew if order_ew is None else order_ew
    if qcd < 0 or ew < 0:
        raise ValueError(f"process {process!r}: negative coupling order (QCD {qcd}, EW {ew})")
    hadronic = any(b in HADRONS for b in beams)
    lines = [
        f"# fame sherpa dump: {process} at sqrt(s) = {sqrt_s:g} GeV",
        f"BEAMS: [{int(beams[0])}, {int(beams[1])}]",
        f"BEAM_ENERGIES: {sqrt_s / 2:.10g}",
    ]
    if not hadronic:
        lines.append("PDF_LIBRARY: None")
    lines += [
        "ME_GENERATORS: [Comix]",
        "COLOR_SCHEME: 1",
        "HELICITY_SCHEME: 1",
        f"SCALES: {scales}",
    ]
    if alphas is not None and not hadronic:
        lines.append(f"ALPHAS(MZ): {alphas!r}")
    lines += [
        "EW_SCHEME: Gmu",
        "WIDTH_SCHEME: CMS",
        "PROCESSES:",
        f"- {definition.sherpa()}:",
        f"    Order: {{QCD: {qcd}, EW: {ew}}}",
    ]
    if any(abs(p) == _TOP for p in (*incoming, *outgoing)):
        lines += ["PARTICLE_DATA:", f"  {_TOP}: {{Width: 0}}"]
    selectors: list[str] = []
    if mll is not None:
        selectors.append(f"- [Mass, 11, -11, {mll[0]:g}, {mll[1]:g}]")
    if jet_pt is not None:
        n_jets = sum(abs(p) in _STRONG and abs(p) != _TOP for p in outgoing)  # tops are not jets
        selectors.append(
            f"- NJetFinder: {{N: {n_jets}, PTMin: {jet_pt:g}, ETMin: 0.0, R: {jet_r:g}, Exp: -1}}"
        )
    if selectors:
        lines += ["SELECTORS:", *selectors]
    return "\n".join(lines) + "\n"


def card_beams(card: str, where: str) -> tuple[list[int], float]:
    """Beam ids and √s of a run card (``BEAMS``, ``BEAM_ENERGIES``: a number or a pair)."""
    try:
        data = yaml.safe_load(card)
    except yaml.YAMLError as err:
        raise ValueError(f"{where}: not valid YAML ({err})") from None
    if not isinstance(data, dict) or "BEAMS" not in data or "BEAM_ENERGIES" not in data:
        raise ValueError(f"{where}: the run card needs BEAMS and BEAM_ENERGIES")
    beams, energies = data["BEAMS"], data["BEAM_ENERGIES"]
    beams = [int(beams), int(beams)] if isinstance(beams, int) else [int(b) for b in beams]
    energies = [float(energies)] * 2 if isinstance(energies, (int, float)) else [float(e) for e in energies]
    if energies[0] != energies[1]:
        raise ValueError(f"{where}: asymmetric beams {energies} are not supported (c.m. frame assumed)")
    if data.get("COLOR_SCHEME", 1) != 1:
        log.warning("%s: COLOR_SCHEME %s overridden with 1 (MEProcess.MatrixElement() is the full colour sum "
                    "only under COLOR_SCHEME 1)", where, data.get("COLOR_SCHEME"))
    return beams, sum(energies)


def card_for_input(path: Path) -> tuple[str, list[int], float]:
    """A run card that builds the channel of a fame dump (its pdg, √s and beams from the file)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            pdg = [int(p) for p in npz["pdg"]]
            first = np.asarray(npz["momenta"][0], dtype=np.float64)
            meta: Mapping[str, Any] = json.loads(str(npz["meta"][()])) if "meta" in npz.files else {}
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f"{path}: not a readable fame dump ({err})") from None
    n_in = int(meta.get("n_in", 2))
    incoming, outgoing = pdg[:n_in], pdg[n_in:]
    leptonic = all(abs(p) in (11, 13, 15) for p in incoming)
    if leptonic:
        plus = 0 if first[0, 3] > 0 else 1
        beams = [incoming[plus], incoming[1 - plus]]
        sqrt_s = float(meta.get("sqrt_s") or first[0, 0] + first[1, 0])
    else:
        beams = [2212, 2212]
        sqrt_s = float(meta.get("sqrt_s") or 13000.0)
    proc = f"{' '.join(map(str, incoming))} -> {' '.join(map(str, outgoing))}"
    return build_run_card(proc, beams=beams, sqrt_s=sqrt_s), beams, sqrt_s
