"""join_runs(): independent runs of one channel as one sample, on real Sherpa pp events cut into two runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from lhe_tools import EventBatch, EventBatchError, read_dump, write_dump
from sherpa_plugin.join_runs import TIME_KEYS, join_runs
from sherpa_plugin.train_inputs import expand_inputs, load_group, plan_groups, read_inputs
from sherpa_plugin.validate import validate
from sherpa_plugin.validate_config import ValidateConfig


class Exact:
    """The exact |M|² itself: the limit every surrogate tends to (ε_2 = 1 up to Max_Epsilon)."""

    def predict(self, batch: EventBatch) -> tuple[np.ndarray, np.ndarray]:
        assert batch.me2 is not None
        return batch.me2.copy(), np.zeros(len(batch))


@pytest.fixture(scope="module")
def z4(sherpa_pp: Path) -> EventBatch:
    return read_dump(sherpa_pp / "z4j_gu_val.npz")  # 2 000 real Sherpa Z+4 events with their CPU times


def _two_runs(z4: EventBatch, factor: float = 3.0) -> tuple[EventBatch, EventBatch]:
    """The first 1 200 events as one run, the other 800 as a run that recorded ``factor`` × the times."""
    a, b = z4.take(slice(0, 1200)), z4.take(slice(1200, None))
    slow = {k: factor * float(z4.meta[k]) for k in TIME_KEYS}
    return a, dataclasses.replace(b, meta={**b.meta, **slow})


def test_joined_runs_are_the_sample_with_the_time_over_all_points(z4: EventBatch) -> None:
    assert all(k in z4.meta for k in TIME_KEYS) and len(z4) == 2000
    joined = join_runs(_two_runs(z4))
    for col in ("momenta", "weight", "me2", "trials"):
        np.testing.assert_array_equal(getattr(joined, col), getattr(z4, col))
    assert joined.trials is not None and z4.trials is not None
    assert joined.weight.sum() / joined.trials.sum() == z4.weight.sum() / z4.trials.sum()  # σ of the run
    # 1 200 points at t and 800 at 3t: (1 200 + 2 400) t over 2 000 points = 1.8 t
    for key in TIME_KEYS:
        assert joined.meta[key] == pytest.approx(1.8 * float(z4.meta[key]), rel=1e-12)
    assert joined.meta["n_points"] == 2000
    assert join_runs([z4]) is z4


def test_a_time_one_run_does_not_record_is_dropped(z4: EventBatch) -> None:
    a, b = _two_runs(z4)
    b = dataclasses.replace(b, meta={k: v for k, v in b.meta.items() if k != "me_cpu_ms_per_point"})
    joined = join_runs([a, b])
    assert "me_cpu_ms_per_point" not in joined.meta  # not the first run's 1 200-point figure
    assert joined.meta["me_ms_per_point"] == pytest.approx(1.8 * float(z4.meta["me_ms_per_point"]), rel=1e-12)


def test_validate_times_joined_runs_by_their_mean(z4: EventBatch) -> None:
    a, b = _two_runs(z4)
    cfg = ValidateConfig(recorded_times="cpu", report=False, timing_points=256)
    r = validate(Exact(), [a, b], None, cfg).to_json()
    assert r["channels"][z4.process]["n_points"] == 2000
    assert r["t_me_ms"] == pytest.approx(1.8 * float(z4.meta["me_cpu_ms_per_point"]), rel=1e-12)
    assert r["t_ps_ms"] == pytest.approx(1.8 * float(z4.meta["ps_cpu_ms_per_point"]), rel=1e-12)
    alone = validate(Exact(), [a], None, cfg).to_json()  # one run: its own recorded time
    assert alone["t_me_ms"] == pytest.approx(float(z4.meta["me_cpu_ms_per_point"]), rel=1e-12)


def test_runs_of_other_channels_are_refused(z4: EventBatch, sherpa_pp: Path) -> None:
    w4 = read_dump(sherpa_pp / "w4j_gu_val.npz")
    with pytest.raises(EventBatchError, match="cannot concatenate channel"):
        join_runs([z4, w4])


def test_fame_train_and_validate_inputs_join_files_by_their_times(z4: EventBatch, tmp_path: Path) -> None:
    # two dump files of one channel: fame validate (read_inputs) and fame train (plan_groups + load_group)
    # join them with the times averaged per event, not the first file's
    a, b = _two_runs(z4)
    write_dump(tmp_path / "a.npz", a)
    write_dump(tmp_path / "b.npz", b)
    files = expand_inputs([tmp_path])
    (validated,) = read_inputs(files)
    (plan,) = plan_groups(files)
    trained = load_group(plan)
    for joined in (validated, trained):
        assert len(joined) == 2000
        for key in TIME_KEYS:
            assert joined.meta[key] == pytest.approx(1.8 * float(z4.meta[key]), rel=1e-12)
