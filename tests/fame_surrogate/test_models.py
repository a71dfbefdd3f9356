"""The model families: the normalised dipole sum, the least-squares skip, the target transform, ensembles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fame_surrogate.config import ModelKind
from fame_surrogate.dipoles import DipoleBasis
from fame_surrogate.export import export_onnx
from fame_surrogate.models import (
    DipoleModel,
    Ensemble,
    MLPModel,
    Surrogate,
    TargetTransform,
    build_model,
    scalers,
)
from fame_surrogate.models.base import FUSED_BATCH_MAX, pointwise_loss
from fame_surrogate.models.dipole import BRACKET_FLOOR, LOG_WEIGHT_BOUND
from fame_surrogate.models.network import build_net, run_net, run_net_pair_major
from fame_surrogate.onnx_session import OnnxSurrogate
from lhe_tools import read_dump

PDG3 = [11, -11, 21, 1, -1]


@pytest.fixture(scope="module")
def points(sherpa_ee: Path) -> tuple[torch.Tensor, torch.Tensor]:
    batch = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(np.arange(400))
    assert batch.me2 is not None
    return torch.from_numpy(batch.momenta), torch.from_numpy(batch.me2)


@pytest.mark.parametrize("runaway", [0.0, 40.0, -40.0])
def test_dipole_model_is_the_factorised_sum(
    points: tuple[torch.Tensor, torch.Tensor], runaway: float
) -> None:
    """Constant network output: me2 = exp(b_0 + skip) (Σ_k w(b_k) D_k + Σ_φ c_φ Φ_φ) exactly, with the
    weights w(b) = exp(softplus(B) − softplus(B − b)) ≈ e^b bounded above: a runaway output of +40 reaches
    only ≈ e^B, while −40 switches the dipole off as e^-40 would."""
    p, me2 = points
    torch.manual_seed(0)
    model = DipoleModel(PDG3, hidden=(8,)).eval()
    x, terms = model.inputs(p)
    model.fit_scalers(x, terms, me2)
    n_dip = model.n_dipoles
    rng = np.random.default_rng(3)
    bias = rng.normal(0.0, 0.5, 1 + model.n_terms)
    bias[2] += runaway
    with torch.no_grad():
        model.net[-1].weight.zero_()
        model.net[-1].bias.copy_(torch.from_numpy(bias))
        got, std = model(p)
    basis = DipoleBasis(PDG3)(p).numpy()
    xs = ((x - model.x_norm.mean) / model.x_norm.std).numpy()
    log_norm = bias[0] + xs @ model.skip_weight.numpy() + float(model.skip_bias)
    bound = LOG_WEIGHT_BOUND
    log_w = np.logaddexp(0.0, bound) - np.logaddexp(0.0, bound - bias[1 : 1 + n_dip])
    with torch.no_grad():
        model_log_w = torch.log(model._heads(x)[1]).numpy()  # (B, n_dipoles): the same for every point
    assert np.all(model_log_w <= bound + 1e-4)
    if runaway > 0:  # capped at ≈ B instead of 40
        np.testing.assert_allclose(model_log_w[:, 1], bound, rtol=0.0, atol=1e-4)
    else:  # below the bound: e^b itself (a runaway −40 switches the dipole off), to 1e-3 in log
        np.testing.assert_allclose(model_log_w, np.broadcast_to(bias[1 : 1 + n_dip], model_log_w.shape),
                                   rtol=0.0, atol=1e-3)
    weights = np.exp(log_w)
    shape = np.abs(basis[:, :n_dip]) @ weights + basis[:, n_dip:] @ bias[1 + n_dip :]
    np.testing.assert_allclose(got.numpy(), np.exp(log_norm) * shape, rtol=1e-12, atol=0.0)
    assert got.dtype == torch.float64
    assert bool((std == 0).all())


@pytest.mark.parametrize("chunk", [1 << 15, 64])
def test_least_squares_skip_equals_a_direct_numpy_fit(
    points: tuple[torch.Tensor, torch.Tensor], chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The frozen skip is the least-squares fit of log(|M|²/ΣD) on the standardised log features, also
    where the fit runs over chunks (mean and std in two passes, the fit from the chunks' QR factors)."""
    monkeypatch.setattr(scalers, "FIT_CHUNK", chunk)
    p, me2 = points
    model = DipoleModel(PDG3, hidden=(8,))
    x, terms = model.inputs(p)
    model.fit_scalers(x, terms, me2)
    cols = model.features.log_columns
    assert all(not model.features.names[c].startswith("p") for c in cols)
    xn, mn = x.numpy(), me2.numpy()
    dsum = np.abs(DipoleBasis(PDG3)(p).numpy()[:, : model.n_dipoles]).sum(1)
    std = xn.std(0, ddof=1)
    xs = (xn - xn.mean(0)) / np.where(std > 1e-12 * (1 + np.abs(xn).max(0)), std, 1.0)
    design = np.column_stack([xs[:, cols], np.ones(len(mn))])
    y = np.log(mn / dsum)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    # compare fitted values (the coefficients of the constant log_shat column are not identified)
    ours = xs @ model.skip_weight.numpy() + float(model.skip_bias)
    np.testing.assert_allclose(ours, design @ coef, rtol=0.0, atol=1e-9)
    assert np.all(model.skip_weight.numpy()[: cols[0]] == 0.0)  # the momenta columns are not read
    # so the untrained model is the linear fit: its log residual has the lstsq residual's spread
    model.eval()
    with torch.no_grad():
        pred, _ = model(p)
    np.testing.assert_allclose(np.log(pred.numpy() / mn), design @ coef - y, atol=1e-9)


