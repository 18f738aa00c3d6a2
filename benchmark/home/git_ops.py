"""Plain ``git`` and ``git annex`` commands of the data home, run as subprocesses (DataLad's commands are in
``datalad_ops``).

These are the steps DataLad has no command for, or whose DataLad form cannot be made atomic: the git identity
check, registering and unregistering a subdataset in one commit of the superdataset, rolling the superdataset back
after an interrupted install, and the git-annex plumbing that checks a source folder by content (``calckey``),
refreshes what git-annex knows of it (``import``), lists keys (``find``) and records an annexed file under a second
path (``fromkey``). Every failure raises ``DataLadError`` naming the command, the repository and git's message.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import DataLadError
from benchmark.home.datalad_ops import ensure_annex_available

__all__ = [
    "GitIdentity",
    "FALLBACK_IDENTITY",
    "has_identity",
    "local_identity",
    "set_local_identity",
    "identity_env",
    "head",
    "branch",
    "registered_id",
    "register_subdataset",
    "unregister_subdataset",
    "activate_subdataset",
    "submodule_url",
    "forget_subdataset_config",
    "reset_hard",
    "remove_stale_locks",
    "unpublished_commits",
    "untracked_files",
    "annexed_keys",
    "calckeys",
    "checkpresent",
    "add_alias_keys",
    "refresh_import",
    "fsck_git",
]

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class GitIdentity:
    """A git author and committer identity."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


#: The repository-local identity of the data home's own commits when git has none configured.
FALLBACK_IDENTITY = GitIdentity("PropSAM Bench data home", "data-home@propsam-bench.invalid")


