"""The model families: the factorised form Σ C_k D_k, the asinh target transform, scalers, ensembles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from fame_surrogate.dipoles import DipoleBasis
from fame_surrogate.models import DipoleModel, Ensemble, MLPModel, TargetTransform, build_model
from lhe_tools import read_dump

PDG3 = [11, -11, 21, 1, -1]


@pytest.fixture(scope="module")
def points(sherpa_ee: Path) -> tuple[torch.Tensor, torch.Tensor]:
    batch = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(np.arange(400))
    assert batch.me2 is not None
    return torch.from_numpy(batch.momenta), torch.from_numpy(batch.me2)


def test_dipole_model_is_the_factorised_sum(points: tuple[torch.Tensor, torch.Tensor]) -> None:
    """With a constant network output b, me2 = c_scale sinh(b) Σ_k D_k exactly (FAME's ansatz)."""
    p, me2 = points
    torch.manual_seed(0)
    model = DipoleModel(PDG3, hidden=(8,)).eval()
    x, terms = model.inputs(p)
    model.fit_scalers(x, terms, me2)
    b = 0.37
    with torch.no_grad():
        model.net[-1].weight.zero_()
        model.net[-1].bias.fill_(b)
        got, std = model(p)
    basis = DipoleBasis(PDG3)(p)
    want = float(model.c_scale) * math.sinh(b) * basis.sum(-1)
    torch.testing.assert_close(got, want, rtol=1e-13, atol=0.0)
    assert got.dtype == torch.float64
    assert bool((std == 0).all())
    # c_scale is the median ratio of |M|^2 to the summed dipoles (so training starts near the answer)
    assert float(model.c_scale) == pytest.approx(float(torch.median(me2 / basis.sum(-1))), rel=1e-12)


def test_untrained_dipole_model_starts_at_c_scale_times_dipole_sum(
    points: tuple[torch.Tensor, torch.Tensor],
) -> None:
    """Before any training (C_k ≈ c_scale) the dipole sum already follows Sherpa's |M|^2 from point to point.

    c_scale fixes only the overall scale (the median ratio is 1 by construction); the shape comes from the
    Catani-Seymour dipoles alone, so it is the spread and the ranking against the truth that test them."""
    p, me2 = points
    torch.manual_seed(1)
    model = DipoleModel(PDG3).eval()
    x, terms = model.inputs(p)
    model.fit_scalers(x, terms, me2)
    with torch.no_grad():
        pred, _ = model(p)
    log_dev = np.log((pred / me2).numpy())
    log_me2 = np.log(me2.numpy())
    # the best constant is off by exp(std(log |M|^2)) ≈ e^1.4 typically; the untrained model by ≈ e^0.8
    assert log_dev.std() < 0.6 * log_me2.std()
    assert stats.spearmanr(pred.numpy(), me2.numpy()).statistic > 0.7
    # control: the same predictions on shuffled points carry no information
    shuffled = pred.numpy()[np.random.default_rng(0).permutation(len(pred))]
    assert abs(stats.spearmanr(shuffled, me2.numpy()).statistic) < 0.2


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

    from fame_surrogate.models import fold_input_standardisation

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
        fold_input_standardisation(folded.x_norm, folded.net)
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
