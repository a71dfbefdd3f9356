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
from lhe_tools import EventBatch, read_dump

EE_FILES = ("ee_3j_ycut0.01", "ee_5j_ycut0.01", "ee_4q_dduu_ycut0.01", "ee_5q_ddddg_ycut0.01")


def _rel(got: torch.Tensor, want: torch.Tensor) -> float:
    g, w = got.numpy(), want.numpy()
    return float(np.max(np.abs(g - w) / np.maximum(np.abs(w), 1e-300), initial=0.0))


def _check(
    path: Path,
    dipole_rtol: float,
    log_atol: float,
    factor_rtol: float = 0.0,
    mom_atol: float = 0.0,
    phi_rtol: float = 1e-13,
    antenna: bool = False,
) -> None:
    data = read_dump(path)
    pdg, n_in = data.pdg.tolist(), int(data.n_in)
    p = torch.from_numpy(data.momenta)
    fmap, basis = FeatureMap(pdg, n_in, antenna=antenna), DipoleBasis(pdg, n_in)
    assert (fmap.antenna is not None) == antenna
    prop = LeptonPairPropagator(pdg, n_in)
    fused = FusedInputs(fmap, basis, prop)
    x, dipoles, phi, factor = fused(p)
    cols = torch.cat([dipoles, phi], dim=0)
    want_x, want_b = fmap(p), basis(p)
    n_mom = 4 * (len(pdg) - n_in)
    if mom_atol:  # momenta/√ŝ, O(0.1–0.5): an absolute bound
        assert float((x.T[:, :n_mom] - want_x[:, :n_mom]).abs().max()) <= mom_atol
    else:
        assert _rel(x.T[:, :n_mom], want_x[:, :n_mom]) <= 1e-12
    assert float((x.T[:, n_mom:] - want_x[:, n_mom:]).abs().max()) <= log_atol
    nd = basis.n_dipoles
    assert _rel(cols.T[:, :nd], want_b[:, :nd]) <= dipole_rtol
    phi_scale = float(want_b[:, nd:].abs().max()) if basis.n_phi else 1.0
    if basis.n_phi:
        assert float((cols.T[:, nd:] - want_b[:, nd:]).abs().max()) <= phi_rtol * phi_scale
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
    # dipole near a kernel's zero on these events, the modules' rounding.  The frame's boost is
    # γ = E/√((E − p_z)(E + p_z)) of the incoming sum, not 1/√((1 − β)(1 + β)): where p_z' = γ p_z − γβ E
    # cancels, the two roundings differ by up to ≈ 5e-14 absolute in a momentum feature (O(0.5)), and the φ
    # columns (c = |T|² i_x − T_x T·I cancels for a nearly collinear pair) by ≈ 1.1e-13 of their largest
    # value; with the antenna-chain column (a log-sum-exp of the log s_ij rows)
    _check(
        sherpa_pp / "z4j_gu_val.npz",
        dipole_rtol=1e-9,
        log_atol=1e-9,
        factor_rtol=1e-9,
        mom_atol=2e-13,
        phi_rtol=1e-12,
        antenna=True,
    )


def _z4_model(data: EventBatch, n_fit: int, seed: int) -> DipoleModel:
    """A Z+4 dipole model (hidden (16, 16), the antenna-chain column) with its scalers fitted on the first
    ``n_fit`` points of ``data`` and a perturbed network (so that every output depends on the inputs), in
    evaluation mode."""
    assert data.me2 is not None
    p = torch.from_numpy(data.momenta[:n_fit])
    torch.manual_seed(seed)
    model = DipoleModel(data.pdg.tolist(), int(data.n_in), hidden=(16, 16), antenna=True)
    assert model.features.names[-1] == "log_antenna"
    x, terms = model.inputs(p)
    model.fit_scalers(x, terms, torch.from_numpy(data.me2[:n_fit]))
    with torch.no_grad():
        for prm in model.net.parameters():
            prm.add_(0.05 * torch.randn_like(prm))
    return model.eval()


def test_model_forward_agrees_with_the_unfused_path(sherpa_pp: Path) -> None:
    data = read_dump(sherpa_pp / "z4j_gu_val.npz")
    p = torch.from_numpy(data.momenta[:4000])
    model = _z4_model(data, 4000, seed=3)
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


