"""Plain git and git-annex plumbing of the data home (benchmark/home/git_ops.py), with real git and git-annex."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from benchmark.errors import DataLadError
from benchmark.home import datalad_ops as ops
from benchmark.home import git_ops
from tests.benchmark.home.toy import IMAGE, write_cases


def _log(repo: Path) -> list[str]:
    done = subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_identity_is_detected_as_git_would_commit(no_git_identity: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert not git_ops.has_identity(None) and not git_ops.has_identity(repo)
    assert subprocess.run(["git", "-C", str(repo), "commit", "--allow-empty", "-q", "-m", "x"],
                          capture_output=True, check=False).returncode != 0
    git_ops.set_local_identity(repo, git_ops.FALLBACK_IDENTITY)
    assert git_ops.has_identity(repo) and not git_ops.has_identity(None)
    assert git_ops.local_identity(repo) == git_ops.FALLBACK_IDENTITY
    with git_ops.identity_env(git_ops.GitIdentity("Env", "env@example.invalid")):
        assert git_ops.has_identity(None)
    assert not git_ops.has_identity(None) and "GIT_AUTHOR_NAME" not in os.environ


def test_register_and_unregister_are_one_commit_each(git_identity: Path, tmp_path: Path) -> None:
    home, sub = tmp_path / "super", tmp_path / "super" / "D1"
    ops.create(home, annex=False)
    ops.create(sub)
    git_ops.register_subdataset(home, "D1", {"path": "D1", "url": "./D1", "propbench-id": "D1"},
                                message="register D1")
    assert _log(home)[0] == "register D1" and git_ops.registered_id(home, "D1") == "D1"
    assert [r.path for r in ops.subdatasets(home)] == [sub]
    assert all(s.state == "clean" for s in ops.file_states(home))
    git_ops.unregister_subdataset(home, "D1", message="unregister D1")
    assert _log(home)[0] == "unregister D1" and git_ops.registered_id(home, "D1") is None
    assert "D1" not in (home / ".gitmodules").read_text(encoding="utf-8")


def test_stale_locks_are_found_and_removed(git_identity: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for lock in ("index.lock", "HEAD.lock", "next-index-123.lock", "refs/heads/main.lock"):
        (repo / ".git" / lock).touch()
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run(["git", "-C", str(repo), "commit", "--allow-empty", "-q", "-m", "x"], check=True,
                       capture_output=True)
    assert {p.name for p in git_ops.remove_stale_locks(repo)} == {"index.lock", "HEAD.lock", "next-index-123.lock",
                                                                   "main.lock"}
    subprocess.run(["git", "-C", str(repo), "commit", "--allow-empty", "-q", "-m", "x"], check=True)


def test_calckeys_hash_like_the_import_and_name_unreadable_files(git_identity: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "ds"
    ops.create(dataset)
    write_cases(dataset, n_cases=1)
    ops.save(dataset, message="cases")
    ((_, key),) = git_ops.annexed_keys(dataset, [IMAGE])
    backend = key.split("-", 1)[0]
    copy = tmp_path / "copy.nii.gz"
    copy.write_bytes((dataset / IMAGE).read_bytes())
    assert git_ops.calckeys(dataset, [copy, tmp_path / "missing.nii.gz", tmp_path], backend) == (key, None, None)
    assert git_ops.annexed_keys(dataset, [IMAGE], present_only=True) == ((IMAGE, key),)
    assert git_ops.annexed_keys(dataset, []) == ()


def test_untracked_files_are_counted(git_identity: Path, tmp_path: Path) -> None:
    repo = write_cases(tmp_path / "repo", n_cases=1)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert git_ops.untracked_files(repo, limit=1) == (2, ("imagesTr/case_000.nii.gz",))
    with pytest.raises(DataLadError, match="ls-files --others -z failed in .*not-a-repo"):
        git_ops.untracked_files(tmp_path / "not-a-repo")