def test_normaliser_carries_the_dimension_of_the_exact_me() -> None:
    """Photon-only e+e- → d d̄ g g (built-in exact ME) at √s and 3√s, the same shapes: the skip's log ŝ
    slope is exactly the dimension of |M|²/ΣD, ŝ^-1 (|M|² ∝ ŝ^-2, ΣD ∝ ŝ^-1)."""
    from fame_surrogate.me import EWParams, matrix_element
    from fame_surrogate.phasespace import rambo

    pdg = [11, -11, 21, 21, 1, -1]
    rng = np.random.default_rng(7)
    final = rambo(4, 1.0, 4000, rng)
    keep = np.ones(len(final), bool)
    for i in range(4):
        for j in range(i + 1, 4):
            pij = final[:, i, 0] * final[:, j, 0] - np.sum(final[:, i, 1:] * final[:, j, 1:], axis=1)
            keep &= 2 * pij > 0.01
    final = final[keep]
    beams = np.zeros((len(final), 2, 4))
    beams[:, 0] = [0.5, 0.0, 0.0, 0.5]
    beams[:, 1] = [0.5, 0.0, 0.0, -0.5]
    unit = np.concatenate([beams, final], axis=1)
    mom = np.concatenate([100.0 * unit, 300.0 * unit])
    me2 = matrix_element(mom, pdg, EWParams(z_exchange=False))
    np.testing.assert_allclose(me2[len(unit) :] / me2[: len(unit)], 3.0**-4, rtol=1e-10)
    model = DipoleModel(pdg, hidden=(4,))
    x, terms = model.inputs(torch.from_numpy(mom))
    model.fit_scalers(x, terms, torch.from_numpy(me2))
    col = model.features.names.index("log_shat")
    slope = float(model.skip_weight[col] / model.x_norm.std[col])
    assert slope == pytest.approx(-1.0, abs=1e-9)


def test_target_transform_round_trip_over_many_decades() -> None:
    me2 = torch.from_numpy(np.geomspace(1e-12, 1e-2, 101))
    t = TargetTransform()
    t.fit(me2)
    z = t.encode(me2)
    assert float(z.mean()) == pytest.approx(0.0, abs=1e-12)
    assert float(z.std()) == pytest.approx(1.0, rel=1e-12)
    torch.testing.assert_close(t.decode(z), me2, rtol=1e-13, atol=0.0)
    # scale below the bulk: the transform is logarithmic there, so equal ratios give equal steps
    steps = torch.diff(z[60:])
    assert float(steps.std() / steps.mean()) < 1e-6


