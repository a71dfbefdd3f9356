"""The factorised decay angles of a final-state lepton pair (:mod:`fame_surrogate.lepton_angles`).

Truths: Sherpa's |M|² of g u → e-e+ g g g u and g u → e+ν g g g d at 12 orientations of the lepton pair in its
rest frame per event (``tests/data/lepton-rotations/``, made by ``tests/data/make_lepton_rotations.py``);
the boost of ``vector``; the spherical 3-design of the octahedron; the exact symmetries of |M|² (boosts
along z, rotations about z, the mirror p_y → −p_y).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import torch
import vector

from fame_surrogate._ops import partonic_frame
from fame_surrogate.lepton_angles import N_ANGULAR, PairReader, angular_factor, decay_direction, pair_layout
from fame_surrogate.models import DipoleModel
from lhe_tools import EventBatch, read_dump

ORIENTATIONS = 12  # per event in the rotation sets (tests/data/make_lepton_rotations.py)
ROTATIONS = Path(__file__).resolve().parents[1] / "data" / "lepton-rotations"
#: {process: (its rotation set, the subset of tests/data/sherpa-pp its events come from)}
SETS = {
    "2_6__G__u__e-__e+__G__G__G__u": ("z4j.npz", "z4j_gu_val.npz"),
    "2_6__G__u__e+__ve__G__G__G__d": ("w4j.npz", "w4j_gu_val.npz"),
}


@pytest.fixture(scope="module", params=sorted(SETS))
def rotations(request: pytest.FixtureRequest) -> EventBatch:
    batch = read_dump(ROTATIONS / SETS[request.param][0])
    assert batch.process == request.param
    return batch


@pytest.fixture(scope="module")
def source(rotations: EventBatch, sherpa_pp: Path) -> EventBatch:
    """The Sherpa subset that the rotated events come from (thousands of events, for the scalers)."""
    return read_dump(sherpa_pp / SETS[rotations.process][1])


def _reader(batch: EventBatch) -> PairReader:
    layout = pair_layout(batch.pdg.tolist(), batch.n_in)
    assert layout is not None
    return PairReader(layout, batch.n_in)


def _directions(batch: EventBatch) -> np.ndarray:
    """n (N, 3) of lepton 1 as the model measures it (canonical frame, then the pair's rest frame)."""
    return _reader(batch)(torch.from_numpy(batch.momenta))[1].numpy().T


def _quadratic_design(n: np.ndarray) -> np.ndarray:
    """The 10 products v_i v_j (i ≤ j) of v = (1, n): the quadratic forms vᵀ M v (one redundant: |n|² = 1)."""
    v = np.concatenate([np.ones_like(n[:, :1]), n], axis=1)
    i, j = np.triu_indices(4)
    return v[:, i] * v[:, j]


def _form_residual(design: np.ndarray, me2: np.ndarray) -> float:
    """The largest relative residual of the least-squares fit of ``me2`` (one event's orientations)."""
    coef, *_ = np.linalg.lstsq(design, me2, rcond=None)
    return float(np.max(np.abs(design @ coef - me2)) / np.max(np.abs(me2)))


def test_sherpa_me_is_a_quadratic_form_in_the_decay_direction(rotations: EventBatch) -> None:
    """The premise: at fixed hadrons |M|² is vᵀ M v in the decay direction (the lepton tensor is bilinear
    in the lepton momenta), while it varies by a factor of several over the orientations, which no linear
    form in n describes."""
    n = _directions(rotations).reshape(-1, ORIENTATIONS, 3)
    me2 = rotations.me2.reshape(-1, ORIENTATIONS)
    assert np.median(me2.max(1) / me2.min(1)) > 2.0
    for ni, mi in zip(n, me2, strict=True):
        design = _quadratic_design(ni)
        assert _form_residual(design, mi) < 1e-8
        assert _form_residual(design[:, :4], mi) > 1e-2  # 1, n_x, n_y, n_z alone


def _psd_form(design: np.ndarray, me2: np.ndarray) -> np.ndarray:
    """A positive semi-definite M with vᵀ M v = the fitted form (the S-lemma: M + λ J for the λ that
    maximises the smallest eigenvalue, J = diag(−1, 1, 1, 1) with vᵀ J v = 0 on the sphere)."""
    coef, *_ = np.linalg.lstsq(design, me2, rcond=None)
    m = np.zeros((4, 4))
    i, j = np.triu_indices(4)
    m[i, j] = coef
    m = 0.5 * (m + m.T)  # an off-diagonal product v_i v_j carries 2 M_ij, a square v_i² carries M_ii
    jay = np.diag([-1.0, 1.0, 1.0, 1.0])
    scale = float(np.abs(m).max())
    res = scipy.optimize.minimize_scalar(
        lambda lam: -np.linalg.eigvalsh(m + lam * jay)[0], bounds=(-20 * scale, 20 * scale), method="bounded",
        options={"xatol": 1e-14 * scale},
    )
    w, u = np.linalg.eigh(m + res.x * jay)
    assert w[0] > -1e-9 * scale
    return (u * np.clip(w, 0.0, None)) @ u.T


def test_angular_factor_reaches_every_sherpa_orientation(rotations: EventBatch) -> None:
    """The model's parametrisation (T = 1 + a lower triangle, M = T Tᵀ) covers the physical forms: the
    Cholesky factor of each event's positive semi-definite form, as ten outputs, reproduces Sherpa's |M|²
    at every orientation up to the factor's normalisation (its mean over the sphere)."""
    n = _directions(rotations).reshape(-1, ORIENTATIONS, 3)
    me2 = rotations.me2.reshape(-1, ORIENTATIONS)
    rows, cols = np.tril_indices(4)
    for ni, mi in zip(n, me2, strict=True):
        m = _psd_form(_quadratic_design(ni), mi)
        # a lower-triangular T with T Tᵀ = M (semi-definite: W → ℓν nearly vanishes in one direction, so no
        # Cholesky): M = B Bᵀ, Bᵀ = Q R, T = Rᵀ
        w, u = np.linalg.eigh(m)
        t = np.linalg.qr((u * np.sqrt(np.clip(w, 0.0, None))).T, mode="r").T
        a = torch.from_numpy((t - np.eye(4))[rows, cols])[:, None].expand(N_ANGULAR, ORIENTATIONS)
        mean = m[0, 0] + np.trace(m[1:, 1:]) / 3.0
        got = angular_factor(a, torch.from_numpy(ni.T)).numpy() * mean
        # relative to the event's largest |M|²: W → ℓν (V − A) nearly vanishes at some orientations, where
        # the smallest eigenvalue of its M is zero to the precision of λ (≈ 1e-7 of the largest |M|²)
        np.testing.assert_allclose(got, mi, rtol=0.0, atol=1e-6 * mi.max())


def test_angular_factor_has_unit_mean_on_the_sphere() -> None:
    """The six vertices of the octahedron are a spherical 3-design: their average of a quadratic form in n
    is its mean over the sphere, which the factor normalises to 1; at a = 0 the factor is 1 everywhere."""
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(N_ANGULAR, 5, generator=gen, dtype=torch.float64)
    axes = torch.cat([torch.eye(3), -torch.eye(3)]).to(torch.float64)  # (6, 3)
    values = torch.stack([angular_factor(a, axis[:, None].expand(3, 5)) for axis in axes])
    torch.testing.assert_close(values.mean(0), torch.ones(5, dtype=torch.float64), rtol=1e-13, atol=0.0)
    n = torch.nn.functional.normalize(torch.randn(3, 200, generator=gen, dtype=torch.float64), dim=0)
    assert bool((angular_factor(a[:, :1].expand(N_ANGULAR, 200), n) >= 0.0).all())
    ones = angular_factor(torch.zeros(N_ANGULAR, 200, dtype=torch.float64), n)
    torch.testing.assert_close(ones, torch.ones(200, dtype=torch.float64), rtol=1e-15, atol=0.0)


def _rest_direction(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``vector``'s boost of p (N, 4) into the rest frame of q (N, 4), as unit directions (N, 3)."""
    def four(v: np.ndarray) -> vector.MomentumNumpy4D:
        return vector.array({"px": v[:, 1], "py": v[:, 2], "pz": v[:, 3], "E": v[:, 0]})

    rest = four(p).boostCM_of_p4(four(q))
    out = np.stack([rest.px, rest.py, rest.pz], axis=1)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_decay_direction_is_vectors_rest_frame_boost(rotations: EventBatch) -> None:
    p, q = rotations.momenta[:, 2], rotations.momenta[:, 2] + rotations.momenta[:, 3]
    got = decay_direction(torch.from_numpy(q.T.copy()), torch.from_numpy(p.T.copy())).numpy().T
    np.testing.assert_allclose(got, _rest_direction(p, q), atol=1e-12)


def test_reader_is_the_canonical_frame_and_the_hadronic_event(rotations: EventBatch) -> None:
    """The reader's written-out frame against ``_ops.partonic_frame`` of (incoming, q, first parton, lepton
    1) followed by ``vector``'s boost; its hadronic event against the permuted momenta with q/2 in both
    lepton slots."""
    layout = pair_layout(rotations.pdg.tolist(), rotations.n_in)
    assert layout is not None
    mom = rotations.momenta
    hadronic, n = _reader(rotations)(torch.from_numpy(mom))
    q = mom[:, layout[2]] + mom[:, layout[4]]
    want = mom[:, layout].copy()
    want[:, 2] = want[:, 4] = 0.5 * q
    np.testing.assert_allclose(hadronic.numpy(), want, rtol=1e-15, atol=1e-12)
    refs = np.stack([mom[:, 0], mom[:, 1], q, mom[:, layout[3]], mom[:, layout[2]]], axis=1)
    framed = partonic_frame(torch.from_numpy(refs), 2, 5).numpy()
    np.testing.assert_allclose(n.numpy().T, _rest_direction(framed[:, 4], framed[:, 2]), atol=1e-10)


def _trained_like(batch: EventBatch, lepton_angles: bool = True) -> DipoleModel:
    """A dipole model with its scalers and skip fitted on ``batch`` and random network outputs of order
    one (no training needed: the structure under test holds for every network)."""
    torch.manual_seed(5)
    model = DipoleModel(batch.pdg.tolist(), batch.n_in, hidden=(16, 16), lepton_angles=lepton_angles)
    mom = torch.from_numpy(batch.momenta)
    model.fit_scalers(*model.inputs(mom), torch.from_numpy(batch.me2))
    with torch.no_grad():
        for prm in model.net.parameters():
            prm.normal_(0.0, 0.1)
    return model


def test_the_network_never_sees_the_decay_angles(rotations: EventBatch, source: EventBatch) -> None:
    """The features and the dipole terms are the same at every orientation of the pair, and the model's
    |M|², for any network, is a quadratic form in n like Sherpa's; the plain model (the pair's momenta
    among the inputs) is not."""
    model = _trained_like(source)
    assert model.n_angular == N_ANGULAR
    mom = torch.from_numpy(rotations.momenta)
    x, terms = model.inputs(mom)
    x = x.reshape(-1, ORIENTATIONS, x.shape[1])
    hadronic = terms[:, :-3].reshape(-1, ORIENTATIONS, terms.shape[1] - 3)
    # equal up to rounding: q is summed from lepton momenta of a few TeV, and the logarithms of small
    # invariants magnify its rounding
    torch.testing.assert_close(x, x[:, :1].expand_as(x), rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(hadronic, hadronic[:, :1].expand_as(hadronic), rtol=1e-8, atol=1e-8)
    n = _directions(rotations).reshape(-1, ORIENTATIONS, 3)

    def worst_residual(lepton_angles: bool) -> float:
        with torch.no_grad():
            pred = _trained_like(source, lepton_angles)(mom)[0].numpy().reshape(-1, ORIENTATIONS)
        return max(_form_residual(_quadratic_design(ni), pi) for ni, pi in zip(n, pred, strict=True))

    assert worst_residual(True) < 1e-7
    assert worst_residual(False) > 1e-4


def test_prediction_keeps_the_symmetries_of_the_me(rotations: EventBatch, source: EventBatch) -> None:
    """Boosts along z, rotations about z and the mirror p_y → −p_y of the whole event leave |M|² as it is;
    the model's frame (azimuth from q, mirror from the first parton) and n must keep its prediction too."""
    model = _trained_like(source)
    mom = torch.from_numpy(rotations.momenta)
    with torch.no_grad():
        want = model(mom)[0]
        ch, sh, c, s = np.cosh(0.7), np.sinh(0.7), np.cos(1.1), np.sin(1.1)
        e, x, y, z = mom.unbind(-1)
        boosted = torch.stack([ch * e + sh * z, x, y, sh * e + ch * z], -1)
        turned = torch.stack([e, c * x - s * y, s * x + c * y, z], -1)
        mirrored = torch.stack([e, x, -y, z], -1)
        for other in (boosted, turned, mirrored):
            torch.testing.assert_close(model(other)[0], want, rtol=1e-6, atol=0.0)


def test_pair_layout_needs_a_lepton_pair_and_two_partons() -> None:
    assert pair_layout([21, 2, 11, -11, 21, 21, 21, 2], 2) == [0, 1, 2, 4, 3, 5, 6, 7]
    assert pair_layout([21, 2, -11, 12, 21, 21, 21, 1], 2) == [0, 1, 2, 4, 3, 5, 6, 7]
    assert pair_layout([2, -2, 21, 11, -11, 21], 2) == [0, 1, 3, 2, 4, 5]  # partons first in Sherpa's order
    assert pair_layout([1, -1, 11, -11, 21], 2) is None  # one jet: the hadronic event is planar
    assert pair_layout([11, -11, 1, -1, 21], 2) is None  # e+e- → jets: no final-state pair
    assert pair_layout([21, 21, 6, -6, 21], 2) is None  # tt̄ + jet


def test_factorised_model_trains_and_exports_with_parity(source: EventBatch, tmp_path: Path) -> None:
    """``TrainConfig.lepton_angles``: a short MSE training on the Sherpa subset beats its untrained start
    on held-out events, and the exported graph (both batch branches) gives torch's |M|²."""
    import dataclasses

    from fame_surrogate.config import TrainConfig
    from fame_surrogate.export import export_onnx
    from fame_surrogate.onnx_session import OnnxSurrogate
    from fame_surrogate.train import train_surrogate

    data, held = source.take(np.arange(1500)), source.take(np.arange(1500, 2000))
    cfg = TrainConfig(
        replicas=1, hidden=(32, 32), epochs=8, batch_size=128, val_fraction=0.25, patience=100, seed=3,
        objective="pointwise", lepton_angles=True,
    )
    res = train_surrogate(data, cfg)
    (member,) = res.model.member_models()
    assert isinstance(member, DipoleModel) and member.n_angular == N_ANGULAR
    untrained = train_surrogate(data, dataclasses.replace(cfg, epochs=1, lr=1e-12))

    def err(model: torch.nn.Module) -> float:
        with torch.no_grad():
            pred = model(torch.from_numpy(held.momenta))[0].numpy()
        return float(np.median(np.abs(np.log(pred / held.me2))))

    assert err(res.model) < 0.8 * err(untrained.model)
    path = tmp_path / "z.onnx"
    export_onnx(res.model, path, {"process": source.process})
    got, _ = OnnxSurrogate(path).predict(held.momenta)
    with torch.no_grad():
        want = res.model(torch.from_numpy(held.momenta))[0].numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    single, _ = OnnxSurrogate(path).predict(held.momenta[:1])
    np.testing.assert_allclose(single, want[:1], rtol=1e-6)


def test_factorised_model_is_rescaled_after_the_gain_phase(rotations: EventBatch, source: EventBatch) -> None:
    """The gain phase (``objective="unweighting"`` on Sherpa's weighted pp events) with the factorised
    model, which training builds by default where the process has a lepton pair: its |M|² is a quadratic
    form in the decay direction like Sherpa's, and the held-out median of ln(s/|M|²) is 0 after the gain phase
    (``TrainConfig.gain_rescale``; training's float32 inputs and the decay-direction terms reach the
    rescaling, which evaluates the float64 model)."""
    from fame_surrogate.config import TrainConfig
    from fame_surrogate.train import train_surrogate

    data = source.take(np.arange(1200))
    cfg = TrainConfig(replicas=1, hidden=(16,), epochs=2, gain_epochs=2, val_fraction=0.25, patience=100,
                      augment=1, seed=4, objective="unweighting")
    res = train_surrogate(data, cfg)
    assert res.metrics.loss == "gain"
    n = _directions(rotations).reshape(-1, ORIENTATIONS, 3)
    with torch.no_grad():
        turned = res.model(torch.from_numpy(rotations.momenta))[0].numpy().reshape(-1, ORIENTATIONS)
    assert max(_form_residual(_quadratic_design(ni), pi) for ni, pi in zip(n, turned, strict=True)) < 1e-7
    with torch.no_grad():
        pred = res.model(torch.from_numpy(data.momenta[res.val_index]))[0].numpy()
    assert data.me2 is not None
    assert abs(np.median(np.log(pred / data.me2[res.val_index]))) < 1e-5
