"""W + 4 jets on real Sherpa events (issue 22): g u → e+ ν_e g g g d at 13 TeV (``tests/data/sherpa-pp/
w4j_gu_val.npz``, the first 3000 events of an independent validation run, see ``tests/data/README.md``).

Truths: Sherpa's |M|² of each event.  The W factor must take out what a smooth function of the log
invariants cannot describe (the Breit–Wigner in m_eν), and a short training of the dipole model must beat
its own untrained start (the least-squares skip) on held-out events.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from fame_surrogate.config import TrainConfig
from fame_surrogate.models import DipoleModel
from fame_surrogate.train import train_surrogate
from lhe_tools import EventBatch, read_dump

W4 = "w4j_gu_val.npz"


@pytest.fixture(scope="module")
def w4(sherpa_pp: Path) -> EventBatch:
    return read_dump(sherpa_pp / W4)


def test_subset_is_the_w_channel(w4: EventBatch) -> None:
    assert list(w4.pdg) == [21, 2, -11, 12, 21, 21, 21, 1]
    assert w4.meta["process"] == "2_6__G__u__e+__ve__G__G__G__d"
    assert "Order: {QCD: 4, EW: 2}" in w4.meta["run_card"]
    p = w4.momenta
    np.testing.assert_allclose(p[:, :2].sum(1), p[:, 2:].sum(1), atol=1e-6 * 13000)
    assert np.all(w4.me2 > 0) and len(w4) == 3000


def _residual(x: np.ndarray, y: np.ndarray) -> float:
    """Standard deviation of y after a least-squares fit on the columns of x and a constant."""
    design = np.column_stack([x, np.ones(len(y))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(np.std(y - design @ coef))


def test_w_factor_takes_out_what_the_log_invariants_cannot(w4: EventBatch) -> None:
    # log|M|² − log ΣD against a linear fit on the model's log-invariant features (m_eν among them):
    # with the factor F of the W the residual spread must shrink, since the Breit–Wigner is not linear in
    # log m_eν²
    model = DipoleModel(list(w4.pdg), 2, hidden=(8,))
    assert model.propagator.kind == "W"
    mom = torch.tensor(w4.momenta)
    x, terms = model.inputs(mom)
    logs = x[:, model.features.log_columns].numpy()
    log_f = np.log(model.propagator(mom).numpy())
    with_f = np.log(w4.me2) - terms[:, 0].numpy()  # log(|M|²/(F ΣD))
    without_f = with_f + log_f  # log(|M|²/ΣD)
    assert _residual(logs, with_f) < 0.8 * _residual(logs, without_f)
    # the events sit around the W pole: F spans more than a decade over them
    assert np.ptp(log_f) > np.log(10.0)


def test_short_training_beats_the_untrained_skip_on_held_out_w_events(w4: EventBatch) -> None:
    data = w4.take(np.arange(1600))
    cfg = TrainConfig(
        replicas=1, hidden=(32, 32), epochs=8, batch_size=128, val_fraction=0.25, patience=100, seed=3,
        objective="pointwise",  # MSE on every point: the median error below measures that fit
    )
    res = train_surrogate(data, cfg)
    untrained = train_surrogate(data, dataclasses.replace(cfg, epochs=1, lr=1e-12))
    held = w4.take(np.arange(1600, 3000))  # never seen by either

    def err(model: torch.nn.Module) -> float:
        with torch.no_grad():
            pred = model(torch.tensor(held.momenta))[0].numpy()
        return float(np.median(np.abs(np.log(pred / held.me2))))

    assert err(res.model) < 0.8 * err(untrained.model)
