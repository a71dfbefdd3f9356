"""The antenna-chain column (:mod:`fame_surrogate.antenna`): which processes have it, its value against a
direct sum over the gluon orderings on real Sherpa events, and its soft-gluon scaling."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from fame_surrogate.antenna import MAX_GLUONS, antenna_chains
from fame_surrogate.features import FeatureMap
from lhe_tools import read_dump

Z4 = [21, 2, 11, -11, 21, 21, 21, 2]  # g u -> e- e+ g g g u


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 0] - np.sum(a[..., 1:] * b[..., 1:], axis=-1)


def _direct(momenta: np.ndarray, pdg: list[int]) -> np.ndarray:
    """log(A ŝ^(k+1)) by brute force: every permutation of the gluons between the two quarks, the product of
    1/|2 p_a·p_b| along the chain, summed (float64, no logarithms until the end)."""
    quarks = [i for i, c in enumerate(pdg) if 1 <= abs(c) <= 5]
    gluons = [i for i, c in enumerate(pdg) if c == 21]
    p_in = momenta[:, 0] + momenta[:, 1]
    shat = _dot(p_in, p_in)
    total = np.zeros(len(momenta))
    for order in itertools.permutations(gluons):
        chain = [quarks[0], *order, quarks[1]]
        term = np.ones(len(momenta))
        for a, b in itertools.pairwise(chain):
            term = term * shat / np.abs(2.0 * _dot(momenta[:, a], momenta[:, b]))
        total = total + term
    return np.log(total)


def test_the_chains_of_z_plus_4_jets() -> None:
    chains = antenna_chains(Z4)
    assert len(chains) == math.factorial(4)  # the incoming gluon is one of the four
    assert all(len(c) == 5 for c in chains)
    assert len({tuple(c) for c in chains}) == 24
    # each chain runs from the incoming u (1) to the outgoing u (7) through every gluon once
    for chain in chains:
        touched = [i for link in chain for i in link]
        assert touched.count(1) == 1 and touched.count(7) == 1
        assert all(touched.count(g) == 2 for g in (0, 4, 5, 6))
        assert not {2, 3} & set(touched)  # the leptons are colourless
    # the beam pair (0, 1) is a link exactly where the incoming gluon sits next to the incoming quark
    assert sum((0, 1) in c for c in chains) == math.factorial(3)


@pytest.mark.parametrize(
    "pdg",
    [
        [11, -11, 1, -1, 21, 21, 21],  # lepton beams
        [2, 2, 11, -11, 2, 2],  # two quark lines
        [21, 21, 11, -11, 21, 21],  # gluons only
        [21, 21, 6, -6, 21],  # a top-quark line
        [2, -2, 11, -11],  # no gluon
        [21, 2, 11, -11, *([21] * MAX_GLUONS), 2],  # one gluon too many
    ],
)
def test_processes_without_the_column(pdg: list[int]) -> None:
    assert antenna_chains(pdg) == []
    n_in = 2
    fmap, with_antenna = FeatureMap(pdg, n_in), FeatureMap(pdg, n_in, antenna=True)
    assert with_antenna.antenna is None and with_antenna.names == fmap.names


@pytest.mark.parametrize("name", ["z4j_gu_val", "w4j_gu_val"])
def test_the_column_is_the_direct_sum(sherpa_pp: Path, name: str) -> None:
    data = read_dump(sherpa_pp / f"{name}.npz")
    pdg = data.pdg.tolist()
    momenta = np.ascontiguousarray(data.momenta[:3000])
    fmap = FeatureMap(pdg, int(data.n_in), antenna=True)
    plain = FeatureMap(pdg, int(data.n_in))
    assert fmap.names[-1] == "log_antenna" and fmap.n_features == plain.n_features + 1
    assert fmap.log_columns[-1] == fmap.n_features - 1
    got = fmap(torch.from_numpy(momenta))
    want = _direct(momenta, pdg)
    # the other columns are the plain map's, and the column is the brute-force sum up to rounding
    assert torch.equal(got[:, :-1], plain(torch.from_numpy(momenta)))
    np.testing.assert_allclose(got[:, -1].numpy(), want, rtol=0.0, atol=1e-10)
    # float32 features: the same column to float32 rounding of its ~7 logarithms
    got32 = fmap(torch.from_numpy(momenta), dtype=torch.float32)[:, -1].double().numpy()
    np.testing.assert_allclose(got32, want, rtol=0.0, atol=1e-4)


def test_a_soft_gluon_scales_the_antenna_as_one_over_lambda_squared(sherpa_pp: Path) -> None:
    # A is a function of the invariants alone: scaling one final-state gluon by λ scales the two links it
    # sits on in every ordering by λ each, so A ∝ λ^-2 exactly (ŝ, from the incoming partons, is fixed)
    data = read_dump(sherpa_pp / "z4j_gu_val.npz")
    fmap = FeatureMap(data.pdg.tolist(), int(data.n_in), antenna=True)
    base = torch.from_numpy(np.ascontiguousarray(data.momenta[:500]))
    for lam in (1e-2, 1e-4):
        soft = base.clone()
        soft[:, 5] *= lam
        shift = fmap(soft)[:, -1] - fmap(base)[:, -1]
        np.testing.assert_allclose(shift.numpy(), -2.0 * math.log(lam), rtol=1e-11)
