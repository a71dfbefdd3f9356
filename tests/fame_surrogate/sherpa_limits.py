"""Test helper: IS and FI dipole kernels against Sherpa 3.0.3 (Comix) |M|² in their collinear limits.

The analytic oracles of physics.md §1.6 cover q→qg (FF, FI, IF, II) and g→q (II), the built-in e+e- MEs cover
g→gg and g→qq̄ (FF); this checks the remaining kernels of ``fame_surrogate.dipoles`` with Sherpa's exact
pp → e+e- + 2 partons matrix elements (MEProcess: colour- and spin-averaged, 1/n! for identical partons):

* IS g → g g (II + IF, x = 0.6): g u → e- e+ g u with the final g ∥ incoming g, Born g u → e- e+ u;
* IS q → g + q (II + IF, x = 0.6): u ū → e- e+ u ū with the final u ∥ incoming u, Born g ū → e- e+ ū;
* FI g → g g and g → d d̄ (z = 0.35): u ū → e- e+ g g / d d̄ with the pair collinear, Born u ū → e- e+ g.

Each limit point (collinear parameter 1e-8) is built with the inverse CS maps of ``cs_kinematics`` at eight
azimuths; the approximation is Σ_k (−T_k·T_ij/T_ij²) D_k |M_B|²(p̃_k) with the exact insertions 1/2, 1/2 of
the 3-parton Borns.  Sherpa runs in its own interpreter and builds the 7 channels without integrating them
(``INIT_ONLY: 2``, a few seconds).
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cs_kinematics import (
    F8,
    boost_z,
    dot,
    fi_forward,
    fi_inverse,
    if_forward,
    ii_forward,
    ii_inverse,
    transverse_basis,
)

from fame_surrogate.dipoles import DipoleBasis
from fame_surrogate.phasespace import rambo

ALPHA_S = 0.118  # α_s(M_Z) of Sherpa's default PDF set, at the fixed scale μ_R = M_Z below
PHIS = np.arange(8) * math.pi / 4 + 0.2
LAM = 1e-8

SHERPA_SIDE = r"""
import json, os, sys
import numpy as np
import Sherpa
inp, out, workdir, head = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
data = np.load(inp)
names = sorted({k.split("_", 1)[1] for k in data.files})
os.makedirs(workdir, exist_ok=True)
procs = []
for n in names:
    pdg = [int(v) for v in data["pdg_" + n]]
    ew = sum(1 for p in pdg if 11 <= abs(p) <= 16)  # one EW vertex per external lepton; QCD: the rest
    line = "- %d %d -> %s:" % (pdg[0], pdg[1], " ".join(map(str, pdg[2:])))
    procs.append(line + "\n    Order: {QCD: %d, EW: %d}" % (len(pdg) - 2 - ew, ew))
card = "\n".join([*head, "PROCESSES:", *procs]) + "\n"
open(os.path.join(workdir, "Sherpa.yaml"), "w").write(card)
os.chdir(workdir)
argv = ["Sherpa", "INIT_ONLY: 2"]  # build the processes, skip the integration
gen = Sherpa.Sherpa(len(argv), argv)
gen.InitializeTheRun()
res = {}
for n in names:
    pdg = [int(v) for v in data["pdg_" + n]]
    proc = Sherpa.MEProcess(gen)
    proc.AddInFlav(pdg[0])
    proc.AddInFlav(pdg[1])
    for f in pdg[2:]:
        proc.AddOutFlav(f)
    proc.Initialize()
    vals = []
    for row in data["mom_" + n].tolist():
        proc.SetMomenta(row)
        vals.append(proc.MatrixElement())
    res["me_" + n] = np.array(vals)
