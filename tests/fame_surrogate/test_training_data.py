"""What training runs on, from real Sherpa pp events (g u -> e+e- g g g u): split, subsample, permuted copies
or the canonical order (and the choice between them), labels and the target round trip."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from fame_surrogate import config as config_module
from fame_surrogate.config import (
    DEFAULT_HIDDEN,
    HADRONIC_HIDDEN,
    IMPORTANCE_FLOOR,
    SMALL_SUBSAMPLE_FLOOR,
    SMALL_SUBSAMPLE_POINTS,
    Loss,
    Symmetry,
    TrainConfig,
)
from fame_surrogate.importance import keep_probability
from fame_surrogate.training_data import PreparedTraining, prepare_training
from lhe_tools import EventBatch, read_dump

#: the unweighting objective: these tests are about its importance subsample (the default is pointwise)
CONFIG = TrainConfig(replicas=2, hidden=(16,), seed=3, symmetry="augment", objective="unweighting")


@pytest.fixture(scope="module")
def batch(sherpa_pp: Path) -> EventBatch:
    return read_dump(sherpa_pp / "z4j_gu_val.npz")


@pytest.fixture(scope="module")
def prepared(batch: EventBatch) -> PreparedTraining:
    return prepare_training(batch, CONFIG)


@pytest.fixture
def large_subsample(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every subsample counts as large: ``augment`` keeps its own floor on these few events."""
    monkeypatch.setattr(config_module, "SMALL_SUBSAMPLE_POINTS", 0)


def test_weighted_pp_events_resolve_to_the_unweighting_setup(
    batch: EventBatch, prepared: PreparedTraining
) -> None:
    """A few thousand events keep fewer than ``SMALL_SUBSAMPLE_POINTS``: the floor of a small subsample.
    The default objective (auto: pointwise) trains on every point of the training split instead."""
    pointwise = prepare_training(batch, replace(CONFIG, objective="auto", replicas=1))
    assert pointwise.config.loss is Loss.MSE and pointwise.config.importance_fraction is None
    assert pointwise.train_index.size == round(0.9 * len(batch))
    assert pointwise.data["x"].shape[0] == 6 * pointwise.train_index.size  # every point, in 3! orders
    assert prepared.config.loss is Loss.GAIN and prepared.config.importance_fraction == 0.99
    assert prepared.config.importance_floor == SMALL_SUBSAMPLE_FLOOR > IMPORTANCE_FLOOR[Symmetry.AUGMENT]
    assert len(prepared.models) == 2 and len(prepared.targets) == 2
    tr, va = prepared.train_index, prepared.val_index
    assert np.intersect1d(tr, va).size == 0 and tr.size > 0 and va.size > 0


def test_training_points_come_in_every_order_of_the_three_identical_gluons(
    batch: EventBatch, prepared: PreparedTraining
) -> None:
    """3! = 6 orders of the gluons (augment 6), the identity first, each with the point's own label."""
    n = prepared.train_index.size
    x, me2 = prepared.data["x"], prepared.data["me2"]
    assert x.shape[0] == 6 * n and x.dtype == CONFIG.dtype.torch_dtype
    assert batch.me2 is not None
    np.testing.assert_array_equal(me2.numpy(), np.tile(batch.me2[prepared.train_index], 6))
    model = prepared.models[0]
    with torch.no_grad():
        x_id, _ = model.inputs(prepared.momenta[torch.from_numpy(prepared.train_index)])
    torch.testing.assert_close(x[:n], x_id.to(x.dtype))
    # the permuted copies are other points of feature space (the gluons are not symmetric in the features)
    assert not torch.allclose(x[n : 2 * n], x[:n])


def test_targets_decode_to_the_labels_and_ps_weights_are_scaled_to_mean_one(
    batch: EventBatch, prepared: PreparedTraining
) -> None:
    for r, model in enumerate(prepared.models):
        data = prepared.replica_data(r)
        with torch.no_grad():
            back = model.target.decode(data["z"])
            back_val = model.target.decode(data["z_val"])
        torch.testing.assert_close(back, data["me2"], rtol=1e-12, atol=0.0)
        torch.testing.assert_close(back_val, data["me2_val"], rtol=1e-12, atol=0.0)
    c = prepared.data["c"].numpy()
    assert batch.ps_weight is not None
    expected = np.tile(batch.ps_weight[prepared.train_index], 6)
    np.testing.assert_allclose(c, expected / np.abs(expected).mean(), rtol=1e-12)


def test_a_batch_without_me2_is_refused_by_name(batch: EventBatch) -> None:
    with pytest.raises(ValueError, match="no me2 column"):
        prepare_training(replace(batch, me2=None), CONFIG)


