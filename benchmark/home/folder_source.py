"""Datasets installed from a local folder: registering its files, and checking by content that the folder still
holds them.

The folder becomes a git-annex directory special remote with ``importtree=yes`` (``datalad_ops.import_folder``);
git-annex copies content from it on demand. git-annex knows an imported file by its size, modification time and
inode, so on its own it would trust a file whose bytes changed with its time restored (bit rot, ``cp -p``, a
restore from backup), and distrust an identical copy of a file (new inode). Here content decides: ``check_source``
hashes the folder's files with ``git annex calckey`` and compares them with the keys recorded at install.
A file whose content is unchanged but that git-annex no longer recognises (an identical copy) is fine: ``refresh``
imports the folder again without content, after which git-annex fetches it again (the dataset's commit does not
change); ``DataHome.get`` does so when a fetch fails.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import DataLadError
from benchmark.home import datalad_ops as ops
from benchmark.home import git_ops
from benchmark.home.source_links import LinkScan

__all__ = ["SourceCheck", "check_source", "source_problems", "drop_checked", "refresh", "add_aliases"]


@dataclass(frozen=True)
class SourceCheck:
    """What ``check_source`` found.

    Attributes:
        verified: Files (relative to the dataset) whose content the source folder holds unchanged.
        changed: (file, why) for each file the folder no longer holds unchanged: missing, unreadable, leaving the
            folder through a link, or different content.
    """

    verified: tuple[Path, ...]
    changed: tuple[tuple[Path, str], ...]


def check_source(dataset: Path, source: Path, remote: str, paths: Sequence[Path] | None = None, *,
                 present_only: bool = False, checksum_all: bool = True) -> SourceCheck:
    """Check that ``source`` holds the recorded content of the annexed files of ``dataset``.

    Args:
        dataset: The dataset root.
        source: The folder it was installed from.
        remote: The git-annex remote of that folder.
        paths: Files or folders of the dataset to check (every annexed file when None).
        present_only: Check only files whose content is in the dataset (what ``drop`` would free).
        checksum_all: Hash every file. When False, files that git-annex still recognises (same size, time and
            inode) are taken as unchanged and only the others are hashed.
    """
    pairs = git_ops.annexed_keys(dataset, paths, present_only=present_only)
    if not pairs:
        return SourceCheck((), ())
    if checksum_all:
        to_hash = list(pairs)
    else:
        known = git_ops.checkpresent(dataset, remote, [key for _, key in pairs])
        to_hash = [pair for pair, present in zip(pairs, known, strict=True) if not present]
    changed = dict(_compare(dataset, Path(source), to_hash))
    verified = tuple(path for path, _ in pairs if path not in changed)
    return SourceCheck(verified, tuple(sorted(changed.items())))


def source_problems(dataset: Path, source: Path, remote: str, *, checksum_all: bool = True) -> tuple[str, ...]:
    """One line per annexed file of ``dataset`` that ``source`` no longer holds (``verify``'s check)."""
    check = check_source(dataset, source, remote, checksum_all=checksum_all)
    return tuple(f"{path}: no longer in the source folder {source} as installed: {why}; expected the content "
                 f"recorded at install (get could not fetch it again)" for path, why in check.changed)


def drop_checked(dataset: Path, source: Path, remote: str, targets: Sequence[Path] | None) -> None:
    """Drop the present content of ``targets`` (absolute paths in ``dataset``; everything when None) after hashing
    each file's copy in ``source``; nothing is dropped when one of them is not there unchanged. A copy with the same
    content that git-annex no longer recognises (new inode) counts: ``DataHome.get`` refreshes git-annex's view.

    Raises:
        DataLadError: A file's copy in the folder is missing or differs, so the one in the dataset is the only one.
    """
    selection = None if targets is None else [p.relative_to(dataset) for p in targets]
    check = check_source(dataset, source, remote, selection, present_only=True)
    if check.changed:
        shown = "; ".join(f"{p}: {why}" for p, why in check.changed[:5])
        more = f"; ... ({len(check.changed)} files)" if len(check.changed) > 5 else ""
        raise DataLadError(f"drop: refusing to drop {len(check.changed)} file(s) of {dataset}: the source folder "
                           f"{source} no longer holds their content (checked by checksum), so the copy here is the "
                           f"only one ({shown}{more}); expected the source folder as it was when installed; nothing "
                           f"was dropped")
    ops.drop(dataset, [dataset / p for p in check.verified], verified_elsewhere=True)


def refresh(dataset: Path, remote: str) -> None:
    """Let git-annex learn the folder's files again (see the module docstring)."""
    git_ops.refresh_import(dataset, remote, git_ops.branch(dataset))


def add_aliases(dataset: Path, scan: LinkScan) -> tuple[Path, ...]:
    """Record each file reached through a followed link as an annexed file with its real file's content (staged in
    ``dataset``, not committed).

    Returns:
        The aliases whose real file was not imported (the caller reports them).
    """
    if not scan.aliases:
        return ()
    keys = dict(git_ops.annexed_keys(dataset))
    recorded = [(alias, keys[real]) for alias, real in scan.aliases if real in keys]
    git_ops.add_alias_keys(dataset, recorded)
    return tuple(alias for alias, real in scan.aliases if real not in keys)


def _compare(dataset: Path, source: Path, pairs: Sequence[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """(file, why) for each file whose source copy does not hash to its key."""
    problems: list[tuple[Path, str]] = []
    if not source.is_dir():
        return [(path, f"the source folder {source} does not exist") for path, _ in pairs]
    root = source.resolve()
    by_backend: dict[str, list[tuple[Path, str, Path]]] = defaultdict(list)
    for path, key in pairs:
        where = source / path
        try:
            real = where.resolve(strict=True)
        except (OSError, RuntimeError):
            problems.append((path, f"{where} is missing from the source folder"))
            continue
        if not real.is_relative_to(root):
            problems.append((path, f"{where} now leads outside the source folder (to {real})"))
            continue
        by_backend[key.split("-", 1)[0]].append((path, key, real))
    for backend, items in by_backend.items():
        unique = sorted({real for _, _, real in items})
        computed = dict(zip(unique, git_ops.calckeys(dataset, unique, backend), strict=True))
        for path, key, real in items:
            found = computed[real]
            if found is None:
                problems.append((path, f"{real} could not be read ({_why_unreadable(real)})"))
            elif found != key:
                problems.append((path, f"{real} has other content (checksum key {found}, recorded {key})"))
    return problems


def _why_unreadable(path: Path) -> str:
    if not os.access(path, os.R_OK):
        return "permission denied"
    return "not a regular file" if not path.is_file() else "git annex calckey failed"
