"""How many decades must a pp surrogate learn?  The 1–99% log10 spread of candidate normalised targets.

Issue 16, "measure first": on a Sherpa pp dump (default: the shared g u → e+e- g g g u training set) this
prints, for each candidate normaliser N(p), the spread q99 − q1 of log10(|M|²/N) over the events, and the
same after a least-squares fit of that logarithm on a power of the hardness H_T (``*_ht``) and on all the
log-invariant features of the surrogate (``*_linfit``, the residual of the linear skip of
:class:`fame_surrogate.models.DipoleModel`).  Candidates:

* ``me2``: |M|² itself;
* ``me2/F``: divided by the lepton-pair factor F(m_ll²)
  (:class:`fame_surrogate.resonance.LeptonPairPropagator`, which includes the 1/m_ll² of the lepton tensor);
* ``me2/(F ΣD)``: also divided by Σ_k |D_k| of the Catani–Seymour dipoles (the dipole model's normaliser);
* ``me2/(F A)``: divided by an antenna chain, Σ over orderings of the gluons between the quark ends of
  Π 1/|s_ab| over adjacent pairs (all-outgoing, incoming partons crossed);

The "Born × kernel" form (a lower-multiplicity ME at mapped momenta, which needs Sherpa inside the loop) is
measured by ``bench_pp_born_kernel.py``.

Prints one JSON object.  Usage::

    .venv/bin/python benchmarks/bench_pp_norm.py [--data PATH.npz] [--points 50000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from pathlib import Path

import numpy as np
import torch

from fame_surrogate.dipoles import DipoleBasis, is_coloured, is_quark
from fame_surrogate.features import FeatureMap
from fame_surrogate.resonance import LeptonPairPropagator
from lhe_tools import EventBatch, read_dump
from lhe_tools.fourvec import mdot

SHARED = Path(os.environ.get("FAME_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DEFAULT = SHARED / "data" / "sherpa-pp" / "z4j_gu_train.npz"


def spread(values: np.ndarray) -> float:
    """q99 − q1 of ``values`` (decades when ``values`` are log10)."""
    lo, hi = np.percentile(values, [1.0, 99.0])
    return float(hi - lo)


def residual(y: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``y`` minus its least-squares fit on ``cols`` (N, k) plus a constant."""
    design = np.column_stack([cols, np.ones(len(y))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return np.asarray(y - design @ coef)


def antenna(momenta: np.ndarray, pdg: list[int], n_in: int) -> np.ndarray:
    """Σ over gluon orderings between the two quark ends of Π 1/|s_ab| over adjacent pairs (N,)."""
    signs = np.array([-1.0] * n_in + [1.0] * (len(pdg) - n_in))
    p = momenta * signs[None, :, None]
    flav = [(-f if (k < n_in and is_quark(f)) else f) for k, f in enumerate(pdg)]
    quarks = [k for k, f in enumerate(flav) if is_quark(f)]
    gluons = [k for k, f in enumerate(flav) if f == 21]
    if len(quarks) != 2 or not all(is_coloured(f) for f in (flav[quarks[0]], flav[quarks[1]])):
        raise SystemExit("bench_pp_norm: the antenna chain needs exactly one quark line")
    q, qb = (quarks[0], quarks[1]) if flav[quarks[0]] > 0 else (quarks[1], quarks[0])

    def s(a: int, b: int) -> np.ndarray:
        pa, pb = p[:, a], p[:, b]
        return np.abs(2.0 * mdot(pa, pb))

    total = np.zeros(len(momenta))
    for order in itertools.permutations(gluons):
        chain = [q, *order, qb]
        prod = np.ones(len(momenta))
        for a, b in itertools.pairwise(chain):
            prod = prod / s(a, b)
        total += prod
    return total


def sampled_events(
    name: str, doc: str, points: int
) -> tuple[argparse.Namespace, EventBatch, np.ndarray]:
    """The command line (``--data``, ``--points`` with default ``points``, ``--seed``), the dump read from
    ``--data`` (with ``me2``), and the sorted indices of ``--points`` events drawn from it without repeats."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--points", type=int, default=points)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    batch = read_dump(args.data)
    if batch.me2 is None:
        raise SystemExit(f"{name}: {args.data} has no me2 column")
    rng = np.random.default_rng(args.seed)
    n = batch.momenta.shape[0]
    return args, batch, np.sort(rng.choice(n, size=min(args.points, n), replace=False))


def main() -> None:
    args, batch, pick = sampled_events("bench_pp_norm", __doc__, 50000)
    assert batch.me2 is not None
    mom = np.ascontiguousarray(batch.momenta[pick], dtype=np.float64)
    me2 = np.asarray(batch.me2[pick], dtype=np.float64)
    pdg = [int(x) for x in batch.pdg]
    n_in = int(batch.n_in)
    t = torch.from_numpy(mom)
    with torch.no_grad():
        prop = LeptonPairPropagator(pdg, n_in)(t).numpy()
        basis = DipoleBasis(pdg, n_in)
        dsum = basis(t)[:, : basis.n_dipoles].abs().sum(-1).numpy()
        fmap = FeatureMap(pdg, n_in)
        feats = fmap(t).numpy()
    logcols = np.array([not name.startswith("p") for name in fmap.names])
    pt = np.hypot(mom[:, n_in:, 1], mom[:, n_in:, 2])
    log_ht = np.log10(pt.sum(1))
    log_mom = feats[:, logcols] / np.log(10.0)

    candidates = {
        "me2": np.log10(me2),
        "me2/F": np.log10(me2 / prop),
        "me2/(F*sumD)": np.log10(me2 / (prop * dsum)),
        "me2/(F*antenna)": np.log10(me2 / (prop * antenna(mom, pdg, n_in))),
    }
    out: dict[str, object] = {
        "data": str(args.data),
        "process": batch.process,
        "points": len(me2),
        "n_log_features": int(logcols.sum()),
        "decades_1_99": {},
    }
    table: dict[str, dict[str, float]] = {}
    for name, y in candidates.items():
        ht = residual(y, log_ht[:, None])
        coef = np.polyfit(log_ht, y, 1)
        table[name] = {
            "raw": spread(y),
            "ht": spread(ht),
            "ht_power": float(coef[0]),
            "linfit": spread(residual(y, log_mom)),
            "linfit_std": float(np.std(residual(y, log_mom))),
        }
    out["decades_1_99"] = table
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
