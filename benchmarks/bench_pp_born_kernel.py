"""The "Born × kernel" normaliser of issue 16, measured with Sherpa's lower-multiplicity ME at mapped momenta.

The one candidate that ``bench_pp_norm.py`` leaves out: |M|²_n divided by a CS dipole kernel times the
(n−1)-parton Born |M|² at that dipole's mapped momenta (the A_n ≈ A_{n−1}·K idea of arXiv:2512.11036).
For every dipole of :class:`fame_surrogate.dipoles.DipoleBasis` that emits a final-state gluon (the Born then
keeps the flavours: g u → e+e- g g u for g u → e+e- g g g u; the flavour-changing g → q q̄ dipoles are left
out), the events' momenta are mapped with the Catani–Seymour maps (FF, FI, IF, II; physics.md §2.2–2.5), and
Sherpa's own colour-summed |M|² of the Born is evaluated there (``fame sherpa dump``'s eval mode, the same
Sherpa and run-card defaults as the dump).  Candidates, as log10 of |M|² over:

* ``F ΣD``: the dipole model's normaliser (lepton-pair factor × Σ_k |D_k|), for reference;
* ``Σ_k |D_k| B_k``: the spin- and colour-averaged dipole sum with each dipole's own Born;
* ``|D_k*| B_k*``: only the largest of those dipoles (k* = argmax |D_k|);
* ``ΣD B_k*``: the sum of the kernels times the Born of the largest.

Reported for each: the 1–99% spread and σ, raw and after the least-squares fit on the log-invariant features
(the dipole model's linear skip), over all events, the 2% of largest |w|, and in bins of y_min (the smallest
|s_ij|/ŝ of coloured pairs); plus how often the largest |D_k| of all is a gluon emission.

Needs the project's Sherpa Python (``make sherpa-env``).  Prints one JSON object.  Usage::

    .venv/bin/python benchmarks/bench_pp_born_kernel.py [--data z4j_gu_train.npz] [--points 10000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_pp_error_map import coloured_y
from bench_pp_norm import residual, sampled_events, spread

from fame_surrogate.dipoles import Dipole, DipoleBasis, process_dipoles
from fame_surrogate.features import FeatureMap
from fame_surrogate.resonance import LeptonPairPropagator
from lhe_tools import EventBatch, read_dump, write_dump
from lhe_tools.fourvec import mdot
from sherpa_plugin.dump import DumpSettings, sherpa_dump

YMIN_EDGES = (-np.inf, -4.0, -3.0, -2.0, 0.0)


def _scaled(c: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``c[..., None] * p``: a per-event factor (N,) times momenta (N, 4)."""
    return c[:, None] * p


def mapped_momenta(momenta: np.ndarray, d: Dipole) -> np.ndarray:
    """The momenta (N, n, 4) after the Catani–Seymour map of dipole ``d`` (physics.md §2.2–2.5), emitted
    particle still in place (its row then means nothing): the emitter/spectator rows replaced by p̃, and for
    II every other final-state momentum Lorentz-transformed."""
    p = momenta.copy()
    if d.family == "FF":  # emitter i, emitted j, final spectator k
        pi, pj, pk = momenta[:, d.i], momenta[:, d.j], momenta[:, d.k]
        y = mdot(pi, pj) / (mdot(pi, pj) + mdot(pi, pk) + mdot(pj, pk))
        p[:, d.i] = pi + pj - _scaled(y / (1.0 - y), pk)
        p[:, d.k] = _scaled(1.0 / (1.0 - y), pk)
    elif d.family == "FI":  # emitter i, emitted j, incoming spectator a = k
        pi, pj, pa = momenta[:, d.i], momenta[:, d.j], momenta[:, d.k]
        x = (mdot(pi, pa) + mdot(pj, pa) - mdot(pi, pj)) / (mdot(pi, pa) + mdot(pj, pa))
        p[:, d.i] = pi + pj - _scaled(1.0 - x, pa)
        p[:, d.k] = _scaled(x, pa)
    elif d.family == "IF":  # incoming a = i, emitted final j, final spectator k
        pa, pj, pk = momenta[:, d.i], momenta[:, d.j], momenta[:, d.k]
        x = (mdot(pk, pa) + mdot(pj, pa) - mdot(pj, pk)) / (mdot(pk, pa) + mdot(pj, pa))
        p[:, d.i] = _scaled(x, pa)
        p[:, d.k] = pk + pj - _scaled(1.0 - x, pa)
    else:  # II: incoming a = i, emitted final j, incoming spectator b = k
        pa, pj, pb = momenta[:, d.i], momenta[:, d.j], momenta[:, d.k]
        x = (mdot(pa, pb) - mdot(pj, pa) - mdot(pj, pb)) / mdot(pa, pb)
        big_k = pa + pb - pj
        big_kt = _scaled(x, pa) + pb
        both = big_k + big_kt
        for f in range(2, momenta.shape[1]):  # the final-state particles (two incoming)
            if f != d.j:
                q = momenta[:, f]
                p[:, f] = (q - _scaled(2.0 * mdot(q, both) / mdot(both, both), both)
                           + _scaled(2.0 * mdot(q, big_k) / mdot(big_k, big_k), big_kt))
        p[:, d.i] = _scaled(x, pa)
    return p


