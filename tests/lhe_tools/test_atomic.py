"""Output folders: a rerun replaces fame's previous output and removes nothing else of the user's."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lhe_tools._atomic import OutputExistsError, atomic_dir, atomic_path, remove_stale_temporaries

MARKER = ".fame-test-output.json"


def _write(out: Path, files: dict[str, str], *, force: bool = False) -> None:
    with atomic_dir(out, MARKER, force=force) as tmp:
        for rel, text in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text)


def _tree(root: Path) -> dict[str, str]:
    """Every entry under root: file contents, ``<dir>`` or ``-> target`` for links."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = f"-> {p.readlink()}" if p.is_symlink() else "<dir>" if p.is_dir() else p.read_text()
    return out


def test_a_rerun_replaces_exactly_the_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(out, {"a.txt": "1", "sub/b.txt": "2"})
    _write(out, {"a.txt": "3"})
    assert _tree(out) == {"a.txt": "3", MARKER: json.dumps({"files": ["a.txt", MARKER]}, indent=1) + "\n"}


def test_an_existing_empty_folder_is_written_into_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir(mode=0o750)
    out.chmod(0o750)
    inode = out.stat().st_ino
    _write(out, {"a.txt": "1"})
    assert out.stat().st_ino == inode and out.stat().st_mode & 0o777 == 0o750
    assert (out / "a.txt").read_text() == "1"


def test_a_users_empty_folder_and_link_beside_a_previous_output_stay(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("user")
    _write(out, {"a.txt": "1"})
    (out / "notes").mkdir()
    (out / "data").symlink_to(elsewhere, target_is_directory=True)
    _write(out, {"a.txt": "2"})
    tree = _tree(out)
    assert tree["notes"] == "<dir>" and tree["data"] == f"-> {elsewhere}" and tree["a.txt"] == "2"
    assert (elsewhere / "keep.txt").read_text() == "user"


def test_a_link_at_a_stale_output_name_is_not_followed(tmp_path: Path) -> None:
    """The previous output listed b.txt; the user put a link to their own file there: the file stays."""
    out = tmp_path / "out"
    _write(out, {"a.txt": "1", "b.txt": "2"})
    (out / "mine.txt").write_text("user")
    (out / "b.txt").unlink()
    (out / "b.txt").symlink_to(out / "mine.txt")
    _write(out, {"a.txt": "3"})
    assert (out / "mine.txt").read_text() == "user" and (out / "b.txt").is_symlink()
    assert (out / "a.txt").read_text() == "3"


def test_a_users_folder_is_refused_without_force_and_kept_with_it(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("user")
    with pytest.raises(OutputExistsError, match="not a previous output"):
        _write(out, {"a.txt": "1"})
    _write(out, {"a.txt": "1"}, force=True)
    _write(out, {"b.txt": "2"})  # now a previous output beside the user's file: only a.txt goes
    assert _tree(out)["thesis.tex"] == "user" and not (out / "a.txt").exists()
    assert (out / "b.txt").read_text() == "2"


def _dead_pid() -> int:
    """The id of a process that has ended (a child, waited for)."""
    script = "import os; print(os.getpid())"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True)
    return int(proc.stdout)


def test_only_this_hosts_temporaries_of_ended_writers_are_removed(tmp_path: Path) -> None:
    """A process id says nothing about another host's processes (a shared cluster file system)."""
    target, dead = tmp_path / "out.npz", _dead_pid()
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())
    names = {
        "here_ended": f".out.npz.{dead}@{host}.x1.npz.tmp",
        "old_form_ended": f".out.npz.{dead}.x2.npz.tmp",  # no host: written here by an earlier version
        "here_running": f".out.npz.{os.getpid()}@{host}.x3.npz.tmp",
        "elsewhere_ended": f".out.npz.{dead}@another-node-2.x4.npz.tmp",
        "other_target": f".out.npz.old.{dead}@{host}.x5.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_text("partial")
    removed = remove_stale_temporaries(target)
    assert sorted(p.name for p in removed) == sorted([names["here_ended"], names["old_form_ended"]])
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([names["here_running"], names["elsewhere_ended"], names["other_target"]])
    with atomic_path(target) as tmp:  # what this process writes carries its own pid and host
        assert tmp.name.startswith(f".out.npz.{os.getpid()}@{host}.") and tmp.name.endswith(".tmp")
        tmp.write_text("done")
    assert target.read_text() == "done"
