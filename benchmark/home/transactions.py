"""Crash safety of the data home: one writer at a time, staged installs, and recovery of interrupted ones.

Everything lives in the superdataset's git folder, ``<home>/.git/propbench/``, where neither git nor DataLad looks:

- ``lock``: held (``flock``) by every install and removal; the kernel releases it when the process dies, even by
  SIGKILL, so a held lock always means a live writer.
- ``staging/<id>.<random>/``: a dataset being installed is made here (created or cloned, filled, checked), then
  moved into ``<home>/<id>`` with one ``rename`` and registered with one commit (``git_ops.register_subdataset``).
- ``journal.json``: written before the move, removed after the commit. A journal found under the lock belongs to
  a writer that died. ``recover`` then finishes what is certain and undoes the rest: an install whose commit landed
  is kept, any other install is rolled back (stale git locks removed, index and ``.gitmodules`` reset, the moved
  folder deleted); a removal is completed (its content was dropped safely before the journal was written).

Stale staging folders are deleted by ``recover`` too, so whatever the moment of a kill, the next command starts
from the data home as it was before the interrupted command, or as after it.

``pause_point`` lets the crash-safety test stop a real install at a named step and kill it there.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from benchmark.home import git_ops

__all__ = [
    "PAUSE_ENV",
    "Action",
    "Journal",
    "private_dir",
    "staging_dir",
    "home_lock",
    "held",
    "recover_if_idle",
    "needs_recovery",
    "write_journal",
    "read_journal",
    "clear_journal",
    "recover",
    "roll_back",
    "remove_subdataset",
    "remove_tree",
    "process_alive",
    "pause_point",
]

_LOG = logging.getLogger(__name__)
#: Names a step at which a process of the suite stops until it is killed; for the crash-safety test only.
PAUSE_ENV = "PROPBENCH_PAUSE_AT"
_JOURNAL = "journal.json"
_HELD: dict[Path, int] = {}
_GUARD = threading.RLock()


class Action(str, Enum):
    """What an interrupted command was doing."""

    INSTALL = "install"
    REMOVE = "remove"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, kw_only=True)
class Journal:
    """The record of a change of the superdataset in progress.

    Attributes:
        action: Install or remove.
        dataset_id: The dataset's ID, also its folder name in the home.
        head: The superdataset's HEAD before the change.
        aside: Where a removal moved the subdataset before deleting it ("" for installs).
    """

    action: Action
    dataset_id: str
    head: str
    aside: str = ""


def private_dir(home: Path) -> Path:
    """``<home>/.git/propbench``: the suite's own files in the superdataset's git folder."""
    return Path(home) / ".git" / "propbench"


def staging_dir(home: Path, dataset_id: str) -> Path:
    """A new path (not created) where ``dataset_id`` is made before it is moved into the home.

    Each install gets its own name, so that DataLad, which keeps one repository object per path for the life of
    the process, never mistakes a new staged dataset for an earlier one.
    """
    root = private_dir(home) / "staging"
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{dataset_id}.", dir=root))
    path.rmdir()
    return path


@contextmanager
def home_lock(home: Path) -> Iterator[None]:
    """Hold the data home's writer lock (re-entrant within one thread; other threads and processes wait)."""
    path = private_dir(home) / "lock"
    with _GUARD:
        if _HELD.get(path):
            _HELD[path] += 1
            try:
                yield
            finally:
                _HELD[path] -= 1
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                _LOG.warning("waiting for another propbench command to finish with the data home %s", home)
                fcntl.flock(fd, fcntl.LOCK_EX)
            _HELD[path] = 1
            try:
                yield
            finally:
                del _HELD[path]
        finally:
            os.close(fd)  # closing releases the flock


def recover_if_idle(home: Path) -> None:
    """``recover`` when nothing is left to a dead writer only; never waits: while a live writer holds the lock (in
    this process or another), its unfinished state is its own."""
    if held(home) or not needs_recovery(home):
        return
    path = private_dir(home) / "lock"
    with _GUARD:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            _HELD[path] = 1
            try:
                recover(home)
            finally:
                del _HELD[path]
        finally:
            os.close(fd)


def held(home: Path) -> bool:
    """True when this process holds the writer lock of ``home``."""
    return bool(_HELD.get(private_dir(home) / "lock"))


def needs_recovery(home: Path) -> bool:
    """True when a dead writer may have left something behind (a journal or a staging folder)."""
    private = private_dir(home)
    staging = private / "staging"
    return (private / _JOURNAL).exists() or (staging.is_dir() and any(staging.iterdir()))


