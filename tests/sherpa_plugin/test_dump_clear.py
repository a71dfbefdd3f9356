"""``fame sherpa dump --fresh`` discards only what an earlier dump job wrote, never a user's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from sherpa_plugin.cli import main
from sherpa_plugin.dump import DumpSettings, DumpSource, build_job, check_job_file, clear_outputs

#: a hadron-beam event dump (Z + 1 jet at 13 TeV), only built here: no Sherpa runs in these tests
_SOURCE = DumpSource(
    process="21 2 -> 11 -11 2", beams=(2212, 2212), sqrt_s=13000.0, mll=(66.0, 13000.0), jet_pt=20.0
)


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


def test_a_dump_refuses_a_folder_whose_sherpa_run_folder_no_dump_job_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine"
    _populate(out)
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match=r"holds \.sherpa, \.parts, dump\.json but no \.fame-job\.json"):
        check_job_file(out, build_job(DumpSettings(points=100), _SOURCE))
    # the command line, with and without --fresh: the same words, no traceback, and nothing run or removed
    argv = ["sherpa", "dump", "--process", "21 2 -> 11 -11 2", "--beams", "2212", "2212", "--points", "100",
            "--jobs", "2", "--out", str(out)]
    for extra in ([], ["--fresh"]):
        assert main(argv + extra) != 0
        err = capsys.readouterr().err
        assert f"{out} holds .sherpa, .parts, dump.json but no .fame-job.json" in err
        assert "Traceback" not in err
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_folder_with_only_other_files_is_free_for_a_dump(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "events.npz").write_text("a user's file: overwritten only if it is a channel's name")
    assert check_job_file(out, build_job(DumpSettings(points=100), _SOURCE)) is None