def test_target_scale_from_the_whole_split_keeps_a_subsample_logarithmic() -> None:
    """An importance subsample (the heavy points and 2% of the light ones) sets the standardisation, the
    whole split the asinh scale: at the split's smallest |M|², a network error δ in the standardised target
    is then a relative error std·δ (the log regime) and cannot flip the sign; from the subsample alone
    the same δ there is a relative error > 1."""
    rng = np.random.default_rng(1)
    split = torch.from_numpy(10.0 ** rng.uniform(-19.0, -9.0, 20000))
    kept = torch.cat([split[split > 1e-13], split[split <= 1e-13][::50]])
    lightest = split.min().reshape(1)
    delta = 0.1
    own, whole = TargetTransform(), TargetTransform()
    own.fit(kept)
    whole.fit(kept, scale_from=split)
    assert float(whole.scale) == pytest.approx(0.1 * float(torch.quantile(split, 0.01)), rel=1e-12)
    torch.testing.assert_close(whole.mean, torch.asinh(kept / whole.scale).mean(), rtol=1e-13, atol=0.0)
    for t in (own, whole):
        torch.testing.assert_close(t.decode(t.encode(lightest)), lightest, rtol=1e-12, atol=0.0)
    moved = {name: float(t.decode(t.encode(lightest) - delta) / lightest) for name, t in
             (("own", own), ("whole", whole))}
    # (the lightest point sits ≈ 10× above the scale, where asinh is a logarithm to within 1%)
    assert moved["whole"] == pytest.approx(float(torch.exp(-delta * whole.std)), rel=1e-2), moved
    assert moved["own"] < 0.0, moved  # the sign flip seen at Z+4 (issue 16)


def test_standardised_inputs_and_constant_columns(points: tuple[torch.Tensor, torch.Tensor]) -> None:
    p, me2 = points
    model = MLPModel(PDG3, hidden=(4,))
    x, terms = model.inputs(p)
    model.fit_scalers(x, terms, me2)
    xs = model.x_norm(x)
    spread = x.std(0) > 1e-9
    torch.testing.assert_close(xs.mean(0), torch.zeros_like(xs.mean(0)), rtol=0.0, atol=1e-12)
    torch.testing.assert_close(xs.std(0)[spread], torch.ones(int(spread.sum()), dtype=torch.float64))
    assert bool(torch.isfinite(xs).all())
    # the scalers are buffers, so they travel with state_dict and into the ONNX graph
    keys = set(model.state_dict())
    assert {"x_norm.mean", "x_norm.std", "target.scale", "target.mean", "target.std"} <= keys


def test_mlp_predicts_the_decoded_network_output(points: tuple[torch.Tensor, torch.Tensor]) -> None:
    p, me2 = points
    model = MLPModel(PDG3, hidden=(4,)).eval()
    x, terms = model.inputs(p)
    model.fit_scalers(x, terms, me2)
    with torch.no_grad():
        model.net[-1].weight.zero_()
        model.net[-1].bias.zero_()
        pred, _ = model(p)
    # output 0 is the mean of the standardised target: scale * sinh(mean of asinh(me2/scale))
    want = model.target.scale * torch.sinh(model.target.mean)
    torch.testing.assert_close(pred, want.expand_as(pred), rtol=1e-13, atol=0.0)


def test_ensemble_mean_and_sample_spread(points: tuple[torch.Tensor, torch.Tensor]) -> None:
    p, me2 = points
    members = []
    for seed in range(3):
        torch.manual_seed(seed)
        m = DipoleModel(PDG3, hidden=(8,))
        x, terms = m.inputs(p)
        m.fit_scalers(x, terms, me2)
        with torch.no_grad():  # as after training: replicas differ (untrained ones all equal the skip)
            m.net[-1].weight.normal_(0.0, 0.1)
        members.append(m.eval())
    ens = Ensemble(members).eval()
    with torch.no_grad():
        mean, std = ens(p)
        each = np.stack([m(p)[0].numpy() for m in members])
    np.testing.assert_allclose(mean.numpy(), each.mean(0), rtol=1e-13)
    np.testing.assert_allclose(std.numpy(), each.std(0, ddof=1), rtol=1e-10)
    assert bool((std > 0).all())
    with torch.no_grad():
        _, std1 = Ensemble(members[:1])(p)
    assert bool((std1 == 0).all())