def gluon_emissions(pdg: list[int], n_in: int) -> tuple[list[int], list[Dipole]]:
    """Indices (into the dipole basis) and dipoles that emit a final-state gluon."""
    _, _, dipoles, _ = process_dipoles(pdg, n_in)
    keep = [k for k, d in enumerate(dipoles) if d.j >= n_in and pdg[d.j] == 21]
    return keep, [dipoles[k] for k in keep]


def sherpa_born(momenta: np.ndarray, pdg: list[int], meta: dict[str, Any]) -> np.ndarray:
    """Sherpa's |M|² (N,) of the process ``pdg`` at ``momenta`` (N, n, 4) (``fame sherpa dump`` eval mode)."""
    process = "_".join(map(str, pdg))
    with tempfile.TemporaryDirectory(prefix="born_kernel_") as tmp:
        batch = EventBatch(momenta, np.asarray(pdg), np.ones(len(momenta)), process,
                           meta={"n_in": 2, "sqrt_s": meta.get("sqrt_s", 13000.0)})
        src = write_dump(Path(tmp) / "born.npz", batch)
        res = sherpa_dump(Path(tmp) / "out", DumpSettings(points=len(momenta)), input_dump=src).to_json()
        out = read_dump(Path(tmp) / "out" / res["channels"][0]["file"])
    assert out.me2 is not None
    return np.asarray(out.me2, dtype=np.float64)


def describe(y: np.ndarray, fitted: np.ndarray, groups: dict[str, np.ndarray]) -> dict[str, Any]:
    """Spread (decades, 1–99%) and σ of ``y`` raw and after the linear fit, over each group of events."""
    out: dict[str, Any] = {}
    for name, m in groups.items():
        if m.sum() < 2:
            continue
        out[name] = {"n": int(m.sum()), "raw": spread(y[m]), "raw_sigma": float(y[m].std()),
                     "linfit": spread(fitted[m]), "linfit_sigma": float(fitted[m].std())}
    return out


def main() -> None:
    args, batch, pick = sampled_events("bench_pp_born_kernel", __doc__, 10000)
    assert batch.me2 is not None
    n_in = int(batch.n_in)
    pdg = [int(x) for x in batch.pdg]
    mom = np.ascontiguousarray(batch.momenta[pick], dtype=np.float64)
    me2 = np.asarray(batch.me2[pick], dtype=np.float64)
    weight = np.abs(np.asarray(batch.weight[pick], dtype=np.float64))

    keep, dipoles = gluon_emissions(pdg, n_in)
    if not keep:
        raise SystemExit("bench_pp_born_kernel: the process has no dipole that emits a final-state gluon")
    born_pdg = pdg[: dipoles[0].j] + pdg[dipoles[0].j + 1 :]  # any emitted gluon: the same flavours
    borns = []
    for d in dipoles:
        mapped = mapped_momenta(mom, d)
        borns.append(np.delete(mapped, d.j, axis=1))
    born_me2 = sherpa_born(np.concatenate(borns), born_pdg, batch.meta).reshape(len(keep), -1).T

    t = torch.from_numpy(mom)
    with torch.no_grad():
        basis = DipoleBasis(pdg, n_in)
        dip = basis(t)[:, : basis.n_dipoles].abs().numpy()
        prop = LeptonPairPropagator(pdg, n_in)(t).numpy()
        fmap = FeatureMap(pdg, n_in)
        logs = fmap(t).numpy()[:, fmap.log_columns]
    emit = dip[:, keep]
    top = emit.argmax(1)
    rows = np.arange(len(me2))
    candidates = {
        "me2/(F*sumD)": np.log10(me2 / (prop * dip.sum(1))),
        "me2/sum_k(D_k*B_k)": np.log10(me2 / (emit * born_me2).sum(1)),
        "me2/(D_top*B_top)": np.log10(me2 / (emit[rows, top] * born_me2[rows, top])),
        "me2/(sumD*B_top)": np.log10(me2 / (dip.sum(1) * born_me2[rows, top])),
    }
    log_ymin = np.log10(coloured_y(mom, pdg)[0].min(1))
    groups = {"all": np.ones(len(me2), bool)}
    heavy = np.zeros(len(me2), bool)
    heavy[np.argsort(-weight)[: max(len(me2) // 50, 2)]] = True
    groups["heavy_2pct"] = heavy
    for lo, hi in itertools.pairwise(YMIN_EDGES):
        groups[f"log10_ymin_{lo:g}_{hi:g}"] = (log_ymin >= lo) & (log_ymin < hi)
    out: dict[str, Any] = {
        "data": str(args.data), "process": batch.process, "points": len(me2), "born_pdg": born_pdg,
        "dipoles": len(dip[0]), "gluon_emission_dipoles": len(keep),
        "largest_dipole_is_a_gluon_emission": float(np.isin(dip.argmax(1), keep).mean()),
        "decades": {name: describe(y, residual(y, logs), groups) for name, y in candidates.items()},
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
