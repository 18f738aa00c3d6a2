"""The DataLad data home: one superdataset holding one subdataset per installed dataset (the YODA layout).

Layout::

    <home>/                 superdataset (README.md in git; .gitmodules records each dataset's ID and source)
    <home>/<dataset id>/    one DataLad dataset per dataset, in its native layout, treated as read-only

Each subdataset's HEAD commit is the dataset's *data version*, stamped on every Case read from it. ``install`` accepts
three kinds of source (``SourceKind``):

- ``url``: an http(s) URL of a file or an archive. ``datalad download-url`` fetches it and records the URL, so that
  ``get`` can fetch it again after ``drop``. Archives (.zip, .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz) are extracted
  with ``datalad add-archive-content`` (a single leading folder stripped) and kept as provenance in
  ``.propbench/archives/``; their members are fetched again from the archive (which needs the ``7z`` program when
  git-annex comes from its PyPI wheel; see ``datalad_ops._archive_hint``).
- ``folder``: a folder holding an already-downloaded copy. The user's files are registered without being altered,
  moved or copied: the folder becomes a git-annex directory special remote with ``importtree=yes`` and its tree is
  imported with ``git annex import --no-content`` (each file hashed, nothing stored) and merged. ``get`` copies
  content from the folder on demand and ``drop`` frees it again. Measured with git-annex 10.20261026 (PyPI wheel):
  import, get and drop all work, so the fallback (copying the files in) is not needed. git-annex always treats an
  import remote as untrusted, so ``drop`` first checks live that the folder still holds each file unchanged
  (``git annex checkpresentkey``) and only then drops without git-annex's own copy count.
- ``datalad``: an existing DataLad dataset (a path or a URL), cloned with ``datalad clone`` as a subdataset, so its
  commit stays the upstream commit.

The source, its kind and the dataset ID are recorded in the superdataset's ``.gitmodules`` (``propbench-id``,
``propbench-source``, ``propbench-source-kind``), which leaves the subdataset's own history untouched.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from benchmark.data.cards import DatasetCard
from benchmark.data.dataset import open_reader
from benchmark.data.readers.base import Fetcher, LayoutReader
from benchmark.errors import (
    BenchmarkError,
    DataLadError,
    DatasetNotInstalledError,
    InstallError,
    LayoutError,
    UnknownDatasetError,
)
from benchmark.home import datalad_ops as ops
from benchmark.home.sources import ARCHIVE_SUFFIXES, SourceKind, local_addresses, resolve_source

__all__ = [
    "HOME_ENV",
    "InstallResult",
    "DatasetStatus",
    "VerifyReport",
    "DataHome",
]

_LOG = logging.getLogger(__name__)
_FETCH_LOCK = threading.Lock()
#: Environment variable naming the data home (see ``DataHome.resolve``).
HOME_ENV = "PROPBENCH_HOME"
#: The data home when neither ``--home`` nor ``$PROPBENCH_HOME`` is given, relative to the user's home folder.
DEFAULT_HOME = Path(".local/share/propbench/home")
#: Name of the git-annex special remote of a ``folder`` source.
SOURCE_REMOTE = "propbench-source"
#: Where downloaded archives are kept inside a subdataset (hidden, so readers skip it).
ARCHIVE_DIR = Path(".propbench/archives")
_README = """# PropSAM Bench data home

A DataLad superdataset. Each subdataset (`<dataset id>/`) holds one dataset in its native layout and is treated as
read-only; its commit is the data version recorded with every result. Manage it with
`propbench datasets install|get|drop|status|verify`; `.gitmodules` records where each dataset came from.
"""


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
    """

    dataset_id: str
    path: Path
    commit: str
    source: str
    source_kind: SourceKind
    already_installed: bool = False


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


@dataclass(frozen=True)
class _HomeFetcher:
    """A picklable Fetcher: ``datalad get`` of the files of one dataset of a data home."""

    home: Path
    dataset_id: str

    def __call__(self, paths: Sequence[Path]) -> None:
        # git-annex takes locks per repository: concurrent gets from reader threads would fail, so they queue here.
        with _FETCH_LOCK:
            DataHome(self.home).get(self.dataset_id, paths)


