"""Atomic output: write to a temporary name in the target's folder, then rename.

A crash leaves either the old file or no file, never a half-written one.  Temporary names carry the
writing process id and host (``.<name>.<pid>@<host>.<random><suffix>.tmp``), so the next write of the same
target on that host removes what a killed writer left behind.  On a folder that several hosts share (Dask
workers on a cluster file system) a process id says nothing about another host's processes, so another
host's temporaries are never removed.  Files and folders are created with the permissions an ordinary write
would give them (``0o666`` / ``0o777`` less the umask), not ``mkstemp``'s private ``0o600``.

Output folders (:func:`atomic_dir`) are never deleted unless they hold exactly a previous output of the same
kind, recognised by a marker file, and nothing else (no other file, folder or link): a mistyped ``--out``
cannot remove a user's folder (:func:`check_output_dir`), and an existing folder of the user's, even an empty
one, is written into file by file rather than replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath


class OutputExistsError(ValueError):
    """An output folder exists, is not empty and is not a previous output of the same kind."""


def _umask() -> int:
    """The process umask (read from /proc where it can be, else set and restored)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _host() -> str:
    """This host's name as a temporary name carries it (letters, digits and ``-``)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "-"


def _owner() -> str:
    """``<pid>@<host>`` of this process: the part of a temporary name that says who writes it."""
    return f"{os.getpid()}@{_host()}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove temporaries of ``target`` left by writers that no longer run; returns what was removed.

    Only names of the form ``.<target name>.<pid>@<host>.<anything>.tmp`` next to ``target`` whose ``host``
    is this one and whose ``pid`` is not a running process are touched (and the form without a host that
    earlier versions wrote, ``.<target name>.<pid>.<anything>.tmp``, as this host's).
    """
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return []
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)(?:@([A-Za-z0-9-]+))?\..*\.tmp$")
    host = _host()
    removed: list[Path] = []
    for entry in parent.iterdir():
        m = pattern.match(entry.name)
        if m is None or m.group(2) not in (None, host) or _pid_alive(int(m.group(1))):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success rename it onto ``target``.

    Parameters
    ----------
    target : path
        Final file name.
    suffix : str
        Suffix of the temporary name (some writers infer the format from it, e.g. ``".npz"``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.{_owner()}.", suffix=suffix + ".tmp", dir=target.parent
    )
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    finally:
        os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _marker_files(folder: Path, marker: str) -> list[str] | None:
    """The files a marked output folder says it holds (None: no valid marker)."""
    path = folder / marker
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return [str(f) for f in files]


def check_output_dir(target: str | os.PathLike[str], marker: str, *, force: bool = False) -> Path:
    """Check that ``target`` may receive an output folder of the kind ``marker`` marks; return it resolved.

    Allowed: a path that does not exist, an empty folder, a previous output (it holds ``marker``), or with
    ``force`` any folder (its other files are kept).

    Raises
    ------
    OutputExistsError
        ``target`` is a file, or a non-empty folder without ``marker`` and ``force`` is not set.
    """
    path = Path(target).resolve()
    if path.parent == path:
        raise OutputExistsError(f"{target}: cannot write an output folder onto the file-system root")
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"{target}: exists and is not a folder; choose another output folder")
    if path.is_dir() and not force and any(path.iterdir()) and _marker_files(path, marker) is None:
        raise OutputExistsError(
            f"{target}: folder exists, is not empty and is not a previous output (no {marker}); nothing "
            "was written.  Choose a new or empty folder, or pass --force to add the output to it (its "
            "other files are kept)"
        )
    return path


def _fresh_dir(parent: Path, name: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.{_owner()}.", suffix=".tmp", dir=parent))
    tmp.chmod(0o777 & ~_umask())
    return tmp


@contextlib.contextmanager
def atomic_dir(
    target: str | os.PathLike[str], marker: str | None = None, *, force: bool = False
) -> Iterator[Path]:
    """Yield a fresh temporary folder next to ``target``; on success it becomes ``target``.

    Parameters
    ----------
    target : path
        Output folder.
    marker : str, optional
        Name of a marker file written into the output (JSON listing the files written).  With a marker,
        an existing ``target`` is only replaced if it is a previous output holding the marker, and then
        only the files that marker lists are removed; anything else in it is kept (see
        :func:`check_output_dir`).  Without a marker, ``target`` must not exist or be empty.
    force : bool
        Also write into a non-empty folder without the marker, keeping its other files.
    """
    if marker is None:
        path = Path(target).resolve()
        if path.exists() and not (path.is_dir() and not any(path.iterdir())):
            raise OutputExistsError(f"{target}: exists and is not an empty folder; nothing was written")
    else:
        path = check_output_dir(target, marker, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = _fresh_dir(path.parent, path.name)
    try:
        yield tmp
        if marker is not None:
            written = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if not p.is_dir())
            (tmp / marker).write_text(json.dumps({"files": [*written, marker]}, indent=1) + "\n")
        _install(tmp, path, marker)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _holds_only(path: Path, files: list[str]) -> bool:
    """Whether everything in the folder ``path`` is one of ``files`` (relative paths, regular files) or a
    folder on the way to one: no other file, folder or link, so removing ``path`` removes nothing else."""
    listed = set(files)
    folders = {parent.as_posix() for f in listed for parent in PurePosixPath(f).parents} - {"."}
    for entry in path.rglob("*"):
        rel = entry.relative_to(path).as_posix()
        if entry.is_symlink() or rel not in (folders if entry.is_dir() else listed):
            return False
    return bool(listed)


def _install(tmp: Path, path: Path, marker: str | None) -> None:
    """Move the finished folder ``tmp`` onto ``path`` (see :func:`atomic_dir`)."""
    if not path.exists():
        tmp.replace(path)
        return
    old_files = (_marker_files(path, marker) if marker else None) or []
    if _holds_only(path, old_files):
        # exactly a previous output (a folder that exists but holds nothing of fame's, even an empty one,
        # is the user's and stays): swap the whole folder, then drop the old one
        old = path.with_name(f".{path.name}.{_owner()}.old.tmp")
        path.replace(old)
        try:
            tmp.replace(path)
        except BaseException:
            old.replace(path)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    # a folder with files of its own: move the new files in one by one, remove only the previous output's
    new_files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if not p.is_dir())
    mine = set(old_files) | ({marker} if marker else set())
    clash = [rel for rel in new_files if rel not in mine and (path / rel).exists()]
    if clash:
        raise OutputExistsError(
            f"{path}: the output would replace {clash}, which are not files of a previous output; nothing "
            "was written (move them, or choose another output folder)"
        )
    for rel in new_files:
        dst = path / rel
        if dst.is_dir() and not dst.is_symlink():
            raise OutputExistsError(f"{dst}: is a folder; cannot put the output file {rel} there")
        dst.parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).replace(dst)
    root = path.resolve()
    for rel in set(old_files) - set(new_files):
        stale = path / rel
        # fame writes regular files: a link there (or a file reached through one) is not the previous output's
        if stale.is_file() and not stale.is_symlink() and stale.resolve().is_relative_to(root):
            stale.unlink()