def has_identity(repo: Path | None = None) -> bool:
    """True when git can name an author and a committer: in ``repo`` (its local config counts), or outside any
    repository when None. ``git var`` fails exactly when ``git commit`` would fail with "Author identity unknown"."""
    where = str(repo) if repo is not None else os.path.abspath(os.sep)
    for variable in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
        done = subprocess.run(["git", "-C", where, "var", variable], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return False
    return True


def local_identity(repo: Path) -> GitIdentity | None:
    """The identity set in ``repo``'s own ``.git/config`` (None when it sets none)."""
    values = []
    for key in ("user.name", "user.email"):
        done = subprocess.run(["git", "-C", str(repo), "config", "--local", "--get", key], capture_output=True,
                              text=True, check=False)
        values.append(done.stdout.strip() if done.returncode == 0 else "")
    return GitIdentity(values[0], values[1]) if all(values) else None


def set_local_identity(repo: Path, identity: GitIdentity) -> None:
    """Write ``identity`` as ``user.name``/``user.email`` into ``repo``'s ``.git/config`` (not versioned)."""
    _git(repo, "config", "--local", "user.name", identity.name)
    _git(repo, "config", "--local", "user.email", identity.email)


@contextmanager
def identity_env(identity: GitIdentity | None) -> Iterator[None]:
    """Give the git processes started inside the block ``identity`` (nothing changes when None).

    Only for the first commit of a repository (``datalad create``), made before its ``.git/config`` exists.
    """
    if identity is None:
        yield
        return
    keys = {f"GIT_{role}_{part}": value for role in ("AUTHOR", "COMMITTER")
            for part, value in (("NAME", identity.name), ("EMAIL", identity.email))}
    saved = {key: os.environ.get(key) for key in keys}
    os.environ.update(keys)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --- the superdataset -----------------------------------------------------------------------------------------------

def head(repo: Path) -> str | None:
    """The HEAD commit of ``repo``, or None while it has no commit."""
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q", "HEAD^{commit}"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def branch(repo: Path) -> str:
    """The name of the branch checked out in ``repo``."""
    return _git(repo, "symbolic-ref", "--short", "HEAD").strip()


def registered_id(superdataset: Path, name: str) -> str | None:
    """The ``propbench-id`` that the committed ``.gitmodules`` of ``superdataset`` records for subdataset ``name``
    (None when HEAD does not register it, or registers it without an ID)."""
    done = subprocess.run(["git", "-C", str(superdataset), "config", "--blob", "HEAD:.gitmodules", "--get",
                           f"submodule.{name}.propbench-id"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    tree = subprocess.run(["git", "-C", str(superdataset), "ls-tree", "HEAD", "--", name], capture_output=True,
                          text=True, check=False)
    return done.stdout.strip() if tree.stdout.startswith("160000 ") else None


def register_subdataset(superdataset: Path, name: str, properties: Mapping[str, str], *, message: str) -> None:
    """Register the repository ``<superdataset>/<name>`` with ``properties`` in one commit (``.gitmodules`` and the
    gitlink together), then mark it active in ``.git/config`` as DataLad does.

    One commit makes the registration atomic: a kill before it leaves HEAD as it was, a kill after it leaves the
    subdataset registered with every property.
    """
    sub = superdataset / name
    commit = _git(sub, "rev-parse", "--verify", "HEAD^{commit}").strip()
    for key, value in properties.items():
        _git(superdataset, "config", "--file", ".gitmodules", f"submodule.{name}.{key}", value)
    _git(superdataset, "update-index", "--add", "--cacheinfo", f"160000,{commit},{name}")
    _git(superdataset, "add", "--", ".gitmodules")
    _git(superdataset, "commit", "-q", "--no-verify", "-m", message, "--", ".gitmodules", name)
    activate_subdataset(superdataset, name, properties.get("url", f"./{name}"))


def activate_subdataset(superdataset: Path, name: str, url: str) -> None:
    """``submodule.<name>.active`` and ``.url`` in the superdataset's ``.git/config`` (what DataLad writes)."""
    _drop_config_section(superdataset, name)
    _git(superdataset, "config", "--local", f"submodule.{name}.active", "true")
    _git(superdataset, "config", "--local", f"submodule.{name}.url", url)


def submodule_url(superdataset: Path, name: str) -> str:
    """The URL ``.gitmodules`` records for subdataset ``name`` (``./<name>`` when none)."""
    done = subprocess.run(["git", "-C", str(superdataset), "config", "--file", ".gitmodules", "--get",
                           f"submodule.{name}.url"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or f"./{name}"


def unregister_subdataset(superdataset: Path, name: str, *, message: str) -> None:
    """Remove subdataset ``name`` from the index and ``.gitmodules`` of ``superdataset`` in one commit (its folder is
    the caller's), and its section of ``.git/config``."""
    _git(superdataset, "rm", "-q", "--cached", "--ignore-unmatch", "--", name)
    if _has_section(superdataset, name):
        _git(superdataset, "config", "--file", ".gitmodules", "--remove-section", f"submodule.{name}")
        _git(superdataset, "add", "--", ".gitmodules")
    _git(superdataset, "commit", "-q", "--no-verify", "-m", message)
    _drop_config_section(superdataset, name)


def reset_hard(repo: Path) -> None:
    """``git reset --hard HEAD``: index and tracked files of ``repo`` as committed (subdatasets' content untouched)."""
    _git(repo, "reset", "-q", "--hard", "HEAD")


def forget_subdataset_config(superdataset: Path, name: str) -> None:
    """Remove ``submodule.<name>`` from the superdataset's ``.git/config`` (left by an interrupted registration)."""
    _drop_config_section(superdataset, name)


def remove_stale_locks(repo: Path) -> tuple[Path, ...]:
    """Delete the lock files a killed git process left in ``repo``'s git folder; returns them.

    Only safe while no git process works in ``repo``: the data home calls it under its own lock, which every
    writer of the superdataset holds.
    """
    gitdir = repo / ".git"
    found = sorted(gitdir.glob("*.lock"))  # index.lock, HEAD.lock, next-index-<pid>.lock of a commit, ...
    found += sorted((gitdir / "refs").rglob("*.lock")) if (gitdir / "refs").is_dir() else []
    found += sorted((gitdir / "logs").rglob("*.lock")) if (gitdir / "logs").is_dir() else []
    for lock in found:
        lock.unlink(missing_ok=True)
    return tuple(found)


def unpublished_commits(repo: Path) -> int:
    """How many commits of ``repo``'s HEAD none of its remote branches holds."""
    return int(_git(repo, "rev-list", "--count", "HEAD", "--not", "--remotes").strip() or 0)


def untracked_files(repo: Path, limit: int = 5) -> tuple[int, tuple[str, ...]]:
    """How many files of the worktree of ``repo`` git does not track (untracked or ignored), and the first
    ``limit`` of them."""
    out = _git(repo, "ls-files", "--others", "-z")
    names = [name for name in out.split("\0") if name]
    return len(names), tuple(names[:limit])


def fsck_git(repo: Path) -> tuple[str, ...]:
    """``git fsck`` of a repository without git-annex: one line per problem git reports."""
    done = subprocess.run(["git", "-C", str(repo), "fsck", "--no-progress", "--no-dangling"], capture_output=True,
                          text=True, check=False)
    if done.returncode == 0:
        return ()
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return tuple(f"git fsck: {line}" for line in lines) or (f"git fsck failed with status {done.returncode}",)


# --- git-annex plumbing --------------------------------------------------------------------------------------------

def annexed_keys(dataset: Path, paths: Sequence[Path] | None = None, *,
                 present_only: bool = False) -> tuple[tuple[Path, str], ...]:
    """(relative path, key) of every annexed file of ``dataset`` (within ``paths`` when given), in git-annex's
    order; with ``present_only``, only files whose content is in the dataset."""
    if paths is not None and not paths:
        return ()
    selector = ["--in=here"] if present_only else ["--include=*"]
    files = [str(p) for p in paths] if paths is not None else []
    out = _annex(dataset, "find", *selector, "--format=${key}\\t${file}\\n", "--", *files)
    pairs = []
    for line in out.splitlines():
        key, _, name = line.partition("\t")
        if key and name:
            pairs.append((Path(name), key))
    return tuple(pairs)


def calckeys(dataset: Path, files: Sequence[Path], backend: str) -> tuple[str | None, ...]:
    """The git-annex key of each file (its content hashed with ``backend``, e.g. ``MD5E``), None for a file that
    cannot be read; computed by ``git annex calckey`` in ``dataset`` (so that its key settings apply)."""
    if not files:
        return ()
    out = _annex(dataset, "calckey", f"--backend={backend}", "--batch",
                 stdin="".join(f"{os.fspath(f)}\n" for f in files))
    answers = out.split("\n")
    return tuple(answers[i].strip() or None if i < len(answers) else None for i in range(len(files)))


def checkpresent(dataset: Path, remote: str, keys: Sequence[str]) -> tuple[bool, ...]:
    """For each key, whether git-annex can fetch it from ``remote`` now (``git annex checkpresentkey --batch``).

    For an imported folder, git-annex answers from the file's size, modification time and inode, not from its
    content; the data home decides by checksum (``calckeys``) and uses this to know whether git-annex will fetch.
    """
    if not keys:
        return ()
    out = _annex(dataset, "checkpresentkey", "--batch", remote, stdin="".join(f"{key}\n" for key in keys))
    answers = out.split()
    return tuple(i < len(answers) and answers[i] == "1" for i in range(len(keys)))


def add_alias_keys(dataset: Path, aliases: Sequence[tuple[Path, str]]) -> None:
    """Record each (relative path, key) as an annexed file of ``dataset`` whose content is that key's
    (``git annex fromkey --force``); the files are staged, not committed."""
    if aliases:
        _annex(dataset, "fromkey", "--force", "--batch", stdin="".join(f"{key} {path.as_posix()}\n"
                                                                      for path, key in aliases))


def refresh_import(dataset: Path, remote: str, branch: str) -> None:
    """Import ``remote`` again without content, so that git-annex learns files replaced by identical copies (same
    bytes, new inode or time) and fetches them again. The imported tree goes to git-annex's tracking branch
    ``<remote>/<branch>`` only; the dataset's own branch and HEAD stay as they are."""
    _annex(dataset, "import", branch, "--from", remote, "--no-content", "--no-check-gitignore")


# --- helpers --------------------------------------------------------------------------------------------------------

def _git(repo: Path, *args: str, stdin: str | None = None) -> str:
    return _run(["git", "-C", str(repo), *args], repo, stdin)


def _annex(repo: Path, *args: str, stdin: str | None = None) -> str:
    ensure_annex_available()
    return _run(["git", "-C", str(repo), "annex", *args], repo, stdin)


def _run(command: list[str], repo: Path, stdin: str | None) -> str:
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    except OSError as err:
        raise DataLadError(f"{' '.join(command[3:5])} failed in {repo}: {err}") from err
    if done.returncode != 0:
        shown = " ".join(command[3:6])
        raise DataLadError(f"{shown} failed in {repo} with status {done.returncode}: "
                           f"{(done.stderr or done.stdout).strip() or 'no message'}")
    return done.stdout


def _has_section(repo: Path, name: str) -> bool:
    done = subprocess.run(["git", "-C", str(repo), "config", "--file", ".gitmodules", "--get-regexp",
                           rf"^submodule\.{_escape(name)}\."], capture_output=True, text=True, check=False)
    return done.returncode == 0 and bool(done.stdout.strip())


def _drop_config_section(repo: Path, name: str) -> None:
    subprocess.run(["git", "-C", str(repo), "config", "--local", "--remove-section", f"submodule.{name}"],
                   capture_output=True, check=False)


def _escape(name: str) -> str:
    return "".join(f"\\{c}" if c in r".^$*+?()[]{}|\\" else c for c in name)