def write_journal(home: Path, journal: Journal) -> None:
    """Write the journal atomically (a complete file or none) and durably."""
    path = private_dir(home) / _JOURNAL
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as stream:
        json.dump({k: str(v) for k, v in asdict(journal).items()}, stream)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(partial, path)


def read_journal(home: Path) -> Journal | None:
    """The journal of an unfinished change, or None."""
    path = private_dir(home) / _JOURNAL
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Journal(action=Action(data["action"]), dataset_id=str(data["dataset_id"]), head=str(data["head"]),
                       aside=str(data.get("aside", "")))
    except (OSError, ValueError, KeyError, TypeError) as err:  # a torn write cannot happen (os.replace); be safe
        _LOG.warning("ignoring the unreadable journal %s (%s)", path, err)
        return None


def clear_journal(home: Path) -> None:
    """Remove the journal: the change is complete (or undone)."""
    (private_dir(home) / _JOURNAL).unlink(missing_ok=True)


def recover(home: Path) -> str:
    """Undo or finish what a dead writer left (call under ``home_lock``); returns what was done ("" if nothing)."""
    private = private_dir(home)
    done = []
    staging = private / "staging"
    if staging.is_dir():
        for leftover in sorted(staging.iterdir()):
            remove_tree(leftover)
            done.append(f"deleted the unfinished staging folder {leftover}")
    journal = read_journal(home)
    if journal is not None:
        done.append(roll_back(home, journal))
        clear_journal(home)
    for line in done:
        _LOG.warning("data home %s: %s", home, line)
    return "; ".join(done)


def roll_back(home: Path, journal: Journal) -> str:
    """Bring the superdataset to a consistent state after ``journal``'s change stopped at any step.

    An install whose registering commit landed is kept; any other install is undone. A removal is completed.
    """
    name = journal.dataset_id
    target = Path(home) / name
    locks = git_ops.remove_stale_locks(home)
    note = f" (removed stale git locks {', '.join(p.name for p in locks)})" if locks else ""
    registered = git_ops.registered_id(home, name) is not None
    if journal.action is Action.INSTALL:
        if registered and git_ops.head(home) != journal.head:
            git_ops.reset_hard(home)
            git_ops.activate_subdataset(home, name, git_ops.submodule_url(home, name))
            return f"kept the interrupted install of {name}: its commit had landed{note}"
        git_ops.reset_hard(home)
        git_ops.forget_subdataset_config(home, name)
        if os.path.lexists(target):
            remove_tree(target)
        return f"rolled back the interrupted install of {name}{note}"
    git_ops.reset_hard(home)
    if registered:
        git_ops.unregister_subdataset(home, name, message=f"[propbench] remove {name} (completed after interruption)")
    git_ops.forget_subdataset_config(home, name)
    for leftover in (Path(journal.aside) if journal.aside else None, target):
        if leftover is not None and os.path.lexists(leftover):
            remove_tree(leftover)
    return f"completed the interrupted removal of {name}{note}"


def remove_subdataset(home: Path, dataset_id: str) -> None:
    """Take the subdataset ``dataset_id`` out of the data home: move it aside, unregister it in one commit, delete
    it (call under ``home_lock``, once its content is dropped). A kill at any step is completed by ``recover``."""
    aside = private_dir(home) / "removing" / dataset_id
    journal = Journal(action=Action.REMOVE, dataset_id=dataset_id, head=git_ops.head(home) or "", aside=str(aside))
    write_journal(home, journal)
    aside.parent.mkdir(parents=True, exist_ok=True)
    os.rename(home / dataset_id, aside)
    pause_point("remove:aside")
    roll_back(home, journal)  # completes a removal
    clear_journal(home)


def remove_tree(path: Path) -> None:
    """Delete ``path`` and everything below it, write-protected git-annex objects included."""
    def allow_and_retry(function: object, failed: str, _info: object) -> None:
        parent = os.path.dirname(failed)
        for where in (parent, failed):
            if os.path.exists(where) and not os.path.islink(where):
                os.chmod(where, os.stat(where).st_mode | stat.S_IWUSR | stat.S_IXUSR | stat.S_IRUSR)
        if callable(function):
            function(failed)

    if os.path.islink(path) or Path(path).is_file():
        os.unlink(path)
        return
    shutil.rmtree(path, onerror=allow_and_retry)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (one of another user counts as running), so its half-made folders stay."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pause_point(step: str) -> None:
    """Stop here until killed when ``$PROPBENCH_PAUSE_AT`` names ``step`` (the crash-safety test kills the process
    at that moment with SIGKILL); nothing otherwise."""
    if os.environ.get(PAUSE_ENV) != step:
        return
    sys.stderr.write(f"propbench: paused at {step}\n")
    sys.stderr.flush()
    while True:
        time.sleep(60)