def test_model_kinds_share_the_surrogate_base() -> None:
    with pytest.raises(TypeError, match="abstract"):
        Surrogate(PDG3, 2, None)  # type: ignore[abstract]
    for kind in ModelKind:
        model = build_model(str(kind), PDG3, hidden=(4,))
        assert isinstance(model, Surrogate) and model.kind is kind
        assert model.member_models() == [model] and model.replicas == 1
        exported = model.for_export()
        assert not exported.training and exported.x_norm.folded and not model.x_norm.folded


def test_ensemble_and_builder_refuse_inconsistent_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])
    with pytest.raises(ValueError, match="members differ"):
        Ensemble([DipoleModel(PDG3, hidden=(4,)), MLPModel(PDG3, hidden=(4,))])
    with pytest.raises(ValueError, match="unknown model kind 'bdt'"):
        build_model("bdt", PDG3)
    with pytest.raises(ValueError, match="unknown activation"):
        build_model("mlp", PDG3, activation="swish2")


def test_folded_standardisation_keeps_the_function(points: tuple[torch.Tensor, torch.Tensor]) -> None:
    """Folding (x - mean)/std into the first Linear layer (export-time rewrite) keeps me2 to rounding."""
    import copy

    p, me2 = points
    torch.manual_seed(3)
    for kind in ("dipole", "mlp"):
        model = build_model(kind, PDG3, hidden=(16, 16)).eval()
        x, terms = model.inputs(p)
        model.fit_scalers(x, terms, me2)
        with torch.no_grad():  # a network whose output depends strongly on the inputs
            for layer in model.net:
                if isinstance(layer, torch.nn.Linear):
                    layer.weight.normal_(0.0, 0.5)
            want = model(p)[0]
        folded = copy.deepcopy(model)
        folded.fold_standardisation()
        assert folded.x_norm.folded and not model.x_norm.folded
        assert not torch.equal(folded.net[0].weight, model.net[0].weight)
        with torch.no_grad():
            got = folded(p)[0]
            assert torch.equal(folded.x_norm(x), x)
        torch.testing.assert_close(got, want, rtol=1e-11, atol=0.0)