@pytest.mark.parametrize("where", ["ee", "pp"])
def test_fused_features_without_a_basis(sherpa_ee: Path, sherpa_pp: Path, where: str) -> None:
    # the MLP's inputs (no dipoles, no φ rows): the features alone, also in the partonic frame
    path = sherpa_ee / "ee_5j_ycut0.01.npz" if where == "ee" else sherpa_pp / "z4j_gu_val.npz"
    data = read_dump(path)
    pdg, n_in = data.pdg.tolist(), int(data.n_in)
    p = torch.from_numpy(data.momenta[:2000])
    fmap = FeatureMap(pdg, n_in, antenna=True)  # the column where there is one quark line (pp)
    assert (fmap.antenna is not None) == (where == "pp")
    x, dipoles, phi, factor = FusedInputs(fmap)(p)
    assert dipoles.shape == (0, len(p)) and phi.shape == (0, len(p)) and factor is None
    want = fmap(p)
    n_mom = 4 * (len(pdg) - n_in)
    assert float((x.T[:, :n_mom] - want[:, :n_mom]).abs().max()) <= (1e-15 if where == "ee" else 2e-13)
    assert float((x.T[:, n_mom:] - want[:, n_mom:]).abs().max()) <= 1e-9


def test_onnx_small_batch_graph_matches_torch_pp(sherpa_pp: Path, tmp_path: Path) -> None:
    # Z+4 (every dipole family, φ in the partonic frame, the γ*/Z factor): the exported graph's small-batch
    # branch, as OnnxSurrogate runs it for a generator's per-event calls, agrees with torch's fused form,
    # and both agree with the per-family form a large batch runs, on real events
    from fame_surrogate.export import export_onnx
    from fame_surrogate.onnx_session import OnnxSurrogate

    data = read_dump(sherpa_pp / "z4j_gu_val.npz")
    p = torch.from_numpy(data.momenta[:2000])
    ensemble = Ensemble([_z4_model(data, 2000, seed=5)]).eval()
    path = export_onnx(ensemble, tmp_path / "z4.onnx", {"process": data.process}, check_points=p[:64].numpy())
    sur = OnnxSurrogate(path, threads=1)
    assert sur.small_batch_session is not None
    q = data.momenta[:300]
    one = np.concatenate([sur.predict(q[i : i + 1])[0] for i in range(len(q))])
    big = sur.predict(q)[0]
    with torch.no_grad():
        fused = torch.cat([ensemble(torch.from_numpy(q[i : i + 1]))[0] for i in range(len(q))]).numpy()
        plain = ensemble(torch.from_numpy(q))[0].numpy()
    # float64 network: rounding only, amplified near the Z pole (F moves ~m_Z/Γ_Z times the rounding of m_ll²;
    # ONNX Runtime's and torch's sums round differently: up to 3e-9 in the per-family graph on these events)
    np.testing.assert_allclose(one, fused, rtol=1e-8, atol=0.0)
    np.testing.assert_allclose(big, plain, rtol=1e-8, atol=0.0)
    np.testing.assert_allclose(one, big, rtol=1e-8, atol=0.0)


@pytest.mark.parametrize("where", ["ee", "pp"])
def test_linear_forms_are_stored_once(sherpa_ee: Path, sherpa_pp: Path, where: str) -> None:
    # the float64 forms MatMul has one row per distinct (coefficients, constant, floor); the ratios and the
    # dipole denominators are gathered from it, so duplicates would only cost time.  Every dipole's
    # 1/a ratio reads exactly its invariant a = p_i·p_j (one Gram row, coefficient 1, no constant) over 1
    path = sherpa_ee / "ee_5j_ycut0.01.npz" if where == "ee" else sherpa_pp / "z4j_gu_val.npz"
    data = read_dump(path)
    pdg, n_in = data.pdg.tolist(), int(data.n_in)
    fused = FusedInputs(FeatureMap(pdg, n_in), DipoleBasis(pdg, n_in), LeptonPairPropagator(pdg, n_in))
    rows = torch.cat([fused._lf_matrix, fused._lf_const, fused._lf_floor], dim=1)
    assert len(torch.unique(rows, dim=0)) == len(rows)
    assert 2 * fused.n_ratios > len(rows)  # numerators and denominators do repeat
    nd = fused.n_dipoles
    inv_a = torch.arange((fused.n_blocks - 1) * nd, fused.n_blocks * nd)  # the last dipole block: 1/a
    a = fused._lf_matrix[fused._lf_den[inv_a]]
    assert bool(((a == 1.0).sum(1) == 1).all() and ((a != 0.0).sum(1) == 1).all())
    assert bool((fused._lf_const[fused._lf_den[inv_a]] == 0.0).all())
    one = fused._lf_num[inv_a]
    assert bool((fused._lf_matrix[one] == 0.0).all() and (fused._lf_const[one] == 1.0).all())