np.savez(out, **res)
"""

#: the run card of the massless limits: pp at 13 TeV, fixed μ_R = M_Z, Gμ / complex-mass EW inputs
PP_CARD = ["BEAMS: [2212, 2212]", "BEAM_ENERGIES: 6500", "ME_GENERATORS: [Comix]", "COLOR_SCHEME: 1",
           "HELICITY_SCHEME: 1", "SCALES: VAR{sqr(91.1876)}", "EW_SCHEME: Gmu", "WIDTH_SCHEME: CMS"]


def sherpa_me2(
    sherpa_python: Path, workdir: Path, points: dict[str, tuple[list[int], Any]], card: list[str],
    timeout: float = 900.0,
) -> dict[str, np.ndarray]:
    """Sherpa's colour-summed |M|² (MEProcess, one Sherpa run) at ``points[name] = (pdg, momenta (N, n, 4))``.

    ``card`` is the run card above ``PROCESSES``; each process's coupling order is one EW power per external
    lepton and QCD for the rest.  Returns ``{name: |M|² (N,) float64}``.
    """
    arrays: dict[str, Any] = {}
    for name, (pdg, mom) in points.items():
        arrays[f"pdg_{name}"], arrays[f"mom_{name}"] = np.array(pdg), np.array(mom)
    inp, out = workdir / "in.npz", workdir / "out.npz"
    np.savez(inp, **arrays)
    (workdir / "side.py").write_text(SHERPA_SIDE, encoding="utf-8")
    run = subprocess.run(
        [str(sherpa_python), str(workdir / "side.py"), str(inp), str(out), str(workdir / "run"),
         json.dumps(card)],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if run.returncode != 0:
        raise RuntimeError(
            f"Sherpa MEProcess evaluation failed (exit {run.returncode}): {run.stderr[-2000:]}"
        )
    with np.load(out) as res:
        return {name: res[f"me_{name}"] for name in points}


def _born_point(seed: int) -> list[F8]:
    """Resolved Born point for 2 → e- e+ parton (√ŝ = 300 GeV, parton p_T > 40 GeV), boosted by y = 0.3."""
    rng = np.random.default_rng(seed)
    while True:
        fin = rambo(3, 300.0, 1, rng)[0]
        if math.hypot(fin[2, 1], fin[2, 2]) > 40.0 and 2.0 * dot(fin[0], fin[1]) > 50.0**2:
            break
    beams = [np.array([150.0, 0.0, 0.0, 150.0]), np.array([150.0, 0.0, 0.0, -150.0])]
    return [boost_z(p, 0.3) for p in (*beams, *fin)]


def _columns(pdg: list[int], mom: list[F8]) -> dict[str, float]:
    basis = DipoleBasis(pdg, alpha_s=ALPHA_S)
    values = basis(torch.from_numpy(np.array([mom])))[0].tolist()
    return dict(zip(basis.names, values, strict=True))


def _case_initial(pdg: list[int], born_pdg: list[int], kind: str, seed: int) -> dict[str, Any]:
    """Final parton 4 ∥ incoming 0 (x = 0.6): II (spectator 1) and IF (spectator 5), insertions 1/2, 1/2."""
    a, b, l1, l2, q = _born_point(seed)
    basis_t = transverse_basis(a, b, np.random.default_rng(seed + 100))
    reals, borns, terms, phis = [], [], [], []
    for phi in PHIS:
        pa, pi, (m1, m2, mq) = ii_inverse(a, b, [l1, l2, q], 0.6, LAM, phi, basis_t)
        col = _columns(pdg, [pa, b, m1, m2, pi, mq])
        pai, others = ii_forward(pa, pi, b, [m1, m2, mq])
        pai2, pk = if_forward(pa, pi, mq)
        reals.append([pa, b, m1, m2, pi, mq])
        borns += [[pai, b, *others], [pai2, b, m1, m2, pk]]
        terms.append([0.5 * col[f"II_{kind}(0,4;1)"], 0.5 * col[f"IF_{kind}(0,4;5)"]])
        s = 2.0 * dot(pa, pi)
        phis.append([col[f"cos2phi_{kind}(0,4)"] * s, col[f"sin2phi_{kind}(0,4)"] * s])
    return {
        "real_pdg": pdg,
        "born_pdg": born_pdg,
        "reals": reals,
        "borns": borns,
        "terms": terms,
        "phis": phis,
        "sym": 1.0,
    }


def _case_final(pdg: list[int], kind: str, sym: float, seed: int) -> dict[str, Any]:
    """Final pair (4, 5) collinear (z = 0.35) with both incoming spectators (FI), insertions 1/2, 1/2."""
    a, b, l1, l2, g = _born_point(seed)
    basis_t = transverse_basis(g, a, np.random.default_rng(seed + 100))
    reals, borns, terms, phis = [], [], [], []
    for phi in PHIS:
        pi, pj, pa = fi_inverse(g, a, 1.0 - LAM, 0.35, phi, basis_t)
        col = _columns(pdg, [pa, b, l1, l2, pi, pj])
        t1 = fi_forward(pi, pj, pa)
        t2 = fi_forward(pi, pj, b)
        reals.append([pa, b, l1, l2, pi, pj])
        borns += [[t1[1], b, l1, l2, t1[0]], [pa, t2[1], l1, l2, t2[0]]]
        terms.append([0.5 * col[f"FI_{kind}(4,5;0)"], 0.5 * col[f"FI_{kind}(4,5;1)"]])
        s = 2.0 * dot(pi, pj)
        phis.append([col[f"cos2phi_{kind}(4,5)"] * s, col[f"sin2phi_{kind}(4,5)"] * s])
    return {
        "real_pdg": pdg,
        "born_pdg": [2, -2, 11, -11, 21],
        "reals": reals,
        "borns": borns,
        "terms": terms,
        "phis": phis,
        "sym": sym,
    }


def sherpa_limit_ratios(sherpa_python: Path, workdir: Path) -> dict[str, dict[str, Any]]:
    """Per case: φ-mean of |M|²/approx (→ 1), range of the spin-averaged ratio, max residual of a fit
    ratio ≈ c0 + c1 cos2φ + c2 sin2φ in the basis's own φ columns (→ 0)."""
    cases = {
        "IS g->gg": _case_initial([21, 2, 11, -11, 21, 2], [21, 2, 11, -11, 2], "gg", 1),
        "IS q->g+q": _case_initial([2, -2, 11, -11, 2, -2], [21, -2, 11, -11, -2], "qq", 2),
        "FI g->gg": _case_final([2, -2, 11, -11, 21, 21], "gg", 2.0, 4),
        "FI g->ddbar": _case_final([2, -2, 11, -11, 1, -1], "qqbar", 1.0, 5),
    }
    points: dict[str, tuple[list[int], Any]] = {}
    for idx, c in enumerate(cases.values()):
        points[f"r{idx}"] = (c["real_pdg"], c["reals"])
        points[f"b{idx}"] = (c["born_pdg"], c["borns"])
    res = sherpa_me2(sherpa_python, workdir, points, PP_CARD, timeout=600)
    report: dict[str, dict[str, Any]] = {}
    for idx, (name, c) in enumerate(cases.items()):
        real = c["sym"] * res[f"r{idx}"]
        born = res[f"b{idx}"].reshape(-1, 2)
        ratio = real / np.sum(np.array(c["terms"]) * born, axis=1)
        ph = np.array(c["phis"])
        design = np.stack([np.ones(len(ratio)), ph[:, 0], ph[:, 1]], 1)
        coef, *_ = np.linalg.lstsq(design, ratio, rcond=None)
        report[name] = {
            "phi_mean_ratio": float(ratio.mean()),
            "spin_avg_ratio_range": [float(ratio.min()), float(ratio.max())],
            "phi_fit_max_residual": float(np.max(np.abs(design @ coef - ratio))),
        }
    return report