@pytest.mark.parametrize(
    ("dtype", "rtol", "atol"), [(torch.float64, 1e-14, 4e-15), (torch.float32, 1e-6, 1e-9)]
)
def test_eval_mode_silu_is_torchs_silu(dtype: torch.dtype, rtol: float, atol: float) -> None:
    """The export-friendly SiLU forms (h + h·tanh h in float64, x·sigmoid x in float32) are SiLU."""
    net = build_model("mlp", [11, -11, 1, -1, 21], 2, (8,), "silu").net.to(dtype)
    act = next(m for m in net if isinstance(m, torch.nn.SiLU)).eval()
    x = torch.linspace(-30.0, 30.0, 2001, dtype=torch.float64)
    want = torch.nn.functional.silu(x)
    got = act(x.to(dtype)).to(torch.float64)
    # float64: h + h·tanh h cancels for x ≪ 0: an absolute error ≈ 1e-16 |x| (what the next layer sees)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_pair_major_network_is_the_network_transposed(dtype: torch.dtype) -> None:
    # run_net_pair_major (the last layer as W·hᵀ + b, no Transpose in the graph) against run_net on the
    # transposed inputs: the same layers, so equal up to the matmul kernels' rounding
    torch.manual_seed(5)
    net = build_net(12, (16, 16), 7, "silu").to(dtype).eval()
    x = torch.randn(40, 12, dtype=torch.float64)
    with torch.no_grad():
        got = run_net_pair_major(net, x.T)
        want = run_net(net, x)
    assert got.shape == (7, 40) and got.dtype == torch.float64
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(got.numpy(), want.T.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("phi_bias", [0.0, -10.0, 10.0])
def test_bracket_stays_positive_when_the_azimuthal_part_runs_away(
    sherpa_ee: Path, tmp_path: Path, phi_bias: float
) -> None:
    """e+e- → 4 jets (one g → gg azimuthal pair, |Φ_φ| ≤ 0.22 S here): with the φ coefficients set to ±10 the
    plain bracket v = S + Φ = Σ_k w_k|D_k| + Σ_φ c_φ Φ_φ turns negative at some points.  The model and its
    ONNX graph give max(v, δS) instead: positive everywhere, and v itself, exactly, wherever v ≥ δS.
    Training's |M|² keeps v."""
    batch = read_dump(sherpa_ee / "ee_4j_ycut0.001.npz").take(np.arange(300))
    assert batch.me2 is not None
    p, me2 = torch.from_numpy(batch.momenta), torch.from_numpy(batch.me2)
    torch.manual_seed(0)
    model = DipoleModel(batch.pdg.tolist(), hidden=(8,)).eval()
    x, terms = model.inputs(p)
    model.fit_scalers(x, terms, me2)
    n_dip = model.n_dipoles
    bias = np.zeros(1 + model.n_terms)
    bias[1 + n_dip :] = phi_bias
    with torch.no_grad():
        model.net[-1].weight.zero_()
        model.net[-1].bias.copy_(torch.from_numpy(bias))
        got = model(p)[0].numpy()  # the per-family path (more than FUSED_BATCH_MAX points)
        small = [model(p[i : i + FUSED_BATCH_MAX])[0] for i in range(0, len(p), FUSED_BATCH_MAX)]
    basis = DipoleBasis(batch.pdg.tolist())(p).numpy()
    xs = ((x - model.x_norm.mean) / model.x_norm.std).numpy()
    amp = np.exp(xs @ model.skip_weight.numpy() + float(model.skip_bias))
    s = np.abs(basis[:, :n_dip]).sum(-1)  # every weight 1 at a zero network output
    v = s + basis[:, n_dip:] @ bias[1 + n_dip :]
    floor = BRACKET_FLOOR * s
    want = amp * np.maximum(v, floor)
    if phi_bias:
        assert (v < 0).any()  # the case the floor exists for
    assert (got > 0).all()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0.0)
    with torch.no_grad():  # training's |M|² keeps the plain bracket (its gradient reaches Φ everywhere)
        np.testing.assert_allclose(model.me2_from_inputs(x, terms).numpy(), amp * v, rtol=1e-9, atol=0.0)
    # the fused pair-major path of small batches (a generator's per-event calls)
    np.testing.assert_allclose(torch.cat(small).numpy(), want, rtol=1e-12, atol=0.0)
    path = export_onnx(Ensemble([model]), tmp_path / "floor.onnx", {"process": batch.process})
    onnx = OnnxSurrogate(path)
    for size in (len(p), 1):  # ONNX Runtime: the large-batch branch, and the small-batch graph
        onnx_me2 = np.concatenate([onnx.predict(batch.momenta[i : i + size])[0] for i in range(0, 40, size)])
        assert (onnx_me2 > 0).all()
        np.testing.assert_allclose(onnx_me2, want[: len(onnx_me2)], rtol=1e-9, atol=0.0)


@pytest.mark.parametrize("kind", [ModelKind.DIPOLE, ModelKind.MLP])
def test_rescale_multiplies_every_prediction_exactly(
    points: tuple[torch.Tensor, torch.Tensor], tmp_path: Path, kind: ModelKind
) -> None:
    """``rescale(λ)`` multiplies |M|² by λ at every point, in torch (both input paths) and in the exported
    graph (large batches and batch 1), for both families: their read-outs differ (the dipole model's
    exp(L), the MLP's decoded asinh target), so each has its own hook."""
    p, me2 = points
    torch.manual_seed(1)
    model = build_model(kind, PDG3, 2, hidden=(8,)).eval()
    x, terms = model.inputs(p)
    model.fit_scalers(x, terms, me2)
    with torch.no_grad():
        before = model(p)[0].numpy()
        before_small = model(p[:FUSED_BATCH_MAX])[0].numpy()
        model.rescale(2.5)
        after = model(p)[0].numpy()
        after_small = model(p[:FUSED_BATCH_MAX])[0].numpy()
    np.testing.assert_allclose(after, 2.5 * before, rtol=1e-12, atol=0.0)
    np.testing.assert_allclose(after_small, 2.5 * before_small, rtol=1e-12, atol=0.0)
    onnx = OnnxSurrogate(export_onnx(Ensemble([model]), tmp_path / "scaled.onnx", {"process": "ee3j"}))
    np.testing.assert_allclose(onnx.predict(p.numpy())[0], after, rtol=1e-9, atol=0.0)
    np.testing.assert_allclose(onnx.predict(p.numpy()[:1])[0], after[:1], rtol=1e-9, atol=0.0)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="rescale factor"):
            model.rescale(bad)


