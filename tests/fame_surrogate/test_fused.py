"""FusedInputs (the few-node form of the inputs, issue 23) computes what FeatureMap, DipoleBasis and the
lepton-pair factor compute, up to rounding, on real Sherpa events of every dipole family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fame_surrogate._fused import FusedInputs
from fame_surrogate.dipoles import DipoleBasis
from fame_surrogate.features import FeatureMap
from fame_surrogate.models import FUSED_BATCH_MAX, DipoleModel, Ensemble
from fame_surrogate.resonance import LeptonPairPropagator
from lhe_tools import read_dump

EE_FILES = ("ee_3j_ycut0.01", "ee_5j_ycut0.01", "ee_4q_dduu_ycut0.01", "ee_5q_ddddg_ycut0.01")


def _rel(got: torch.Tensor, want: torch.Tensor) -> float:
    g, w = got.numpy(), want.numpy()
    return float(np.max(np.abs(g - w) / np.maximum(np.abs(w), 1e-300), initial=0.0))


def _check(path: Path, dipole_rtol: float, log_atol: float, factor_rtol: float = 0.0) -> None:
    data = read_dump(path)
    pdg, n_in = data.pdg.tolist(), int(data.n_in)
    p = torch.from_numpy(data.momenta)
    fmap, basis = FeatureMap(pdg, n_in), DipoleBasis(pdg, n_in)
    prop = LeptonPairPropagator(pdg, n_in)
    fused = FusedInputs(fmap, basis, prop)
    x, dipoles, phi, factor = fused(p)
    cols = torch.cat([dipoles, phi], dim=0)
    want_x, want_b = fmap(p), basis(p)
    n_mom = 4 * (len(pdg) - n_in)
    assert _rel(x.T[:, :n_mom], want_x[:, :n_mom]) <= 1e-12
    assert float((x.T[:, n_mom:] - want_x[:, n_mom:]).abs().max()) <= log_atol
    nd = basis.n_dipoles
    assert _rel(cols.T[:, :nd], want_b[:, :nd]) <= dipole_rtol
    phi_scale = float(want_b[:, nd:].abs().max()) if basis.n_phi else 1.0
    if basis.n_phi:
        assert float((cols.T[:, nd:] - want_b[:, nd:]).abs().max()) <= 1e-13 * phi_scale
    if prop.active:  # the closed form of the sum over couplings, m_ll² from the Gram entries
        assert factor is not None
        # m_ll² = p_l² + p_l'² + 2 p_l·p_l' rounds differently from (p_l + p_l')² (TeV leptons: ~1e-12),
        # and F moves by m_Z/Γ_Z ≈ 37 times that near the pole
        assert _rel(factor[0], prop(p)) <= factor_rtol
    else:
        assert factor is None
    # float32 features: the float64 ones rounded, as FeatureMap rounds them
    x32 = fused(p, torch.float32)[0]
    assert x32.dtype == torch.float32
    np.testing.assert_allclose(x32.T.numpy(), fmap(p, dtype=torch.float32).numpy(), rtol=2e-7, atol=2e-7)


@pytest.mark.parametrize("name", EE_FILES)
def test_fused_inputs_match_the_modules_ee(sherpa_ee: Path, name: str) -> None:
    # FF only: the kernels are the same expressions, the features bit for bit
    _check(sherpa_ee / f"{name}.npz", dipole_rtol=1e-14, log_atol=1e-14)


def test_fused_inputs_match_the_modules_pp(sherpa_pp: Path) -> None:
    # FF, FI, IF, II, φ in the partonic frame, the γ*/Z factor.  1/x and (1 − x)/x are taken as ratios of
    # invariants (not from a rounded x): up to ≈ 5e-11 absolute in a log feature and 4e-11 relative in a
    # dipole near a kernel's zero on these events, the modules' rounding
    _check(sherpa_pp / "z4j_gu_val.npz", dipole_rtol=1e-9, log_atol=1e-9, factor_rtol=1e-9)


def test_model_forward_agrees_with_the_unfused_path(sherpa_pp: Path) -> None:
    data = read_dump(sherpa_pp / "z4j_gu_val.npz")
    assert data.me2 is not None
    p = torch.from_numpy(data.momenta[:4000])
    torch.manual_seed(3)
    model = DipoleModel(data.pdg.tolist(), int(data.n_in), hidden=(16, 16))
    x, terms = model.inputs(p)
    model.fit_scalers(x, terms, torch.from_numpy(data.me2[:4000]))
    with torch.no_grad():
        for prm in model.net.parameters():
            prm.add_(0.05 * torch.randn_like(prm))
    model.eval()
    q = p[:400]
    with torch.no_grad():  # batches of <= FUSED_BATCH_MAX points go through FusedInputs, larger ones not
        ensemble = Ensemble([model]).eval()
        starts = range(0, len(q), FUSED_BATCH_MAX)
        fused = torch.cat([model(q[i : i + FUSED_BATCH_MAX])[0] for i in starts])
        ens = torch.cat([ensemble(q[i : i + FUSED_BATCH_MAX])[0] for i in starts])
        plain = model(q)[0]
    assert _rel(fused, plain) <= 1e-9  # m_ll² near the Z pole: see the factor above
    assert torch.equal(ens, fused)
    assert torch.equal(ensemble(q)[0], plain)
