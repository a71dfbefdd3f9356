"""EventBatch: validation of shapes, selection, permutation, awkward/vector view, concatenation."""

from __future__ import annotations

import numpy as np
import pytest

from fame_surrogate.phasespace import EEPhaseSpace
from lhe_tools import EventBatch, EventBatchError, concatenate


def _batch(n: int = 50, seed: int = 0) -> EventBatch:
    mom, _ = EEPhaseSpace(3).generate(n, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    return EventBatch(
        momenta=mom,
        pdg=[11, -11, 21, 1, -1],
        weight=rng.normal(size=n),
        me2=rng.random(n),
        process="2_3__e-__e+__G__d__db",
    )


def test_shape_errors_name_the_problem() -> None:
    b = _batch()
    with pytest.raises(EventBatchError, match=r"pdg must have shape \(5,\)"):
        EventBatch(momenta=b.momenta, pdg=[11, -11, 21], weight=b.weight)
    with pytest.raises(EventBatchError, match=r"column me2 has shape \(3,\), expected \(50,\)"):
        EventBatch(momenta=b.momenta, pdg=b.pdg, weight=b.weight, me2=np.ones(3))
    with pytest.raises(EventBatchError, match=r"momenta must have shape \(N, n, 4\)"):
        EventBatch(momenta=b.momenta[..., :3], pdg=b.pdg, weight=b.weight)


def test_take_and_concatenate_round_trip() -> None:
    b = _batch(40)
    parts = [b.take(slice(0, 13)), b.take(np.arange(13, 40))]
    joined = concatenate(parts)
    np.testing.assert_array_equal(joined.momenta, b.momenta)
    np.testing.assert_array_equal(joined.me2, b.me2)
    np.testing.assert_array_equal(joined.weight, b.weight)
    with pytest.raises(EventBatchError, match="cannot concatenate"):
        concatenate([b, b.permuted([0, 1, 3, 2, 4], process="other")])


def test_permuted_moves_momenta_with_pdg_and_preserves_invariants() -> None:
    b = _batch(20)
    p = b.permuted([0, 1, 4, 2, 3])
    assert p.pdg.tolist() == [11, -11, -1, 21, 1]
    np.testing.assert_array_equal(p.momenta[:, 2], b.momenta[:, 4])
    with pytest.raises(EventBatchError, match="not a permutation"):
        b.permuted([0, 1, 2, 2, 3])


def test_awkward_view_has_vector_behaviour() -> None:
    b = _batch(10)
    arr = b.to_awkward()
    masses = np.asarray(arr.particles.mass.to_numpy())
    # sqrt(E^2 - p^2) of massless vectors cancels to ~1e-8 of E
    np.testing.assert_allclose(masses, 0.0, atol=1e-4)
    total = arr.particles[:, 2] + arr.particles[:, 3] + arr.particles[:, 4]
    np.testing.assert_allclose(np.asarray(total.mass), 1000.0, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(arr.me2), b.me2)