def test_the_canonical_order_trains_each_point_once_on_a_larger_subsample(
    batch: EventBatch, large_subsample: None
) -> None:
    """``symmetry="canonical"``: one row per training point, whose features are those of the event with its
    gluons sorted (so any permuted copy would repeat them), on the subsample of the larger floor."""
    prepared = prepare_training(batch, replace(CONFIG, symmetry="canonical"))
    assert prepared.config.importance_floor == IMPORTANCE_FLOOR[Symmetry.CANONICAL] > 0.02
    n = prepared.train_index.size
    assert prepared.data["x"].shape[0] == n
    assert n > prepare_training(batch, CONFIG).train_index.size  # the floor keeps more light events
    model = prepared.models[0]
    assert model.canonical_order is not None
    p = prepared.momenta[torch.from_numpy(prepared.train_index)]
    with torch.no_grad():
        x_perm, _ = model.inputs(p[:, [0, 1, 2, 3, 5, 6, 4, 7]])
    torch.testing.assert_close(prepared.data["x"], x_perm.to(prepared.data["x"].dtype), rtol=0.0, atol=0.0)


def test_auto_symmetry_sorts_where_the_cap_leaves_fewer_than_two_orders(
    batch: EventBatch, large_subsample: None
) -> None:
    """``symmetry="auto"`` (the default): ``augment`` while the cap holds two orders of the points that
    ``augment`` would keep, ``canonical`` (with its floor) beyond, decided by the expected subsample size
    Σ keep probability computed here from the weights, so replicas with other seeds decide alike."""
    auto = replace(CONFIG, symmetry="auto")
    held_out = prepare_training(batch, CONFIG).val_index
    train = np.setdiff1d(np.arange(len(batch)), held_out)
    keep = keep_probability(batch.weight, 0.99, IMPORTANCE_FLOOR[Symmetry.AUGMENT])  # split + held out: all
    expected = float(keep[train].sum())
    assert 100 < expected < 0.5 * train.size  # Sherpa's Z+4 weights: a small subsample
    for seed in (3, 4):  # two replicas' seeds, one held-out set (fame train's Dask tasks)
        cap = math.ceil(2 * expected)
        fits = prepare_training(batch, replace(auto, seed=seed, augment_max_points=cap), val_index=held_out)
        assert fits.config.symmetry is Symmetry.AUGMENT
        assert fits.config.importance_floor == IMPORTANCE_FLOOR[Symmetry.AUGMENT]
        n = fits.train_index.size  # the realised subsample: about the expectation, so 1-3 orders
        assert fits.data["x"].shape[0] == max(1, cap // n) * n
        full = prepare_training(batch, replace(auto, seed=seed, augment_max_points=math.floor(2 * expected)),
                                val_index=held_out)
        assert full.config.symmetry is Symmetry.CANONICAL and full.models[0].canonical_order is not None
        assert full.config.importance_floor == IMPORTANCE_FLOOR[Symmetry.CANONICAL]
        assert full.data["x"].shape[0] == full.train_index.size
    # an explicit choice stands however small the cap
    given = prepare_training(batch, replace(CONFIG, augment_max_points=1))
    assert given.config.symmetry is Symmetry.AUGMENT and given.data["x"].shape[0] == given.train_index.size


def test_the_network_depth_follows_the_beams(batch: EventBatch, sherpa_ee: Path) -> None:
    """``hidden=None``: the replicas of pp events get :data:`HADRONIC_HIDDEN` (six layers, the first 256
    wide), e+e- points :data:`DEFAULT_HIDDEN` (three); given widths win."""

    def widths(prepared: PreparedTraining) -> list[int]:
        linear = [m for m in prepared.models[0].net if isinstance(m, torch.nn.Linear)]
        return [m.out_features for m in linear[:-1]]  # the readout's width is the model's

    auto = replace(CONFIG, hidden=None, replicas=1)
    pp = prepare_training(batch, auto)
    ee = prepare_training(read_dump(sherpa_ee / "ee_3j_ycut0.01.npz"), auto)
    assert widths(pp) == list(HADRONIC_HIDDEN) == [256] + [128] * 5 and pp.config.hidden == HADRONIC_HIDDEN
    assert widths(ee) == list(DEFAULT_HIDDEN) == [128] * 3 and ee.config.hidden == DEFAULT_HIDDEN
    assert widths(prepare_training(batch, replace(auto, hidden=(24, 8)))) == [24, 8]


def test_auto_symmetry_sorts_only_processes_with_identical_particles(sherpa_ee: Path) -> None:
    """e+e- points (every point trains): the cap is compared with the training split.  e+e- → d d̄ g has
    nothing to sort, so ``auto`` stays ``augment`` however small the cap; e+e- → d d̄ g g is sorted once the
    cap holds fewer than two orders of its training points."""
    small = replace(CONFIG, symmetry="auto", replicas=1, objective="auto")  # e+e-: every point trains
    three = read_dump(sherpa_ee / "ee_3j_ycut0.01.npz")
    assert prepare_training(three, replace(small, augment_max_points=1)).config.symmetry is Symmetry.AUGMENT
    four = read_dump(sherpa_ee / "ee_4j_ycut0.01.npz")
    default = prepare_training(four, small)  # the default cap holds both orders of the two gluons
    n = default.train_index.size
    assert default.config.symmetry is Symmetry.AUGMENT and default.data["x"].shape[0] == 2 * n
    two = prepare_training(four, replace(small, augment_max_points=2 * n))
    assert two.config.symmetry is Symmetry.AUGMENT
    sorted_ = prepare_training(four, replace(small, augment_max_points=2 * n - 1))
    assert sorted_.config.symmetry is Symmetry.CANONICAL and sorted_.train_index.size == n


def test_auto_batch_size_counts_the_training_points_with_their_copies(
    sherpa_ee: Path, batch: EventBatch, monkeypatch: pytest.MonkeyPatch, large_subsample: None
) -> None:
    """``batch_size=None`` (the default): 1024 from ``LARGE_SET_POINTS`` training points per epoch, copies
    counted, else 512.  e+e- → d d̄ g g trains every point in both gluon orders (the rows of the training
    tensors), or once each when sorted; Sherpa's weighted Z+4 points count as the expected subsample
    (Σ keep probability, from the weights here) times the 3! orders."""
    small = replace(CONFIG, symmetry="auto", replicas=1, objective="auto")  # e+e-: every point trains
    four = read_dump(sherpa_ee / "ee_4j_ycut0.01.npz")
    for cfg in (small, replace(small, symmetry="canonical")):
        rows = prepare_training(four, cfg).data["x"].shape[0]
        for threshold, want in ((rows, 1024), (rows + 1, 512)):
            monkeypatch.setattr(config_module, "LARGE_SET_POINTS", threshold)
            assert prepare_training(four, cfg).config.batch_size == want
    held_out = prepare_training(batch, CONFIG).val_index
    train = np.setdiff1d(np.arange(len(batch)), held_out)
    points = 6 * float(keep_probability(batch.weight, 0.99, IMPORTANCE_FLOOR[Symmetry.AUGMENT])[train].sum())
    for threshold, want in ((math.floor(points), 1024), (math.ceil(points), 512)):
        monkeypatch.setattr(config_module, "LARGE_SET_POINTS", threshold)
        for seed in (3, 4):  # every replica decides alike
            got = prepare_training(batch, replace(CONFIG, seed=seed), val_index=held_out).config.batch_size
            assert got == want
    monkeypatch.setattr(config_module, "LARGE_SET_POINTS", 1)  # a given size stands
    assert prepare_training(four, replace(small, batch_size=64)).config.batch_size == 64


def test_a_small_subsample_gets_the_larger_floor(batch: EventBatch, monkeypatch: pytest.MonkeyPatch) -> None:
    """``importance_floor=None`` with ``augment``: ``SMALL_SUBSAMPLE_FLOOR`` where ``augment``'s floor would
    keep fewer than ``SMALL_SUBSAMPLE_POINTS`` training points, by the expectation Σ keep probability
    computed here from the weights (so replicas with other seeds decide alike); a given floor stands."""
    held_out = prepare_training(batch, CONFIG).val_index
    train = np.setdiff1d(np.arange(len(batch)), held_out)
    base = IMPORTANCE_FLOOR[Symmetry.AUGMENT]
    expected = float(keep_probability(batch.weight, 0.99, base)[train].sum())
    assert expected < SMALL_SUBSAMPLE_POINTS  # this real set: far below the default threshold
    larger = float(keep_probability(batch.weight, 0.99, SMALL_SUBSAMPLE_FLOOR)[train].sum())
    sizes = {}
    for threshold, floor in ((math.ceil(expected), SMALL_SUBSAMPLE_FLOOR), (math.floor(expected), base)):
        monkeypatch.setattr(config_module, "SMALL_SUBSAMPLE_POINTS", threshold)
        for seed in (3, 4):
            got = prepare_training(batch, replace(CONFIG, seed=seed), val_index=held_out)
            assert got.config.importance_floor == floor
            sizes[floor, seed] = got.train_index.size
        given = prepare_training(batch, replace(CONFIG, importance_floor=0.05), val_index=held_out)
        assert given.config.importance_floor == 0.05
    for seed in (3, 4):  # the realised subsamples: about their expectations
        assert sizes[SMALL_SUBSAMPLE_FLOOR, seed] > sizes[base, seed]
        assert abs(sizes[SMALL_SUBSAMPLE_FLOOR, seed] - larger) < 5 * math.sqrt(larger)
