"""Datasets from the built-in exact ME: RAMBO + y_cut + |M|^2 in the fame-dump format (SPEC §3.2)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lhe_tools.batch import EventBatch
from lhe_tools.process import canonical_channel

from ..phasespace import EEPhaseSpace
from .couplings import EWParams
from .ee_jets import classify, matrix_element

__all__ = ["GenerateConfig", "ee_jets_pdg", "generate_ee"]

#: points per matrix-element call (bounds the memory of the helicity-broadcast arrays)
CHUNK = 10_000


@dataclass(frozen=True)
class GenerateConfig:
    """Settings of :func:`generate_ee` (its keyword defaults are these; ``fame generate`` offers them).

    Parameters
    ----------
    y_cut : float
        Global cut on s_ij / s.
    sqrt_s : float
        Centre-of-mass energy, GeV.
    seed : int
        Seed of ``numpy.random.default_rng``.
    """

    y_cut: float = 0.01
    sqrt_s: float = 1000.0
    seed: int = 0


_DEFAULTS = GenerateConfig()


def ee_jets_pdg(n_jets: int, flavour: int = 1) -> list[int]:
    """PDG list of e+e- -> q qbar + (n_jets - 2) g in Sherpa's canonical order.

    Parameters
    ----------
    n_jets : int
        2..5 final-state partons.
    flavour : int
        Quark flavour (1 = d, default; 2 = u, ...).

    Returns
    -------
    list of int
        e.g. ``ee_jets_pdg(3) == [11, -11, 21, 1, -1]``.
    """
    if not 2 <= n_jets <= 5:
        raise ValueError(f"n_jets must be 2..5 (q qbar + up to 3 gluons), got {n_jets}")
    return [11, -11] + [21] * (n_jets - 2) + [flavour, -flavour]


def generate_ee(
    pdg: Sequence[int],
    n_points: int,
    *,
    y_cut: float = _DEFAULTS.y_cut,
    sqrt_s: float = _DEFAULTS.sqrt_s,
    seed: int = _DEFAULTS.seed,
    params: EWParams | None = None,
) -> EventBatch:
    """RAMBO points inside the cut with their exact |M|^2.

    Parameters
    ----------
    pdg : sequence of int
        Incoming e-, e+ then the final state (see :func:`fame_surrogate.me.supports`); the batch is returned
        in Sherpa's canonical order.
    n_points : int
        Number of points (all pass s_ij > y_cut s for every final-state pair).
    y_cut, sqrt_s, seed : float, float, int
        See :class:`GenerateConfig` (their defaults are its defaults).
    params : EWParams, optional
        Couplings (default: those of the Sherpa reference data).

    Returns
    -------
    EventBatch
        ``me2``, ``ps_weight`` (the constant RAMBO weight), ``weight = ps_weight * me2``, and ``meta`` with
        ``me_ms_per_point``, ``ps_ms_per_point``, ``cut_efficiency``, ``sqrt_s``, ``cuts``, ``generator``,
        ``format``, ``seed``, couplings.
    """
    if n_points < 1:
        raise ValueError(f"n_points must be positive, got {n_points}")
    params = EWParams() if params is None else params
    classify(pdg)
    process, order = canonical_channel(list(pdg))
    canon = [int(pdg[i]) for i in order]
    n_out = len(canon) - 2
    space = EEPhaseSpace(n_out=n_out, sqrt_s=sqrt_s, y_cut=y_cut)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    momenta, n_generated = space.generate(n_points, rng)
    t_ps = time.perf_counter() - t0
    t0 = time.perf_counter()
    me2 = np.concatenate(
        [matrix_element(momenta[i : i + CHUNK], canon, params) for i in range(0, n_points, CHUNK)]
    )
    t_me = time.perf_counter() - t0
    ps_weight = np.full(n_points, space.weight)
    meta = {
        "generator": "fame built-in",
        "format": "fame-dump/1",
        "process": process,
        "sqrt_s": sqrt_s,
        "cuts": {
            "y_cut": y_cut,
            "definition": "s_ij = 2 p_i.p_j > y_cut * s for every pair of final-state partons",
        },
        "y_cut": y_cut,
        "seed": seed,
        "cut_efficiency": n_points / n_generated,
        "n_generated_rambo": n_generated,
        "me_ms_per_point": 1e3 * t_me / n_points,
        "ps_ms_per_point": 1e3 * t_ps / n_points,  # per accepted point, rejected draws included
        "alpha_s": params.alpha_s,
        "alpha_qed": params.alpha_qed,
        "ew": {
            "scheme": "Gmu, complex-mass scheme",
            "GF": params.gf,
            "MZ": params.mz,
            "GammaZ": params.gamma_z,
            "MW": params.mw,
            "GammaW": params.gamma_w,
            "z_exchange": params.z_exchange,
        },
        "color_scheme": 1,
        "normalisation": "1/4 spin average, summed over helicities and colours, divided by prod n_f!",
    }
    return EventBatch(
        momenta=momenta,
        pdg=np.asarray(canon, dtype=np.int32),
        weight=ps_weight * me2,
        process=process,
        n_in=2,
        me2=me2,
        ps_weight=ps_weight,
        meta=meta,
    )
