"""Content keys of files: the git-annex key when a file is annexed, else a BLAKE2b hash of its bytes.

A case's cache key combines the content keys of its files, so a re-run only reads cases whose files changed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["file_key", "combined_key"]

_CHUNK = 1 << 20


def file_key(path: Path) -> str:
    """The content key of one file or folder (a folder's key combines the keys of the visible files below it).

    Annexed files (links into ``.git/annex/objects``) are keyed by their annex key, which already hashes the content,
    so no bytes are read; that also works when the content is not present.
    """
    path = Path(path)
    if path.is_symlink():
        target = os.readlink(path)
        if "/annex/objects/" in target.replace(os.sep, "/"):
            return "annex:" + os.path.basename(target)
    if path.is_dir():
        # The files a reader's walk reads (links inside followed once, loops walked once), each by its name.
        from benchmark.data.readers.links import DatasetBounds

        walk = DatasetBounds.of(path).walk(path)
        parts = [f"{p.relative_to(path)}={file_key(p)}" for p in sorted(walk.files)]
        parts += [f"{link.relative_to(path)}->{target}" for link, target in sorted(walk.outside)]
        return "dir:" + combined_key(parts)
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return "b2:" + digest.hexdigest()


def combined_key(parts: Iterable[str]) -> str:
    """A short stable hash of several strings (order matters)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()
