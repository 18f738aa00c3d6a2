"""Install sources of the data home: what a source is (a URL, a local folder, a DataLad dataset) and how it is
recognised."""

from __future__ import annotations

import ipaddress
import re
from enum import Enum
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from benchmark.errors import InstallError
from benchmark.home import datalad_ops as ops
from benchmark.home import git_ops

__all__ = ["SourceKind", "ARCHIVE_SUFFIXES", "resolve_source", "local_addresses"]

#: File endings of URL sources that are extracted after download.
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


class SourceKind(str, Enum):
    """What an install source is: a URL to download, a local folder to register, or a DataLad dataset to clone."""

    URL = "url"
    FOLDER = "folder"
    DATALAD = "datalad"

    def __str__(self) -> str:
        return str(self.value)


def resolve_source(source: str | Path, kind: SourceKind | str | None = None) -> tuple[str, SourceKind]:
    """Normalise an install source and find its kind.

    Local paths (and ``file://`` URLs) must exist: a git repository is a ``datalad`` source, another folder a
    ``folder`` source. A git repository holding files that git does not track (git-ignored or untracked) is
    ambiguous, since a clone would leave them out: ``kind`` must then say whether to clone it (``datalad``) or to
    register every file of the folder (``folder``). http(s) URLs whose last path segment has a file suffix (other
    than ``.git``) are ``url`` sources; other URLs (``ssh://``, ``ria+...``, ``///``, ``user@host:path``, a URL
    without suffix) are ``datalad``.

    Returns:
        The source as recorded (an absolute path for local sources) and its kind.

    Raises:
        InstallError: The local source does not exist or is a file, ``kind`` does not fit the source, or the source
            is a git repository with untracked files and ``kind`` is None.
    """
    try:
        wanted = SourceKind(kind) if kind is not None else None
    except ValueError:
        raise InstallError(f"argument kind is {kind!r}; expected one of {[k.value for k in SourceKind]}") from None
    text = str(source)
    if isinstance(source, str) and ("://" in text or text.startswith("///") or _SCP_LIKE.match(text)) \
            and not text.startswith("file://"):
        parts = urlsplit(text)
        name = PurePosixPath(parts.path).name
        downloadable = parts.scheme in ("http", "https") and bool(PurePosixPath(name).suffix) \
            and not name.endswith(".git")
        found = wanted or (SourceKind.URL if downloadable else SourceKind.DATALAD)
        if found is SourceKind.FOLDER or (found is SourceKind.URL and parts.scheme not in ("http", "https")):
            raise InstallError(f"install source {text} cannot be a {found.value} source; expected an http(s) URL "
                               f"for 'url' and a local folder for 'folder'")
        return text, found
    path = Path(urlsplit(text).path if text.startswith("file://") else text).expanduser().resolve()
    if not path.exists():
        raise InstallError(f"install source {path} does not exist; expected a URL (http/https), a folder holding a "
                           f"downloaded copy of the dataset, or a DataLad dataset")
    if not path.is_dir():
        raise InstallError(f"install source {path} is a file; expected a folder (extract an archive first) or a URL")
    if ops.is_dataset(path):
        return str(path), _git_source_kind(path, wanted)
    found = SourceKind.FOLDER
    if wanted is not None and wanted is not found:
        raise InstallError(f"install source {path} is a {found.value} source, not {wanted.value}; expected "
                           f"{'a git repository' if wanted is SourceKind.DATALAD else 'a plain folder'} for "
                           f"'{wanted.value}'")
    return str(path), found


def _git_source_kind(path: Path, wanted: SourceKind | None) -> SourceKind:
    """``datalad`` for a git repository that tracks every file of its folder; otherwise what ``wanted`` says."""
    if wanted is SourceKind.URL:
        raise InstallError(f"install source {path} is a local git repository, not a url source; expected an http(s) "
                           f"URL for 'url'")
    if wanted is not None:
        return wanted
    count, first = git_ops.untracked_files(path)
    if not count:
        return SourceKind.DATALAD
    shown = ", ".join(first) + (", ..." if count > len(first) else "")
    raise InstallError(f"install source {path} is a git repository, and git does not track {count} of its files "
                       f"({shown}: git-ignored or untracked); cloning it would leave them out. Choose with --kind: "
                       f"'folder' registers every file of the folder as it is, 'datalad' clones what git tracks")


def local_addresses(host: str) -> str:
    """The addresses git-annex must be allowed to reach for ``host``, if it is loopback or private ('' otherwise)."""
    if host == "localhost":
        return "127.0.0.1 ::1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return ""
    return str(address) if address.is_loopback or address.is_private else ""