@dataclass(frozen=True)
class DataHome:
    """The data home at ``path`` (created on first install; see the module docstring for the layout).

    Args:
        path: The superdataset's folder (made absolute).
    """

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).expanduser().resolve())

    @classmethod
    def resolve(cls, path: Path | None = None) -> DataHome:
        """The data home named by ``path`` (``--home``), else by ``$PROPBENCH_HOME``, else
        ``~/.local/share/propbench/home``. The environment is read at call time."""
        if path is not None:
            return cls(path)
        from_env = os.environ.get(HOME_ENV)
        if from_env:
            return cls(Path(from_env))
        return cls(Path.home() / DEFAULT_HOME)

    def ensure(self) -> None:
        """Create the superdataset (with a README kept in git) unless it exists.

        Raises:
            InstallError: ``path`` is a non-empty folder that is not a DataLad dataset, or a file.
        """
        if ops.is_dataset(self.path):
            return
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise InstallError(f"data home {self.path} exists and is not a DataLad dataset; expected an empty or "
                               f"absent folder (choose another with --home or ${HOME_ENV})")
        # git only: the superdataset holds subdataset links and its README, never large files
        ops.create(self.path, annex=False)
        (self.path / "README.md").write_text(_README, encoding="utf-8")
        ops.save(self.path, paths=[self.path / "README.md"], message="[propbench] describe the data home")

    def dataset_path(self, dataset_id: str) -> Path:
        """``<home>/<dataset_id>``.

        Raises:
            UnknownDatasetError: ``dataset_id`` is not a plain folder name (empty, hidden, or with a path separator).
        """
        if not dataset_id or dataset_id.startswith(".") or "/" in dataset_id or "\\" in dataset_id:
            raise UnknownDatasetError(f"argument dataset_id is {dataset_id!r}; expected a catalog ID such as 'D19'")
        return self.path / dataset_id

    def is_installed(self, dataset_id: str) -> bool:
        """True when ``<home>/<dataset_id>`` is an installed dataset."""
        return ops.is_dataset(self.path) and ops.is_dataset(self.dataset_path(dataset_id))

    def installed_ids(self) -> tuple[str, ...]:
        """IDs of the installed datasets, sorted."""
        if not ops.is_dataset(self.path):
            return ()
        return tuple(sorted(_record_id(r) for r in ops.subdatasets(self.path) if r.installed))

    def require(self, dataset_id: str, card: DatasetCard | None = None) -> Path:
        """The root of installed ``dataset_id``.

        Raises:
            DatasetNotInstalledError: It is not installed; the message lists the installed IDs and gives the install
                command (with the card's source page when ``card`` is given).
        """
        root = self.dataset_path(dataset_id)
        if self.is_installed(dataset_id):
            return root
        installed = ", ".join(self.installed_ids()) or "none"
        hint = f" (the card's source: {card.source.url})" if card is not None else ""
        raise DatasetNotInstalledError(
            f"dataset {dataset_id!r} is not installed in the data home {self.path} (installed: {installed}); "
            f"install it with `propbench datasets install {dataset_id} --from <SRC>`, where SRC is a URL of the "
            f"data, a folder holding a downloaded copy, or a DataLad dataset{hint}")

    def install(self, card: DatasetCard, source: str | Path, *, kind: SourceKind | str | None = None) -> InstallResult:
        """Install ``card``'s dataset from ``source`` as ``<home>/<card.id>`` and save the data home.

        Args:
            card: The dataset's card.
            source: An http(s) URL, a local folder holding a downloaded copy, or a DataLad dataset (path or URL).
            kind: Force the kind of source; detected from ``source`` when None (see ``resolve_source``).

        Raises:
            InstallError: The source does not exist or does not fit ``kind``, or the ID is installed from another
                source.
            DataLadError: A DataLad step failed; the half-made subdataset is removed again.
        """
        text, found_kind = resolve_source(source, kind)
        target = self.dataset_path(card.id)
        if self.is_installed(card.id):
            recorded = self._record(card.id).properties.get("propbench-source", "")
            if recorded == text:
                return InstallResult(card.id, target, self.commit(card.id), text, found_kind, already_installed=True)
            raise InstallError(f"dataset {card.id} is already installed in {target} from {recorded or 'unknown'}; "
                               f"got another source {text}; to change the source, remove it first "
                               f"(datalad remove -d {self.path} {target}) or use another data home (--home)")
        if os.path.lexists(target):
            raise InstallError(f"cannot install {card.id}: {target} exists and is not an installed dataset; "
                               f"expected nothing at that path (move it away)")
        if found_kind is SourceKind.FOLDER:
            self._check_folder(Path(text))
        self.ensure()
        try:
            self._fill(target, text, found_kind, card)
            message = f"[propbench] install {card.id} from {text} ({found_kind.value})"
            ops.save(self.path, paths=[target], message=message)  # registers a new subdataset
            ops.set_submodule_properties(self.path, target, {
                "propbench-id": card.id, "propbench-source": text, "propbench-source-kind": found_kind.value})
            ops.save(self.path, paths=[self.path / ".gitmodules"], message=f"{message}: record the source")
        except BenchmarkError:
            self._undo(target)
            raise
        return InstallResult(card.id, target, ops.head_commit(target), text, found_kind)

    def commit(self, dataset_id: str) -> str:
        """The subdataset's HEAD commit (the data version)."""
        return ops.head_commit(self.require(dataset_id))

    def fetcher(self, dataset_id: str) -> Fetcher:
        """A Fetcher that makes files of ``dataset_id`` present (``datalad get``; nothing for present files)."""
        self.require(dataset_id)
        return _HomeFetcher(self.path, dataset_id)

    def open_reader(self, card: DatasetCard, version: str | None = None) -> LayoutReader:
        """The family reader of ``card`` on its subdataset, stamping its commit and fetching content on demand.

        Raises:
            DatasetNotInstalledError: The dataset is not installed; the message gives the install command.
        """
        root = self.require(card.id, card)
        return open_reader(card, root, version=version, data_version=self.commit(card.id),
                           fetch=self.fetcher(card.id))

    def get(self, dataset_id: str, paths: Sequence[Path] | None = None) -> None:
        """Make ``paths`` (relative to the dataset root, or absolute inside it) present; everything when None."""
        root = self.require(dataset_id)
        if paths is None:
            self._fetch(dataset_id, root, None)
            return
        wanted = [p for p in self._inside(root, paths) if _needs_fetch(p)]
        if wanted:
            self._fetch(dataset_id, root, wanted)

    def drop(self, dataset_id: str, paths: Sequence[Path] | None = None) -> None:
        """Free the content of ``paths`` (everything when None); it can be fetched again with ``get``.

        Raises:
            DataLadError: The content could not be fetched again (e.g. a source folder changed since install).
        """
        root = self.require(dataset_id)
        targets = None if paths is None else self._inside(root, paths)
        remote = SOURCE_REMOTE if _kind(self._record(dataset_id)) is SourceKind.FOLDER else None
        ops.drop(root, targets, check_remote=remote)

    def status(self, dataset_id: str | None = None) -> tuple[DatasetStatus, ...]:
        """The state of ``dataset_id``, or of every installed dataset (sorted by ID) when None."""
        if dataset_id is not None:
            self.require(dataset_id)
            return (self._status(self._record(dataset_id)),)
        if not ops.is_dataset(self.path):
            return ()
        records = [r for r in ops.subdatasets(self.path) if r.installed]
        return tuple(self._status(r) for r in sorted(records, key=_record_id))

    def verify(self, dataset_id: str) -> VerifyReport:
        """Check present content against its checksums (``git annex fsck``), that the worktree is clean, that a
        source folder still holds every file unchanged, and that the data home records the subdataset's commit."""
        root = self.require(dataset_id)
        record = self._record(dataset_id)
        problems = list(ops.fsck_present(root))
        problems += [f"{s.path}: {s.state} in the worktree of {root}; expected clean (the data home is read-only)"
                     for s in ops.file_states(root) if s.state != "clean"]
        if _kind(record) is SourceKind.FOLDER:
            source = record.properties.get("propbench-source", "?")
            problems += [f"{p}: no longer unchanged in the source folder {source}; expected it as at install "
                         f"(get could not fetch it again)" for p in ops.missing_from_remote(root, SOURCE_REMOTE)]
        recorded, head = record.recorded_commit, ops.head_commit(root)
        if recorded != head:
            problems.append(f"the data home {self.path} records commit {recorded[:12]} for {dataset_id}, but the "
                            f"subdataset is at {head[:12]}; expected the same commit (save the data home)")
        return VerifyReport(dataset_id, tuple(problems))

    # --- internals --------------------------------------------------------------------------------------------------

    def _record(self, dataset_id: str) -> ops.SubdatasetRecord:
        root = self.dataset_path(dataset_id)
        for record in ops.subdatasets(self.path):
            if record.path == root:
                return record
        raise DatasetNotInstalledError(f"{root} is a dataset but not registered in the data home {self.path} "
                                       f"(expected it in {self.path / '.gitmodules'}); it is left from an interrupted "
                                       f"install: remove {root} and install {dataset_id} again")

    def _status(self, record: ops.SubdatasetRecord) -> DatasetStatus:
        states = ops.file_states(record.path)
        data = [s for s in states if s.state != "untracked" and s.kind != "dataset" and not _hidden(s.path)]
        return DatasetStatus(_record_id(record), record.path, ops.head_commit(record.path),
                             all(s.state == "clean" for s in states), len(data), sum(s.present for s in data),
                             record.properties.get("propbench-source", ""), _kind(record))

    def _fill(self, target: Path, source: str, kind: SourceKind, card: DatasetCard) -> None:
        if kind is SourceKind.DATALAD:
            ops.clone(source, target, superdataset=self.path)
            return
        ops.create(target, description=f"{card.id}: {card.name}")  # registered by the data home's next save
        if kind is SourceKind.FOLDER:
            ops.import_folder(target, Path(source), remote=SOURCE_REMOTE)
            return
        host = urlsplit(source).hostname or ""
        allowed = local_addresses(host)
        if allowed:
            # git-annex refuses loopback and private addresses unless allowed; the user named this host explicitly
            ops.set_config(target, "annex.security.allowed-ip-addresses", allowed)
        name = PurePosixPath(urlsplit(source).path).name
        archive = ops.download(target, source, Path(name))
        if name.lower().endswith(ARCHIVE_SUFFIXES):
            ops.extract_archive(target, archive, keep_as=ARCHIVE_DIR / name)

    def _check_folder(self, folder: Path) -> None:
        if folder.is_relative_to(self.path) or self.path.is_relative_to(folder):
            raise InstallError(f"install source {folder} overlaps the data home {self.path}; expected a folder "
                               f"outside it that does not contain it")
        if not any(folder.iterdir()):
            raise InstallError(f"install source {folder} is an empty folder; expected a downloaded copy of the "
                               f"dataset")

    def _undo(self, target: Path) -> None:
        if not ops.is_dataset(target):
            return
        try:
            ops.remove_subdataset(self.path, target)
        except DataLadError as err:  # the install's own error is the one to raise; say what is left behind
            _LOG.warning("the failed install left %s behind, and removing it failed: %s", target, err)

    def _inside(self, root: Path, paths: Sequence[Path]) -> list[Path]:
        inside = []
        for given in paths:
            path = Path(os.path.normpath(root / given))
            if not path.is_relative_to(root):
                raise LayoutError(f"argument paths: {given} is outside the dataset {root}; expected paths relative "
                                  f"to it or inside it")
            inside.append(path)
        return inside

    def _fetch(self, dataset_id: str, root: Path, paths: Sequence[Path] | None) -> None:
        try:
            ops.get(root, paths)
        except DataLadError as err:
            record = self._record(dataset_id)
            if _kind(record) is not SourceKind.FOLDER:
                raise
            source = record.properties.get("propbench-source", "?")
            raise DataLadError(f"{err} (the content comes from the source folder {source}; check that it still holds "
                               f"the files unchanged)") from err


def _record_id(record: ops.SubdatasetRecord) -> str:
    return record.properties.get("propbench-id") or record.path.name


def _kind(record: ops.SubdatasetRecord) -> SourceKind | None:
    value = record.properties.get("propbench-source-kind", "")
    return SourceKind(value) if value in {k.value for k in SourceKind} else None


def _hidden(path: Path) -> bool:
    return any(part.startswith(".") for part in path.parts)


def _needs_fetch(path: Path) -> bool:
    """True when ``path`` (a file, or a folder such as a DICOM series) has content not on disk yet."""
    if path.is_dir():
        return any(os.path.islink(p) and not p.exists() for p in path.rglob("*"))
    return not path.exists()
