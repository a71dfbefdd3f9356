"""``fame sherpa dump --fresh`` discards only what an earlier dump job wrote, never a user's files."""

from __future__ import annotations

from pathlib import Path

from sherpa_plugin.dump import clear_outputs


def _populate(out: Path) -> None:
    (out / ".sherpa").mkdir(parents=True)
    (out / ".sherpa" / "Results.zip").write_text("grid")
    (out / ".parts").mkdir()
    (out / "dump.json").write_text("{}")
    (out / "events.npz").write_text("kept: overwritten by the next run")


def test_fresh_in_a_folder_without_a_dump_job_removes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    _populate(out)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    clear_outputs(out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before


def test_fresh_in_a_dump_folder_removes_the_jobs_traces_and_links_not_their_targets(tmp_path: Path) -> None:
    out, grids = tmp_path / "out", tmp_path / "grids"
    _populate(out)
    (out / ".fame-job.json").write_text("{}")
    grids.mkdir()
    (grids / "Results.zip").write_text("the user's grid")
    (out / ".jobs").symlink_to(grids, target_is_directory=True)
    clear_outputs(out)
    assert sorted(p.name for p in out.iterdir()) == ["events.npz"]
    assert (grids / "Results.zip").read_text() == "the user's grid"
