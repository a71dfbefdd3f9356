"""FeatureMap against independent truths: scaled momenta, recoil variables of known maps, boost invariance."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from cs_kinematics import boost_z, ff_inverse, ii_inverse, light, pp_events, transverse_basis

from fame_surrogate.dipoles import DipoleBasis
from fame_surrogate.features import FeatureMap
from fame_surrogate.phasespace import EEPhaseSpace
from lhe_tools.fourvec import mdot

PP_PDG = [21, 2, 11, -11, 21, 21, 2]  # g u → e- e+ g g u: FF, FI, IF, II dipoles and φ pairs


def _named(fmap: FeatureMap, momenta: list[np.ndarray]) -> dict[str, float]:
    values = fmap(torch.from_numpy(np.array([momenta])))[0].tolist()
    return dict(zip(fmap.names, values, strict=True))


def test_ee_features_are_scaled_momenta_and_log_y() -> None:
    pdg = [11, -11, 21, 21, 1, -1]
    fmap = FeatureMap(pdg)
    mom, _ = EEPhaseSpace(4, sqrt_s=500.0).generate(50, np.random.default_rng(2))
    feats = fmap(torch.from_numpy(mom)).numpy()
    n_dip = DipoleBasis(pdg).n_dipoles
    assert fmap.n_features == 16 + n_dip + 1 == feats.shape[1]  # + log ŝ
    assert fmap.names[:4] == ["p2_E", "p2_x", "p2_y", "p2_z"]
    np.testing.assert_allclose(feats[:, :16], mom[:, 2:].reshape(50, 16) / 500.0, rtol=1e-14)
    # log y_{ij,k} from plain numpy for every FF column
    assert fmap.names[-1] == "log_shat"
    np.testing.assert_allclose(feats[:, -1], np.log(500.0**2), rtol=1e-14)
    for col, name in enumerate(fmap.names[16:-1], start=16):
        i, j, k = (int(v) for v in name.split("(")[1].rstrip(")").replace(";", ",").split(","))
        pij, pik, pjk = (mdot(mom[:, a], mom[:, b]) for a, b in ((i, j), (i, k), (j, k)))
        np.testing.assert_allclose(feats[:, col], np.log(pij / (pij + pik + pjk)), rtol=1e-12)


def test_float32_features_are_the_float64_ones_rounded() -> None:
    """dtype=float32 (a float32 network's inputs) gives the float64 features to float32 rounding, for e+e-
    and for pp (momentum columns, log y, log x, log s_ij/ŝ, log ŝ)."""
    mom, _ = EEPhaseSpace(4, sqrt_s=500.0).generate(50, np.random.default_rng(6))
    cases = (([11, -11, 21, 21, 1, -1], torch.from_numpy(mom)), (PP_PDG, torch.from_numpy(pp_events(40, 7))))
    for pdg, p in cases:
        fmap = FeatureMap(pdg)
        wide = fmap(p).numpy()
        narrow = fmap(p, dtype=torch.float32)
        assert narrow.dtype == torch.float32
        # rounding the argument once (≤ 6e-8 relative) moves a logarithm by ≤ 6e-8 absolute
        np.testing.assert_allclose(narrow.numpy(), wide, rtol=2e-7, atol=2e-7)


def test_colourless_process_has_only_momentum_features() -> None:
    """e+e- → μ+μ- (an MLP's inputs, no dipole, no invariant read): the scaled momenta and log ŝ."""
    beams = [[45.6, 0.0, 0.0, 45.6], [45.6, 0.0, 0.0, -45.6]]
    p = np.array([[*beams, [45.6, 27.36, 0.0, 36.48], [45.6, -27.36, 0.0, -36.48]]])
    fmap = FeatureMap([11, -11, 13, -13])
    assert fmap.pairs == [] and fmap.n_features == 9
    feats = fmap(torch.from_numpy(p)).numpy()
    np.testing.assert_allclose(feats[:, :8], p[:, 2:].reshape(1, 8) / 91.2, rtol=1e-15)
    np.testing.assert_allclose(feats[:, 8], np.log(91.2**2), rtol=1e-15)
    assert fmap(torch.from_numpy(p), dtype=torch.float32).dtype == torch.float32


def test_log_recoil_follows_the_map_parameters() -> None:
    """Points built with y = 1e-7 (FF) and x = 0.7 (II) give exactly those recoil features."""
    rng = np.random.default_rng(4)
    mom, _ = EEPhaseSpace(3).generate(1, rng)
    e_m, e_p, g, q, qb = mom[0]
    g2, g3, q2 = ff_inverse(g, q, 1e-7, 0.4, 0.2, transverse_basis(g, q, rng))
    fmap = FeatureMap([11, -11, 21, 21, 1, -1])
    feats = _named(fmap, [e_m, e_p, g2, g3, q2, qb])
    assert math.isclose(feats["logy_FF_gg(2,3;4)"], math.log(1e-7), rel_tol=1e-7)

    pa_t = boost_z(light(45.0, 0.0, 0.0), 0.3)
    pb = boost_z(light(45.0, math.pi, 0.0), 0.3)
    l1_t = boost_z(light(45.0, 1.0, 1.0), 0.3)
    l2_t = pa_t + pb - l1_t
    pa, gl, (l1, l2) = ii_inverse(pa_t, pb, [l1_t, l2_t], 0.7, 0.05, 0.3, transverse_basis(pa_t, pb, rng))
    fmap = FeatureMap([1, -1, 11, -11, 21])
    feats = _named(fmap, [pa, pb, l1, l2, gl])
    assert math.isclose(feats["logx_II_qg(0,4;1)"], math.log(0.3 / 0.7), rel_tol=1e-12)
    # hadronic: log s_ij / ŝ of the final-state pairs
    shat = float(mdot(pa + pb, pa + pb))
    assert math.isclose(feats["logsij(2,4)"], math.log(2 * float(mdot(l1, gl)) / shat), rel_tol=1e-12)


def test_pp_features_shape_and_boost_invariance() -> None:
    """Every column (canonical-frame momenta, log y, log x, log s_ij/ŝ, log ŝ) ignores a longitudinal boost,
    a rotation about the beam and a mirror (p_y → −p_y)."""
    fmap = FeatureMap(PP_PDG)
    mom = pp_events(40, 5)
    n_fin = 5
    n_dip = DipoleBasis(PP_PDG).n_dipoles
    assert fmap.n_features == 4 * n_fin + n_dip + n_fin * (n_fin - 1) // 2 + 2 * n_fin + 1
    a = fmap(torch.from_numpy(mom)).numpy()
    boosted = mom.copy()
    ch, sh = math.cosh(0.8), math.sinh(0.8)
    boosted[..., 0] = ch * mom[..., 0] + sh * mom[..., 3]
    boosted[..., 3] = sh * mom[..., 0] + ch * mom[..., 3]
    c, s = math.cos(2.0), math.sin(2.0)
    boosted[..., 1], boosted[..., 2] = c * mom[..., 1] - s * mom[..., 2], s * mom[..., 1] + c * mom[..., 2]
    b = fmap(torch.from_numpy(boosted)).numpy()
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-10)
    mirrored = boosted.copy()
    mirrored[..., 2] *= -1.0
    np.testing.assert_allclose(fmap(torch.from_numpy(mirrored)).numpy(), a, rtol=1e-9, atol=1e-10)
    # the momentum columns are those of the partonic rest frame: they sum to (1, 0, 0, 0) in units of √ŝ
    fin = a[:, : 4 * n_fin].reshape(-1, n_fin, 4).sum(axis=1)
    np.testing.assert_allclose(fin, np.tile([1.0, 0.0, 0.0, 0.0], (len(a), 1)), atol=1e-9)
    # rotated so that the first final-state particle lies at φ = 0
    np.testing.assert_allclose(a[:, 2], 0.0, atol=1e-12)
    assert np.all(a[:, 1] > 0)
    # and mirrored so that the second one has p_y ≥ 0, while the others keep both signs
    assert np.all(a[:, 6] >= 0.0)
    assert np.all(np.any(a[:, 10 : 4 * n_fin : 4] < 0.0, axis=0))
    # and log ŝ carries the absolute scale that a resonance needs
    p_in = mom[:, :2].sum(axis=1)
    shat = p_in[:, 0] ** 2 - np.sum(p_in[:, 1:] ** 2, axis=1)
    np.testing.assert_allclose(a[:, fmap.names.index("log_shat")], np.log(shat), rtol=1e-12)


@pytest.mark.sherpa
def test_the_mirror_of_the_frame_is_a_symmetry_of_sherpas_me(sherpa_python: Path, tmp_path: Path) -> None:
    """The canonical frame mirrors p_y → −p_y (test above); that is allowed because Sherpa's |M|² of
    g u → e- e+ g g u is the same at mirrored events (to rounding), while exchanging the leptons' momenta, no
    symmetry with the Z's parity-violating couplings, changes it."""
    from sherpa_limits import PP_CARD, sherpa_me2

    mom = pp_events(40, 23)
    mirrored = mom.copy()
    mirrored[..., 2] *= -1.0
    swapped = mom[:, [0, 1, 3, 2, 4, 5, 6]]
    points = {"p": (PP_PDG, mom), "mirror": (PP_PDG, mirrored), "swap": (PP_PDG, swapped)}
    me = sherpa_me2(sherpa_python, tmp_path, points, PP_CARD)
    assert np.all(me["p"] > 0) and np.ptp(np.log10(me["p"])) > 1.0
    np.testing.assert_allclose(me["mirror"], me["p"], rtol=1e-10, atol=0.0)
    assert np.max(np.abs(me["swap"] / me["p"] - 1.0)) > 1e-2