def test_pointwise_loss_is_the_mean_square_at_zero_and_grows_linearly_beyond_delta() -> None:
    """:func:`pointwise_loss`: δ = 0 is the (weighted) mean square; for |r| ≪ δ the pseudo-Huber loss is
    r²(1 − r²/(4δ²)); for |r| ≫ δ it is 2δ|r| − 2δ² + δ³/|r| + …, with a gradient that tends to 2δ·sign(r)
    and never exceeds 2δ in size; in float32 it stays r² where (r/δ)² would vanish against 1."""
    r = torch.tensor([-3.0, -0.5, 0.2, 1.0, 4.0], dtype=torch.float64)
    w = torch.tensor([1.0, 2.0, 0.5, 1.0, 0.5], dtype=torch.float64)
    assert float(pointwise_loss(r, w)) == pytest.approx(float(np.mean(w.numpy() * r.numpy() ** 2)), rel=1e-15)
    small = torch.tensor([1e-3, -2e-3], dtype=torch.float64)
    got = float(pointwise_loss(small, None, 1.0))
    want = float(np.mean(small.numpy() ** 2 * (1.0 - small.numpy() ** 2 / 4.0)))
    assert got == pytest.approx(want, rel=1e-11)
    delta = 0.01
    big = torch.tensor([-50.0, 20.0, 100.0], dtype=torch.float64, requires_grad=True)
    loss = pointwise_loss(big, None, delta)
    linear = float(np.mean(2.0 * delta * np.abs(big.detach().numpy()) - 2.0 * delta**2))
    assert abs(float(loss.detach()) - linear) < 2.0 * delta**3 / 20.0
    loss.backward()  # type: ignore[no-untyped-call]
    assert big.grad is not None
    slope = big.grad.numpy() * big.numel()  # d rho / d r per point
    assert np.all(np.abs(slope) < 2.0 * delta)
    np.testing.assert_allclose(slope, 2.0 * delta * np.sign(big.detach().numpy()), rtol=2e-7)  # 1 − δ²/(2r²)
    tiny = torch.tensor([1e-3], dtype=torch.float32)
    assert float(pointwise_loss(tiny, None, 1e4)) == pytest.approx(1e-6, rel=1e-6)  # no cancellation


def test_bf16_hidden_rounds_the_hidden_products_in_training_mode_only() -> None:
    torch.manual_seed(3)
    net = build_net(7, (16, 16), 3, "silu").to(torch.float32)
    x = torch.randn(64, 7)
    plain = torch.nn.Sequential(*net)  # the same layers as a plain sequence
    net.train()
    torch.testing.assert_close(net(x), plain(x), rtol=0.0, atol=0.0)  # flag off: the plain network
    net.bf16_hidden = True
    # by hand: each hidden product from bfloat16 inputs and weights, SiLU on the bfloat16 result, the
    # readout in float32 on it
    h = x
    for layer in list(net)[:-1]:
        if isinstance(layer, torch.nn.Linear):
            h = torch.nn.functional.linear(h.bfloat16(), layer.weight.bfloat16(), layer.bias.bfloat16())
        else:
            h = torch.nn.functional.silu(h)
    by_hand = net[-1](h.float())
    got = net(x)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, by_hand, rtol=2e-2, atol=2e-3)
    assert not torch.allclose(got, plain(x), rtol=1e-4, atol=1e-5)  # it is rounded
    got.square().sum().backward()  # gradients reach the float32 weights
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in net.parameters())
    net.eval()  # evaluation (and the exported graph) is the plain network, flag or not
    with torch.no_grad():
        torch.testing.assert_close(net(x), plain(x), rtol=0.0, atol=0.0)
