"""Training on real Sherpa e+e- -> 3 jet points: it learns, is deterministic, honours budgets and options."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from fame_surrogate._cpu import native_bf16
from fame_surrogate.config import (
    DEFAULT_HIDDEN,
    DEFAULT_OPTIMIZER,
    HADRONIC_HIDDEN,
    HADRONIC_HUBER_DELTA,
    HADRONIC_WEIGHT_DECAY,
    IMPORTANCE_FLOOR,
    LARGE_SET_BATCH,
    LARGE_SET_POINTS,
    SMALL_SET_BATCH,
    SMALL_SUBSAMPLE_FLOOR,
    SMALL_SUBSAMPLE_POINTS,
    UNWEIGHTING_IMPORTANCE,
    Activation,
    Clock,
    Loss,
    ModelKind,
    Precision,
    Symmetry,
    TrainConfig,
)
from fame_surrogate.importance import importance_subsample, keep_probability
from fame_surrogate.split import validation_split
from fame_surrogate.train import TrainResult, train_replica, train_surrogate
from fame_surrogate.training_data import prepare_training
from fame_surrogate.validation import TwoStageResult, accuracy, two_stage
from lhe_tools import EventBatch, read_dump

SMALL = TrainConfig(
    replicas=1, hidden=(32, 32), epochs=30, batch_size=64, lr=1e-2, val_fraction=0.25, patience=100
)


@pytest.fixture(scope="module")
def batch3(sherpa_ee: Path) -> EventBatch:
    return read_dump(sherpa_ee / "ee_3j_ycut0.01.npz").take(np.arange(800))


@pytest.fixture(scope="module")
def trained(batch3: EventBatch) -> TrainResult:
    return train_surrogate(batch3, SMALL)


def _val(batch: EventBatch, result: TrainResult) -> tuple[np.ndarray, np.ndarray]:
    p = torch.from_numpy(batch.momenta[result.val_index])
    with torch.no_grad():
        pred = result.model(p)[0].numpy()
    assert batch.me2 is not None
    return pred, batch.me2[result.val_index]


def test_dipole_model_learns_far_beyond_a_constant(batch3: EventBatch, trained: TrainResult) -> None:
    pred, truth = _val(batch3, trained)
    assert batch3.me2 is not None
    train_mask = np.ones(len(batch3.me2), dtype=bool)
    train_mask[trained.val_index] = False
    constant = np.full_like(truth, np.median(batch3.me2[train_mask]))
    acc, acc_const = accuracy(pred, truth), accuracy(constant, truth)
    # |M|^2 varies over orders of magnitude; a constant is off by O(1), the surrogate by a few percent
    assert acc_const.median_abs_rel_dev > 0.3
    assert acc.median_abs_rel_dev < 0.1 * acc_const.median_abs_rel_dev
    assert acc.frac_within_1pct > 0.08 > 4 * acc_const.frac_within_1pct
    # the reported metrics are the accuracy on exactly these held-out points
    assert trained.metrics.val_median_abs_rel_dev == pytest.approx(acc.median_abs_rel_dev, rel=1e-12)
    assert trained.metrics.n_val == 200 and trained.metrics.n_train == 600
    losses = [h["val_loss"] for h in trained.history[0]]
    assert min(losses) < 0.05 * losses[0]


def test_training_is_deterministic_with_a_seed(batch3: EventBatch, trained: TrainResult) -> None:
    again = train_surrogate(batch3, SMALL)
    p = torch.from_numpy(batch3.momenta[:50])
    with torch.no_grad():
        a, b = trained.model(p)[0], again.model(p)[0]
    assert torch.equal(a, b)
    np.testing.assert_array_equal(trained.val_index, again.val_index)
    other = train_surrogate(batch3, dataclasses.replace(SMALL, seed=1, epochs=2))
    with torch.no_grad():
        c = other.model(p)[0]
    assert not torch.equal(a, c)


def test_mlp_baseline_learns(batch3: EventBatch) -> None:
    res = train_surrogate(batch3, dataclasses.replace(SMALL, model="mlp"))
    pred, truth = _val(batch3, res)
    assert accuracy(pred, truth).median_abs_rel_dev < 0.1
    assert res.model.kind == "mlp"


def test_muon_by_default_and_adamw_on_request(batch3: EventBatch, trained: TrainResult) -> None:
    """The default optimiser is Muon (on the hidden matrices, AdamW on the rest), for lepton beams too;
    ``optimizer="adamw"`` also fits e+e- → 3 jets to within 10% on a typical held-out point, reproducibly
    with a seed, and trains other weights."""
    assert trained.metrics.optimizer == DEFAULT_OPTIMIZER == "muon"
    # None (a configuration written when it meant "decided by the beams") is the default, not AdamW
    assert TrainConfig(optimizer=None).optimizer is DEFAULT_OPTIMIZER  # type: ignore[arg-type]
    cfg = dataclasses.replace(SMALL, optimizer="adamw")
    res, again = train_surrogate(batch3, cfg), train_surrogate(batch3, cfg)
    pred, truth = _val(batch3, res)
    assert accuracy(pred, truth).median_abs_rel_dev < 0.1
    assert res.metrics.optimizer == "adamw"
    p = torch.from_numpy(batch3.momenta[:50])
    with torch.no_grad():
        a, b, c = res.model(p)[0], again.model(p)[0], trained.model(p)[0]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_replicas_float32_and_time_budget(batch3: EventBatch) -> None:
    # a CPU-time budget (clock="cpu"): what a loaded machine takes away is wall time, not this process's CPU
    cfg = dataclasses.replace(
        SMALL, replicas=2, epochs=10_000, max_seconds=3.0, dtype="float32", clock="cpu", threads=1
    )
    cpu0 = time.process_time()
    res = train_surrogate(batch3, cfg)
    cpu = time.process_time() - cpu0
    assert res.metrics.stopped == ["time", "time"]
    assert 3.0 < cpu < 3.0 + 2.5  # the budget is checked after each epoch
    assert res.model.replicas == 2
    p = torch.from_numpy(batch3.momenta[res.val_index])
    with torch.no_grad():
        mean, std = res.model(p)
        each = torch.stack([m(p)[0] for m in res.model.members])
    floats = [t for t in res.model.state_dict().values() if t.is_floating_point()]
    assert mean.dtype == torch.float64 and all(t.dtype == torch.float64 for t in floats)
    torch.testing.assert_close(mean, each.mean(0), rtol=1e-13, atol=0.0)
    assert bool((std > 0).all())
    assert batch3.me2 is not None
    # a few seconds of float32 training already beat a constant (median deviation 0.84 here) by far
    assert accuracy(mean.numpy(), batch3.me2[res.val_index]).median_abs_rel_dev < 0.3


def test_gain_loss_phase_runs_after_mse(batch3: EventBatch) -> None:
    cfg = dataclasses.replace(SMALL, epochs=5, loss="gain", gain_epochs=3, gain_lr=3e-4)
    res = train_surrogate(batch3, cfg)
    assert len(res.history[0]) == 8
    assert [h["lr"] for h in res.history[0][5:]] == [3e-4] * 3  # the gain phase runs at its own rate
    pred, truth = _val(batch3, res)
    assert np.isfinite(pred).all() and accuracy(pred, truth).median_abs_rel_dev < 0.5
    with pytest.raises(ValueError, match="gain_lr=0"):
        TrainConfig(gain_lr=0.0)
    with pytest.raises(ValueError, match=r"gain_fraction=1\.5"):
        TrainConfig(gain_fraction=1.5)


def test_ema_decay_validates_and_returns_the_averaged_parameters(batch3: EventBatch) -> None:
    """``ema_decay`` near 1 keeps the average at the initial network: the validation loss stays flat while
    the training loss falls, and the returned model is as good as untrained; a moderate decay trains."""
    frozen = dataclasses.replace(SMALL, epochs=6, ema_decay=1.0 - 1e-12)
    res = train_surrogate(batch3, frozen)
    val = [h["val_loss"] for h in res.history[0]]
    train = [h["train_loss"] for h in res.history[0]]
    np.testing.assert_allclose(val, val[0], rtol=1e-6)
    assert train[-1] < 0.5 * train[0]
    plain = train_surrogate(batch3, dataclasses.replace(SMALL, epochs=6))
    assert plain.history[0][-1]["val_loss"] < 0.5 * val[0]
    averaged = train_surrogate(batch3, dataclasses.replace(SMALL, epochs=6, ema_decay=0.9))
    assert averaged.history[0][-1]["val_loss"] < 0.5 * val[0]
    pred, truth = _val(batch3, res)
    pred_plain, _ = _val(batch3, plain)
    assert accuracy(pred, truth).median_abs_rel_dev > 2 * accuracy(pred_plain, truth).median_abs_rel_dev
    with pytest.raises(ValueError, match="ema_decay=1"):
        TrainConfig(ema_decay=1.0)


@pytest.mark.parametrize("weight_decay", [0.0, 1e10])
def test_weight_decay_scales_every_parameter_by_one_minus_lr_times_decay(
    batch3: EventBatch, weight_decay: float
) -> None:
    """Decoupled weight decay (AdamW) in every training step: at a learning rate so small that Adam's own
    steps vanish (1e-12), one epoch of N steps at a constant rate leaves each network parameter at
    p0 (1 − lr·weight_decay)^N, and without decay where it started."""
    lr = 1e-12
    cfg = dataclasses.replace(
        SMALL, epochs=1, lr=lr, min_lr=lr, decay_fraction=0.0, max_seconds=None, weight_decay=weight_decay
    )
    prepared = prepare_training(batch3, cfg)
    model = prepared.models[0]
    start = {k: v.clone() for k, v in model.net.state_dict().items()}
    train_replica(model, prepared.replica_data(0), prepared.config, 0, None)
    steps = -(-prepared.data["x"].shape[0] // prepared.config.resolved_batch_size)
    assert steps >= 5
    factor = (1.0 - lr * weight_decay) ** steps
    for k, v in model.net.state_dict().items():
        torch.testing.assert_close(v, start[k] * factor, rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError, match="weight_decay=-1"):
        TrainConfig(weight_decay=-1.0)


def test_huber_delta_is_the_mean_square_in_its_limit_and_the_pseudo_huber_loss_below(
    batch3: EventBatch,
) -> None:
    """``huber_delta`` δ (in ln|M|²): δ → ∞ trains exactly as the mean square (δ = 0); a finite δ trains
    another model, and its validation loss is the pseudo-Huber loss in its textbook form, 2δ_z²(√(1 +
    (r/δ_z)²) − 1) (twice the usual δ², so that it is r² for small r), of the held-out standardised
    residuals r, δ_z = δ over the target's standard deviation, recomputed here in numpy from the returned
    model."""
    cfg = dataclasses.replace(SMALL, epochs=1)
    mse, limit, huber = (
        train_surrogate(batch3, dataclasses.replace(cfg, huber_delta=delta)) for delta in (0.0, 1e30, 0.005)
    )
    nets = [run.model.members[0].net.parameters() for run in (mse, limit, huber)]
    for a, b, c in zip(*nets, strict=True):  # the trained weights
        torch.testing.assert_close(a, b, rtol=0.0, atol=0.0)
        assert not torch.equal(a, c)
    assert (mse.metrics.huber_delta, huber.metrics.huber_delta) == (0.0, 0.005)
    member = huber.model.members[0]
    pred, truth = _val(batch3, huber)
    z = (np.arcsinh(np.array([pred, truth]) / float(member.target.scale)) - float(member.target.mean))
    r = (z[0] - z[1]) / float(member.target.std)
    d = 0.005 / float(member.target.std)
    want = np.mean(2.0 * d * d * (np.sqrt(1.0 + (r / d) ** 2) - 1.0))
    assert huber.history[0][-1]["val_loss"] == pytest.approx(want, rel=2e-3)
    assert want < 0.5 * np.mean(r**2)  # most residuals lie beyond δ_z: the mean square would not match
    for bad in (-1.0, 1e-12, float("inf"), float("nan")):
        with pytest.raises(ValueError, match=f"huber_delta={bad}"):
            TrainConfig(huber_delta=bad)


def test_gain_fraction_one_runs_only_the_gain_phase(batch3: EventBatch) -> None:
    """``gain_fraction=1`` with a budget: the gain phase from the first epoch (bench_gain_phase.py's use)."""
    cfg = dataclasses.replace(
        SMALL, loss="gain", gain_fraction=1.0, gain_epochs=2, gain_lr=3e-4, max_seconds=60.0
    )
    res = train_surrogate(batch3, cfg)
    assert [h["lr"] for h in res.history[0]] == [3e-4] * 2


@dataclasses.dataclass(frozen=True)
class _GainRun:
    """A short run with the gain phase on ``batch3`` with a far from flat non-ME weight ``c``, scored on its
    held-out points: the surrogate's and the exact |M|², the reference two-stage unweighter's efficiencies
    of w = c·|M|², and the best held-out loss of the gain epochs (the one whose model is returned)."""

    config: TrainConfig
    result: TrainResult
    pred: np.ndarray
    truth: np.ndarray
    ref: TwoStageResult
    best: float


def _gain_run(batch: EventBatch, **changes: Any) -> _GainRun:
    assert batch.me2 is not None
    c = np.random.default_rng(3).lognormal(0.0, 2.0, len(batch))
    weighted = dataclasses.replace(batch, ps_weight=c, weight=c * batch.me2)
    cfg = dataclasses.replace(SMALL, epochs=4, loss="gain", gain_epochs=3, **changes)
    res = train_surrogate(weighted, cfg)
    pred, truth = _val(weighted, res)
    cv = c[res.val_index]
    ref = two_stage(cv * truth, cv * pred, np.random.default_rng(0))
    best = min(h["val_loss"] for h in res.history[0][-3:])
    return _GainRun(cfg, res, pred, truth, ref, best)


def test_gain_phase_weighs_points_by_their_phase_space_weight(batch3: EventBatch) -> None:
    """Weighted events: the gain loss sees w = ps_weight·|M|², as the reference two-stage unweighter does."""
    run = _gain_run(batch3)
    ref = run.ref
    r = run.config.gain_time_ratio  # the r the gain phase trains with
    want = np.log(r / (ref.eps_1 * ref.eps_2) + 1.0 / ref.eps_2)
    assert run.best == pytest.approx(want, rel=2e-3)
    unweighted = two_stage(run.truth, run.pred, np.random.default_rng(0))  # ignoring ps_weight
    assert abs(np.log(r / (unweighted.eps_1 * unweighted.eps_2) + 1.0 / unweighted.eps_2) - want) > 0.05


def test_gain_time_ratio_zero_trains_on_eps_2_alone(batch3: EventBatch) -> None:
    """``gain_time_ratio`` r = 0: the gain phase's loss is −log ε_2 of the reference two-stage unweighter,
    whatever ε_1 is (the default r > 0 adds log(r/ε_1 + 1), the test above)."""
    run = _gain_run(batch3, gain_time_ratio=0.0)
    assert run.best == pytest.approx(-np.log(run.ref.eps_2), rel=2e-3)
    r = SMALL.gain_time_ratio  # the default's ε_1 term at the same predictions is no rounding
    assert np.log(r / run.ref.eps_1 + 1.0) > 0.05 * abs(run.best)
    with pytest.raises(ValueError, match=r"gain_time_ratio=-0\.1"):
        TrainConfig(gain_time_ratio=-0.1)


def test_gain_phase_leaves_the_scale_to_the_held_out_median(batch3: EventBatch) -> None:
    """The gain loss does not fix the surrogate's scale (ε_1 and ε_2 do not change under s → λs).  After the
    gain phase each replica is rescaled so that the held-out median of ln(s/|M|²) is 0: the same run
    without the rescaling differs by that one factor at every point, with the same efficiencies."""
    run = _gain_run(batch3, gain_time_ratio=0.0)
    plain = _gain_run(batch3, gain_time_ratio=0.0, gain_rescale=False)
    shift = float(np.median(np.log(plain.pred / plain.truth)))
    assert abs(shift) > 1e-3  # the drift the rescaling takes out is no rounding
    assert abs(np.median(np.log(run.pred / run.truth))) < 1e-5  # (training's float32 inputs: 1e-7)
    np.testing.assert_allclose(run.pred, plain.pred * np.exp(-shift), rtol=1e-5, atol=0.0)
    assert np.std(np.log(run.pred / plain.pred)) < 1e-12  # one factor for every point
    assert (run.ref.eps_1, run.ref.eps_2) == pytest.approx((plain.ref.eps_1, plain.ref.eps_2), rel=1e-9)
    assert run.best == plain.best  # the gain phase itself is the same


def test_gain_phase_adds_the_mse_with_its_weight(batch3: EventBatch) -> None:
    """``gain_mse_weight`` μ: the gain phase minimises the gain loss plus μ × the MSE of the standardised
    target; both are recomputed here on the held-out points, with the reference two-stage unweighter and
    the returned model's own target transform."""
    mu = 30.0
    run = _gain_run(batch3, gain_mse_weight=mu)
    ref = run.ref
    r = run.config.gain_time_ratio
    gain = np.log(r / (ref.eps_1 * ref.eps_2) + 1.0 / ref.eps_2)
    encode = run.result.model.members[0].target.encode
    mse = float(torch.mean((encode(torch.from_numpy(run.pred)) - encode(torch.from_numpy(run.truth))) ** 2))
    assert run.best == pytest.approx(gain + mu * mse, rel=2e-3)
    assert mu * mse > 0.05 * gain  # the MSE term is no rounding: leaving it out would fail the line above
    with pytest.raises(ValueError, match="gain_mse_weight=-1"):
        TrainConfig(gain_mse_weight=-1.0)


def test_weight_power_fits_the_points_that_carry_the_cross_section(batch3: EventBatch) -> None:
    """Half the points carry no cross section and a corrupted |M|²: weighting by |w|^p ignores them."""
    assert batch3.me2 is not None
    rng = np.random.default_rng(5)
    junk = rng.random(len(batch3)) < 0.5
    me2 = np.where(junk, batch3.me2 * 10.0 ** rng.uniform(-1.0, 1.0, len(batch3)), batch3.me2)
    weight = np.where(junk, 1e-9, 1.0) * batch3.me2
    data = dataclasses.replace(batch3, me2=me2, weight=weight)
    devs = {}
    for power in (0.0, 0.5):
        res = train_surrogate(data, dataclasses.replace(SMALL, weight_power=power))
        clean = res.val_index[~junk[res.val_index]]
        with torch.no_grad():
            pred = res.model(torch.from_numpy(batch3.momenta[clean]))[0].numpy()
        devs[power] = accuracy(pred, batch3.me2[clean]).median_abs_rel_dev
    assert devs[0.5] < 0.5 * devs[0.0], devs
    with pytest.raises(ValueError, match="weight_power=-1"):
        TrainConfig(weight_power=-1.0)


def test_importance_subsample_trains_on_the_points_that_carry_the_cross_section(batch3: EventBatch) -> None:
    """As above, with the junk points mostly left out of training (importance.py) instead of down-weighted."""
    assert batch3.me2 is not None
    rng = np.random.default_rng(5)
    junk = rng.random(len(batch3)) < 0.5
    me2 = np.where(junk, batch3.me2 * 10.0 ** rng.uniform(-1.0, 1.0, len(batch3)), batch3.me2)
    data = dataclasses.replace(batch3, me2=me2, weight=np.where(junk, 1e-9, 1.0))
    plain = train_surrogate(data, SMALL)
    focused_config = dataclasses.replace(SMALL, importance_fraction=0.99, importance_floor=0.01)
    focused = train_surrogate(data, focused_config)
    assert np.array_equal(plain.val_index, focused.val_index)  # the same held-out split
    n_clean_train = int(np.sum(~junk)) - int(np.sum(~junk[plain.val_index]))
    # every clean training point is kept (p = 1), about 1% of the junk ones (binomial, 5σ)
    n_junk = len(batch3) - len(plain.val_index) - n_clean_train
    kept_junk = focused.metrics.n_train - n_clean_train
    assert abs(kept_junk - 0.01 * n_junk) < 5 * np.sqrt(0.01 * 0.99 * n_junk)
    devs = []
    for res in (plain, focused):
        clean = res.val_index[~junk[res.val_index]]
        with torch.no_grad():
            pred = res.model(torch.from_numpy(batch3.momenta[clean]))[0].numpy()
        devs.append(accuracy(pred, batch3.me2[clean]).median_abs_rel_dev)
    # (at the same epochs the focused run takes half the steps, so the gain is less than weight_power's)
    assert devs[1] < 0.8 * devs[0], devs
    nan_weight = np.where(np.arange(len(batch3)) == 7, np.nan, 1.0)
    with pytest.raises(ValueError, match=r"process .*importance subsample: 1 weight\(s\) are not finite"):
        train_surrogate(dataclasses.replace(batch3, weight=nan_weight), focused_config)
    with pytest.raises(ValueError, match="importance_fraction=0"):
        TrainConfig(importance_fraction=0.0)
    with pytest.raises(ValueError, match="set one"):
        TrainConfig(importance_fraction=0.9, weight_power=0.5)


def test_bad_inputs_are_refused(batch3: EventBatch) -> None:
    no_me2 = dataclasses.replace(batch3, me2=None)
    with pytest.raises(ValueError, match="no me2 column"):
        train_surrogate(no_me2, SMALL)
    with pytest.raises(ValueError, match="too few"):
        train_surrogate(batch3.take(np.arange(2)), SMALL)
    with pytest.raises(ValueError, match="model='cnn'"):
        TrainConfig(model="cnn")
    with pytest.raises(ValueError, match="loss="):
        TrainConfig(loss="mae")
    with pytest.raises(ValueError, match="clock='gpu'"):
        TrainConfig(clock="gpu")
    with pytest.raises(ValueError, match="optimizer='sgd'; expected one of \\['adamw', 'muon'\\]"):
        TrainConfig(optimizer="sgd")


def test_config_enums_take_their_strings_and_serialise_as_them() -> None:
    """A bundle's JSON configuration and the command line give strings: they become the enum members, which
    compare equal to and serialise as the same strings; other values are refused with the allowed ones."""
    cfg = TrainConfig(
        model="mlp", activation="tanh", loss="gain", clock="cpu", dtype="float64", net_dtype="float32"
    )
    assert cfg.model is ModelKind.MLP and cfg.activation is Activation.TANH and cfg.loss is Loss.GAIN
    assert cfg.clock is Clock.CPU and cfg.dtype is Precision.FLOAT64 and cfg.net_dtype is Precision.FLOAT32
    assert cfg.model == "mlp" and cfg.net_dtype.torch_dtype == torch.float32
    on_disk = json.loads(json.dumps(dataclasses.asdict(cfg)))
    assert {k: on_disk[k] for k in ("model", "activation", "loss", "clock", "dtype", "net_dtype")} == {
        "model": "mlp",
        "activation": "tanh",
        "loss": "gain",
        "clock": "cpu",
        "dtype": "float64",
        "net_dtype": "float32",
    }
    assert cfg.to_json() == on_disk and on_disk["hidden"] is None  # decided by the beams
    widths = dataclasses.replace(cfg, hidden=(64, 32))
    assert widths.to_json() == {**on_disk, "hidden": [64, 32]}
    assert TrainConfig(**{**on_disk, "hidden": (64, 32)}) == widths
    assert dataclasses.replace(TrainConfig(), model="mlp").model is ModelKind.MLP
    allowed = r"expected one of \['silu', 'tanh', 'gelu', 'relu'\]"
    with pytest.raises(ValueError, match=r"TrainConfig.activation='swish'; " + allowed):
        TrainConfig(activation="swish")
    with pytest.raises(ValueError, match=r"net_dtype='float16'; expected one of \['float32', 'float64'\]"):
        TrainConfig(net_dtype="float16")


def test_hadron_collider_dumps_get_their_defaults_and_learn(sherpa_pp: Path, batch3: EventBatch) -> None:
    """On the real Sherpa g u → e+e- ggg u subset: the factorisation penalty defaults to 0 (lepton beams:
    1e-3), the three identical gluons give 6 orders of every training point (a small sample: the copies
    fit), and a short training beats the untrained model (the least-squares skip) on held-out points."""
    pp = read_dump(sherpa_pp / "z4j_gu_val.npz")
    cfg = TrainConfig(
        replicas=1, hidden=(32, 32), epochs=8, batch_size=128, val_fraction=0.25, patience=100,
        objective="pointwise",  # every point trains, so the held-out median below measures the fit
    )
    res = train_surrogate(pp, cfg)
    assert res.metrics.penalty_j == 0.0 and res.metrics.n_train == 1500
    assert res.metrics.optimizer == DEFAULT_OPTIMIZER
    assert res.metrics.bf16_hidden is native_bf16()  # bfloat16 hidden layers where the CPU has its products
    assert res.metrics.symmetry == "augment" and res.metrics.n_train_augmented == 6 * res.metrics.n_train
    untrained = train_surrogate(pp, dataclasses.replace(cfg, epochs=1, lr=1e-12))
    pred, truth = _val(pp, res)
    base, _ = _val(pp, untrained)
    err = np.median(np.abs(np.log(pred / truth)))
    assert err < 0.8 * np.median(np.abs(np.log(base / truth)))
    ee = train_surrogate(batch3, dataclasses.replace(SMALL, epochs=1)).metrics
    assert ee.penalty_j == 1e-3 and ee.symmetry == "augment" and ee.bf16_hidden is False


def test_objective_auto_is_pointwise_and_unweighting_trains_the_gain_loss(
    sherpa_pp: Path, batch3: EventBatch
) -> None:
    """``objective="auto"`` (the default): MSE on every training point, for Sherpa's weighted pp events as for
    e+e- points.  ``objective="unweighting"``: the gain loss on the importance subsample (the points a direct
    draw keeps) of weighted events; a given loss or fraction wins over the objective."""
    pp = read_dump(sherpa_pp / "z4j_gu_val.npz").take(np.arange(1200))
    assert pp.ps_weight is not None
    cfg = TrainConfig(replicas=1, hidden=(16,), epochs=3, gain_epochs=2, val_fraction=0.25, patience=100,
                      augment=1, seed=4)
    default = train_surrogate(pp, dataclasses.replace(cfg, epochs=1)).metrics
    assert (default.objective, default.loss, default.importance_fraction) == ("pointwise", "mse", None)
    assert default.n_train == 900  # every point of the training split
    cfg = dataclasses.replace(cfg, objective="unweighting")
    res = train_surrogate(pp, cfg)
    m = res.metrics
    assert (m.objective, m.loss, m.importance_fraction) == ("unweighting", "gain", UNWEIGHTING_IMPORTANCE)
    assert len(res.history[0]) == 3 + 2  # the MSE epochs, then the gain epochs
    train_index, val_index = validation_split(len(pp), 0.25, 4)
    assert np.array_equal(res.val_index, val_index)
    assert (m.symmetry, m.importance_floor) == ("augment", SMALL_SUBSAMPLE_FLOOR)  # a small subsample
    keep = keep_probability(pp.weight, UNWEIGHTING_IMPORTANCE, SMALL_SUBSAMPLE_FLOOR)
    kept = importance_subsample(keep, train_index, 4)
    assert m.n_train == kept.size < 0.5 * train_index.size  # Sherpa's Z+4 weights: a small subsample
    # the asinh scale comes from the whole training split, not from the subsample (TargetTransform.fit)
    assert pp.me2 is not None
    split_quantile = float(np.quantile(np.abs(pp.me2[train_index]), 0.01))
    assert float(res.model.members[0].target.scale) == pytest.approx(0.1 * split_quantile, rel=1e-12)
    mse = train_surrogate(pp, dataclasses.replace(cfg, epochs=1, loss="mse"))  # the loss given wins
    assert (mse.metrics.loss, mse.metrics.n_train, len(mse.history[0])) == ("mse", kept.size, 1)
    ee = train_surrogate(batch3, dataclasses.replace(SMALL, epochs=1)).metrics
    assert (ee.objective, ee.loss, ee.importance_fraction, ee.n_train) == ("pointwise", "mse", None, 600)
    assert (m.weight_decay, ee.weight_decay) == (HADRONIC_WEIGHT_DECAY, 0.0)  # by the beams
    assert (m.huber_delta, ee.huber_delta) == (HADRONIC_HUBER_DELTA, 0.0)
    assert m.optimizer == ee.optimizer == DEFAULT_OPTIMIZER  # for every beam
    assert (m.hidden, ee.hidden) == ([16], [32, 32])  # as given
    with pytest.raises(ValueError, match="weight_decay is None"):
        _ = TrainConfig().resolved_weight_decay
    with pytest.raises(ValueError, match="hidden is None"):
        _ = TrainConfig().resolved_hidden


@pytest.mark.parametrize(
    ("given", "hadronic", "want"),
    [
        ({}, True, ("pointwise", "mse", None, 0.0, HADRONIC_WEIGHT_DECAY)),
        ({}, False, ("pointwise", "mse", None, 1e-3, 0.0)),
        ({"objective": "unweighting"}, False, ("unweighting", "gain", UNWEIGHTING_IMPORTANCE, 1e-3, 0.0)),
        ({"objective": "unweighting"}, True,
         ("unweighting", "gain", UNWEIGHTING_IMPORTANCE, 0.0, HADRONIC_WEIGHT_DECAY)),
        ({"objective": "pointwise", "loss": "gain"}, True, ("pointwise", "gain", None, 0.0, 1e-2)),
        ({"objective": "unweighting", "importance_fraction": 0.9, "penalty_j": 0.5, "weight_decay": 0.0},
         True, ("unweighting", "gain", 0.9, 0.5, 0.0)),
        ({"importance_fraction": 0.9}, True, ("pointwise", "mse", 0.9, 0.0, 1e-2)),
        ({"weight_decay": 0.3}, False, ("pointwise", "mse", None, 1e-3, 0.3)),
        ({"huber_delta": 0.0}, True, ("pointwise", "mse", None, 0.0, 1e-2)),
        ({"huber_delta": 0.1}, False, ("pointwise", "mse", None, 1e-3, 0.0)),
        ({"optimizer": "adamw"}, True, ("pointwise", "mse", None, 0.0, 1e-2)),
        ({"optimizer": "muon"}, False, ("pointwise", "mse", None, 1e-3, 0.0)),
        ({"hidden": (16, 8)}, True, ("pointwise", "mse", None, 0.0, 1e-2)),
        # one emphasis at a time
        ({"objective": "unweighting", "weight_power": 0.2}, True, ("unweighting", "gain", None, 0.0, 1e-2)),
    ],
)
def test_config_resolution_by_beams(
    given: dict[str, object], hadronic: bool, want: tuple[object, ...]
) -> None:
    cfg = TrainConfig(**given).resolved(hadronic=hadronic)  # type: ignore[arg-type]
    assert (cfg.objective, cfg.loss, cfg.importance_fraction, cfg.penalty_j, cfg.weight_decay) == want
    assert cfg.resolved_weight_decay == cfg.weight_decay
    assert cfg.resolved_huber_delta == given.get("huber_delta", HADRONIC_HUBER_DELTA if hadronic else 0.0)
    assert cfg.optimizer == given.get("optimizer", DEFAULT_OPTIMIZER)  # not decided by the beams
    assert cfg.resolved_hidden == given.get("hidden", HADRONIC_HIDDEN if hadronic else DEFAULT_HIDDEN)
    assert TrainConfig(**given).hidden_for(hadronic) == cfg.resolved_hidden  # type: ignore[arg-type]
    assert (cfg.symmetry, cfg.importance_floor) == ("augment", IMPORTANCE_FLOOR[Symmetry.AUGMENT])
    canonical = TrainConfig(**given, symmetry="canonical").resolved(  # type: ignore[arg-type]
        hadronic=hadronic
    )
    assert canonical.importance_floor == IMPORTANCE_FLOOR[Symmetry.CANONICAL]  # the floor follows
    many = TrainConfig(**given).resolved(  # type: ignore[arg-type]
        hadronic=hadronic, too_many_for_copies=True
    )
    assert (many.symmetry, many.importance_floor) == ("canonical", IMPORTANCE_FLOOR[Symmetry.CANONICAL])
    given_augment = TrainConfig(**given, symmetry="augment")  # type: ignore[arg-type]
    assert given_augment.resolved(hadronic=hadronic, too_many_for_copies=True) == cfg
    assert cfg.resolved(hadronic=not hadronic, too_many_for_copies=True) == cfg
    # batch_size=None: 1024 from LARGE_SET_POINTS training points per epoch, 512 below; a given size stands
    for n_points, want in ((LARGE_SET_POINTS - 1, SMALL_SET_BATCH), (LARGE_SET_POINTS, LARGE_SET_BATCH)):
        assert TrainConfig(**given).resolved(  # type: ignore[arg-type]
            hadronic=hadronic, n_points=n_points
        ).batch_size == want
    assert cfg.batch_size == SMALL_SET_BATCH  # n_points unknown (0): the small set's
    # n_kept under augment's floor: below SMALL_SUBSAMPLE_POINTS augment's floor rises, canonical's stands
    for n_kept, floor in ((SMALL_SUBSAMPLE_POINTS - 1, SMALL_SUBSAMPLE_FLOOR),
                          (SMALL_SUBSAMPLE_POINTS, IMPORTANCE_FLOOR[Symmetry.AUGMENT])):
        small = TrainConfig(**given).resolved(hadronic=hadronic, n_kept=n_kept)  # type: ignore[arg-type]
        if small.importance_fraction is None:  # no subsample: the floor is moot and stays augment's
            floor = IMPORTANCE_FLOOR[Symmetry.AUGMENT]
        assert (small.symmetry, small.importance_floor) == ("augment", floor)
        assert TrainConfig(**given, symmetry="canonical").resolved(  # type: ignore[arg-type]
            hadronic=hadronic, n_kept=n_kept
        ).importance_floor == IMPORTANCE_FLOOR[Symmetry.CANONICAL]
    assert dataclasses.replace(cfg, batch_size=64).resolved(
        hadronic=hadronic, n_points=10 * LARGE_SET_POINTS
    ).batch_size == 64


def test_bf16_hidden_layers_train_and_leave_a_plain_float64_network(batch3: EventBatch) -> None:
    """``bf16_hidden`` trains the hidden products in bfloat16 (a different run from float32's, to the same
    accuracy class) and returns the usual float64 network, its flag off."""
    cfg = dataclasses.replace(SMALL, dtype="float32", bf16_hidden=True)
    res = train_surrogate(batch3, cfg)
    pred, truth = _val(batch3, res)
    assert accuracy(pred, truth).median_abs_rel_dev < 0.1
    (member,) = res.model.members
    assert member.net.bf16_hidden is False
    assert all(t.dtype == torch.float64 for t in res.model.state_dict().values() if t.is_floating_point())
    f32 = train_surrogate(batch3, dataclasses.replace(cfg, bf16_hidden=False)).model
    p = torch.from_numpy(batch3.momenta[:50])
    with torch.no_grad():
        assert not torch.equal(res.model(p)[0], f32(p)[0])
