"""Identical-particle permutations (exact symmetries of |M|², checked on the built-in exact ME) and the
canonical order (against an explicit boost, on real Sherpa pp events, and through ONNX Runtime)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fame_surrogate.export import export_onnx
from fame_surrogate.me import matrix_element
from fame_surrogate.models import Ensemble, build_model
from fame_surrogate.onnx_parity import parity_tolerance
from fame_surrogate.onnx_session import OnnxSurrogate
from fame_surrogate.phasespace import EEPhaseSpace
from fame_surrogate.symmetry import CanonicalOrder, identical_groups, identical_particle_permutations
from lhe_tools import read_dump


def test_three_gluons_give_all_six_orders_identity_first() -> None:
    pdg = [21, 2, 11, -11, 21, 21, 21, 2]
    perms = identical_particle_permutations(pdg, 2, 100, np.random.default_rng(0))
    assert len(perms) == 6
    assert np.array_equal(perms[0], np.arange(8))
    assert len({tuple(p) for p in perms}) == 6
    for p in perms:  # only the gluons 4, 5, 6 move
        assert np.array_equal(p[[0, 1, 2, 3, 7]], [0, 1, 2, 3, 7])
        assert sorted(p[4:7]) == [4, 5, 6]


def test_capped_choice_keeps_the_identity_and_is_seeded() -> None:
    pdg = [21, 2, 11, -11, 21, 21, 21, 21, 2]  # 4! = 24 orders
    a = identical_particle_permutations(pdg, 2, 5, np.random.default_rng(3))
    b = identical_particle_permutations(pdg, 2, 5, np.random.default_rng(3))
    assert len(a) == 5 and np.array_equal(a[0], np.arange(9))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert identical_particle_permutations([11, -11, 1, -1, 21], 2, 9, np.random.default_rng(0))[0].size == 5
    assert len(identical_particle_permutations([11, -11, 1, -1, 21], 2, 9, np.random.default_rng(0))) == 1
    with pytest.raises(ValueError, match="max_count"):
        identical_particle_permutations(pdg, 2, 0, np.random.default_rng(0))


def test_the_exact_me_is_invariant_under_every_permutation() -> None:
    pdg = [11, -11, 21, 21, 21, 1, -1]
    mom, _ = EEPhaseSpace(5, sqrt_s=1000.0, y_cut=0.01).generate(50, np.random.default_rng(4))
    ref = matrix_element(mom, pdg)
    perms = identical_particle_permutations(pdg, 2, 10, np.random.default_rng(0))
    assert len(perms) == 6
    for p in perms[1:]:
        assert not np.allclose(mom[:, p], mom)
        np.testing.assert_allclose(matrix_element(mom[:, p], pdg), ref, rtol=1e-10)


# ----------------------------------------------------------------------------------- the canonical order

PP_PDG = [21, 2, 11, -11, 21, 21, 21, 2]


@pytest.fixture(scope="module")
def pp_momenta(sherpa_pp: Path) -> np.ndarray:
    """Real Sherpa g u → e- e+ g g g u events (lab frame: boosted along the beam)."""
    return read_dump(sherpa_pp / "z4j_gu_val.npz").momenta[:400]


def _partonic_energies(p: np.ndarray, idx: list[int]) -> np.ndarray:
    """Energies of particles ``idx`` after an explicit boost along z into the partonic rest frame (numpy)."""
    pin = p[:, 0] + p[:, 1]
    beta = pin[:, 3] / pin[:, 0]
    gamma = 1.0 / np.sqrt(1.0 - beta**2)
    return gamma[:, None] * (p[:, idx, 0] - beta[:, None] * p[:, idx, 3])


def test_identical_groups() -> None:
    assert identical_groups(PP_PDG, 2) == [[4, 5, 6]]
    assert identical_groups([21, 21, 11, -11, 21, 2, 21, 2], 2) == [[4, 6], [5, 7]]  # incoming never grouped
    assert identical_groups([11, -11, 1, -1, 21], 2) == []
    assert not CanonicalOrder([11, -11, 1, -1, 21], 2).active


def test_the_gluons_come_out_by_descending_partonic_energy(pp_momenta: np.ndarray) -> None:
    p = pp_momenta
    out = CanonicalOrder(PP_PDG, 2)(torch.from_numpy(p)).numpy()
    np.testing.assert_array_equal(out[:, [0, 1, 2, 3, 7]], p[:, [0, 1, 2, 3, 7]])
    energies = _partonic_energies(out, [4, 5, 6])
    assert np.all(np.diff(energies, axis=1) < 0.0)
    # the same three momenta, only reordered, and the input order was not already the canonical one
    for k in range(p.shape[0]):
        assert sorted(map(tuple, out[k, 4:7])) == sorted(map(tuple, p[k, 4:7]))
    assert not np.array_equal(out, p)


def test_the_order_is_invariant_under_boosts_along_the_beam(pp_momenta: np.ndarray) -> None:
    p = pp_momenta
    order = CanonicalOrder(PP_PDG, 2)
    for beta in (-0.8, 0.5):
        g = 1.0 / np.sqrt(1.0 - beta**2)
        q = p.copy()
        q[..., 0] = g * (p[..., 0] + beta * p[..., 3])
        q[..., 3] = g * (p[..., 3] + beta * p[..., 0])
        a = order(torch.from_numpy(p)).numpy()
        b = order(torch.from_numpy(q)).numpy()
        # the boosted event sorted is the sorted event boosted: same energies (to rounding) in each slot
        np.testing.assert_allclose(_partonic_energies(b, [4, 5, 6]), _partonic_energies(a, [4, 5, 6]),
                                   rtol=1e-9)


@pytest.mark.parametrize("kind", ["dipole", "mlp"])
def test_a_canonical_model_is_symmetric_in_torch_and_in_onnx(
    kind: str, pp_momenta: np.ndarray, tmp_path: Path
) -> None:
    """Exchanging identical gluons leaves a canonical model's prediction exactly as it was, at batch 1
    (the fused graph) and 400 (the per-family one), in torch and through ONNX Runtime; a model that reads the
    particles as given changes."""
    torch.manual_seed(0)
    model = build_model(kind, PP_PDG, 2, hidden=(16,), canonical=True)
    plain = build_model(kind, PP_PDG, 2, hidden=(16,))
    p = torch.from_numpy(pp_momenta)
    for m in (model, plain):
        x, terms = m.inputs(p)
        m.fit_scalers(x, terms, torch.from_numpy(np.exp(np.linspace(-30, -20, p.shape[0]))))
        with torch.no_grad():  # a non-trivial network, so the gluon columns matter
            for param in m.net.parameters():
                param.normal_(0.0, 0.3)
    ens, ens_plain = Ensemble([model]).eval(), Ensemble([plain]).eval()
    path = export_onnx(ens, tmp_path / "canonical.onnx", {"process": "2_6__G__u__e-__e+__G__G__G__u"})
    session = OnnxSurrogate(path)
    perm = torch.tensor([0, 1, 2, 3, 6, 4, 5, 7])
    with torch.no_grad():
        for batch in (p[:1], p):
            ref = ens(batch)[0]
            torch.testing.assert_close(ens(batch[:, perm])[0], ref, rtol=1e-14, atol=0.0)
            assert not torch.allclose(ens_plain(batch[:, perm])[0], ens_plain(batch)[0], rtol=1e-6, atol=0.0)
            onnx_ref = session.predict(batch.numpy())[0]
            np.testing.assert_allclose(session.predict(batch[:, perm].numpy())[0], onnx_ref, rtol=1e-14)
            np.testing.assert_allclose(onnx_ref, ref.numpy(), rtol=parity_tolerance(ens))
