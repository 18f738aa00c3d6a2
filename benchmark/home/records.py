"""What the data home's operations return: plain frozen records (see benchmark.home.data_home)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmark.home.source_links import SourceLink
from benchmark.home.sources import SourceKind

__all__ = ["InstallResult", "DatasetStatus", "VerifyReport"]


@dataclass(frozen=True)
class InstallResult:
    """What ``DataHome.install`` did.

    Attributes:
        dataset_id: Catalog ID.
        path: The subdataset root, ``<home>/<dataset_id>``.
        commit: The subdataset's HEAD commit (the data version).
        source: The source as recorded (an absolute path for local sources).
        source_kind: The kind of source.
        already_installed: True when the dataset was already installed from the same source (nothing was done).
        links: The symbolic links met in a folder source: followed ones, and those left out with why.
    """

    dataset_id: str
    path: Path
    commit: str
    source: str
    source_kind: SourceKind
    already_installed: bool = False
    links: tuple[SourceLink, ...] = ()


@dataclass(frozen=True)
class DatasetStatus:
    """The state of one installed dataset.

    Attributes:
        dataset_id: Catalog ID.
        path: The subdataset root.
        commit: Its HEAD commit.
        clean: True when its worktree has no modified, added, deleted or untracked file.
        n_files: Files tracked, not counting DataLad's and the suite's hidden files.
        n_present: Of those, the files whose content is on disk.
        source: The install source, as recorded.
        source_kind: The kind of source (None if not recorded).
    """

    dataset_id: str
    path: Path
    commit: str
    clean: bool
    n_files: int
    n_present: int
    source: str
    source_kind: SourceKind | None = None


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of ``DataHome.verify``: ``ok`` when ``problems`` is empty; one line per problem."""

    dataset_id: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems
