"""The DataLad data home: one superdataset holding one subdataset per installed dataset (the YODA layout).

Layout::

    <home>/                 superdataset (README.md in git; .gitmodules records each dataset's ID and source)
    <home>/<dataset id>/    one DataLad dataset per dataset, in its native layout, treated as read-only
    <home>/.git/propbench/  the suite's lock, staging area and journal (see benchmark.home.transactions)

Each subdataset's HEAD commit is the dataset's *data version*, stamped on every Case read from it. ``install``
accepts three kinds of source (``SourceKind``):

- ``url``: an http(s) URL of a file or an archive. ``datalad download-url`` fetches it and records the URL, so that
  ``get`` can fetch it again after ``drop``. Archives (.zip, .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz) are extracted
  with ``datalad add-archive-content`` (a single leading folder stripped) and kept as provenance in
  ``.propbench/archives/``; their members are fetched again from the archive (which needs the ``7z`` program when
  git-annex comes from its PyPI wheel; see ``datalad_ops._archive_hint``).
- ``folder``: a folder holding an already-downloaded copy. The user's files are registered without being altered,
  moved or copied: the folder becomes a git-annex directory special remote with ``importtree=yes`` and its tree is
  imported with ``git annex import --no-content`` (each file hashed, nothing stored) and merged. ``get`` copies
  content from the folder on demand and ``drop`` frees it again. git-annex knows the folder's files by size, time
  and inode only, so content decides here (``benchmark.home.folder_source``): ``drop`` frees a file only after
  hashing its copy in the folder, ``verify`` hashes the folder's files, and a file replaced by an identical copy
  stays valid.
- ``datalad``: an existing DataLad dataset or git repository (a path or a URL), cloned with ``datalad clone``, so
  its commit stays the upstream commit. A git repository with files git does not track is refused unless ``--kind``
  says whether to clone it or to register its folder.

Symbolic links: links inside the dataset are followed, links leaving it are reported per case, loops are detected
(see benchmark.home.source_links for the install side).

Crash safety: a dataset is made in a staging folder, moved into place with one rename and registered with one
commit; a failure or a kill at any step leaves the data home as it was or as after the install, and the next
command finishes or undoes an interrupted one (benchmark.home.transactions). Installs refuse a source in which the
card's reader finds no case, and the data home or a folder inside it. The source, its kind and the dataset ID are
recorded in the superdataset's ``.gitmodules`` (``propbench-id``, ``propbench-source``, ``propbench-source-kind``),
which leaves the subdataset's own history untouched. Without a git identity, the data home's own commits use a
repository-local one (benchmark.home.installation).
"""


from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

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
from benchmark.home import folder_source, git_ops, installation, transactions
from benchmark.home.installation import SOURCE_REMOTE
from benchmark.home.records import DatasetStatus, InstallResult, VerifyReport
from benchmark.home.source_links import scan_links
from benchmark.home.sources import SourceKind, resolve_source

__all__ = [
    "HOME_ENV",
    "SOURCE_REMOTE",
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
        """Create the superdataset (with a README kept in git) unless it exists; repair one that an interrupted
        create left without a commit.

        Raises:
            InstallError: ``path`` is a non-empty folder that is not a DataLad dataset, or a file.
        """
        if ops.is_dataset(self.path):
            if git_ops.head(self.path) is not None:
                self._settle()
                return
            installation.clear_unborn(self.path)
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise InstallError(f"data home {self.path} exists and is not a DataLad dataset; expected an empty or "
                               f"absent folder (choose another with --home or ${HOME_ENV})")
        installation.create_home(self.path)

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
        self._settle()
        return self._installed(dataset_id)

    def installed_ids(self) -> tuple[str, ...]:
        """IDs of the installed datasets, sorted."""
        if not ops.is_dataset(self.path):
            return ()
        self._settle()
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
        """Install ``card``'s dataset from ``source`` as ``<home>/<card.id>``, atomically (see the module docstring).

        Args:
            card: The dataset's card.
            source: An http(s) URL, a local folder holding a downloaded copy, or a DataLad dataset (path or URL).
            kind: Force the kind of source; detected from ``source`` when None (see ``resolve_source``).

        Raises:
            InstallError: The source does not exist, does not fit ``kind``, overlaps the data home or holds no case
                of the card's layout, or the ID is installed from another source.
            DataLadError: A DataLad step failed; the data home is left as it was.
        """
        text, found_kind = resolve_source(source, kind)
        target = self.dataset_path(card.id)
        if os.path.isabs(text):
            self._refuse_overlap(Path(text))
        if ops.is_dataset(self.path) and git_ops.head(self.path) is None:
            installation.clear_unborn(self.path)  # left by an interrupted create: nothing in it is installed
        self._settle()
        if self._installed(card.id):
            return self._reinstall(card, text, found_kind)
        _refuse_leftover(target)
        scan = None
        if found_kind is SourceKind.FOLDER:
            folder = Path(text)
            if not any(folder.iterdir()):
                raise InstallError(f"install source {folder} is an empty folder; expected a downloaded copy of the "
                                   f"dataset")
            installation.check_layout(card, folder, source=text)
            scan = scan_links(folder)
        self.ensure()
        identity = installation.commit_identity(self.path)
        with transactions.home_lock(self.path):
            transactions.recover(self.path)
            if self._installed(card.id):  # another process installed it meanwhile
                return self._reinstall(card, text, found_kind)
            _refuse_leftover(target)
            installation.install_staged(self.path, card, text, found_kind, scan, identity)
        for link in scan.reported if scan is not None else ():
            _LOG.warning("%s: %s", card.id, link.describe())
        return InstallResult(card.id, target, ops.head_commit(target), text, found_kind,
                             links=scan.links if scan is not None else ())

    def remove(self, dataset_id: str) -> None:
        """Remove an installed dataset from the data home (a source folder is left as it is).

        Its content is dropped first, with the same checks as ``drop``, so nothing whose only copy is here is lost.

        Raises:
            InstallError: Files of the dataset are modified or untracked, or a cloned dataset has commits that no
                remote holds.
            DataLadError: A file's content could not be dropped safely; nothing was removed.
        """
        root = self.require(dataset_id)
        with transactions.home_lock(self.path):
            transactions.recover(self.path)
            dirty = [f"{s.path} ({s.state})" for s in ops.file_states(root) if s.state != "clean"]
            if dirty:
                raise InstallError(f"cannot remove {dataset_id}: {len(dirty)} file(s) of {root} differ from its "
                                   f"commit ({', '.join(dirty[:5])}); expected a clean dataset (save or move them)")
            if _kind(self._record(dataset_id)) is SourceKind.DATALAD and git_ops.unpublished_commits(root):
                raise InstallError(f"cannot remove {dataset_id}: {root} has commits that none of its remotes holds; "
                                   f"expected the commits of its source only (push them first)")
            self._drop_checked(dataset_id, root, None)
            transactions.remove_subdataset(self.path, dataset_id)

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
        """Free the content of ``paths`` (everything when None) once another copy is known to be fetchable.

        For a folder source, each file's copy in the folder is hashed first; for other sources git-annex checks
        that a remote it trusts holds the file.

        Raises:
            DataLadError: A file's only good copy is here (a source folder changed or lost it, a remote lacks it);
                nothing of the selection is dropped then.
        """
        root = self.require(dataset_id)
        self._drop_checked(dataset_id, root, None if paths is None else self._inside(root, paths))

    def status(self, dataset_id: str | None = None) -> tuple[DatasetStatus, ...]:
        """The state of ``dataset_id``, or of every installed dataset (sorted by ID) when None."""
        if dataset_id is not None:
            self.require(dataset_id)
            return (self._status(self._record(dataset_id)),)
        if not ops.is_dataset(self.path):
            return ()
        self._settle()
        records = [r for r in ops.subdatasets(self.path) if r.installed]
        return tuple(self._status(r) for r in sorted(records, key=_record_id))

    def verify(self, dataset_id: str, *, checksum_source: bool = True) -> VerifyReport:
        """Check present content against its checksums (``git annex fsck``, or ``git fsck`` without git-annex), that
        the worktree is clean, that a source folder still holds every file's content, and that the data home
        records the subdataset's commit. A check that cannot run is reported as a problem; the others still run.

        Args:
            dataset_id: The dataset.
            checksum_source: Hash every file of a source folder; when False, only files whose size, time or inode
                changed are hashed (a byte changed with its time restored then goes unnoticed).
        """
        root = self.require(dataset_id)
        record = self._record(dataset_id)
        problems: list[str] = []
        _collect(problems, "content checksums",
                 lambda: ops.fsck_present(root) if ops.has_annex(root) else git_ops.fsck_git(root))
        _collect(problems, "worktree", lambda: tuple(
            f"{s.path}: {s.state} in the worktree of {root}; expected clean (the data home is read-only)"
            for s in ops.file_states(root) if s.state != "clean"))
        if _kind(record) is SourceKind.FOLDER:
            source = Path(record.properties.get("propbench-source", ""))
            _collect(problems, "source folder",
                     lambda: folder_source.source_problems(root, source, SOURCE_REMOTE, checksum_all=checksum_source))

        def recorded_commit() -> tuple[str, ...]:
            recorded, head = record.recorded_commit, ops.head_commit(root)
            if recorded == head:
                return ()
            return (f"the data home {self.path} records commit {recorded[:12]} for {dataset_id}, but the subdataset "
                    f"is at {head[:12]}; expected the same commit (save the data home)",)

        _collect(problems, "recorded commit", recorded_commit)
        return VerifyReport(dataset_id, tuple(problems))

    def verify_all(self, dataset_ids: Sequence[str] | None = None, *,
                   checksum_source: bool = True) -> tuple[VerifyReport, ...]:
        """``verify`` of each dataset (every installed one when None); one that cannot be verified at all is
        reported with why, and the others are still verified."""
        reports = []
        for dataset_id in dataset_ids if dataset_ids is not None else self.installed_ids():
            try:
                reports.append(self.verify(dataset_id, checksum_source=checksum_source))
            except Exception as err:  # noqa: BLE001  (whatever one dataset does, the others are verified)
                reports.append(VerifyReport(dataset_id, (f"could not be verified: {type(err).__name__}: {err}",)))
        return tuple(reports)

    # --- internals --------------------------------------------------------------------------------------------------

    def _installed(self, dataset_id: str) -> bool:
        return ops.is_dataset(self.path) and ops.is_dataset(self.dataset_path(dataset_id))

    def _settle(self) -> None:
        """Finish or undo a change a dead writer left (never waits for a live one)."""
        if ops.is_dataset(self.path):
            transactions.recover_if_idle(self.path)

    def _refuse_overlap(self, source: Path) -> None:
        if source.is_relative_to(self.path) or self.path.is_relative_to(source):
            raise InstallError(f"install source {source} overlaps the data home {self.path}; expected a folder or "
                               f"dataset outside it that does not contain it")

    def _reinstall(self, card: DatasetCard, text: str, kind: SourceKind) -> InstallResult:
        target = self.dataset_path(card.id)
        recorded = self._record(card.id).properties.get("propbench-source", "")
        if recorded == text:
            return InstallResult(card.id, target, ops.head_commit(target), text, kind, already_installed=True)
        raise InstallError(f"dataset {card.id} is already installed in {target} from {recorded or 'unknown'}; "
                           f"got another source {text}; to change the source, remove it first "
                           f"(propbench datasets remove {card.id}) or use another data home (--home)")

    def _record(self, dataset_id: str) -> ops.SubdatasetRecord:
        root = self.dataset_path(dataset_id)
        for record in ops.subdatasets(self.path):
            if record.path == root:
                return record
        raise DatasetNotInstalledError(f"{root} is a dataset but not registered in the data home {self.path} "
                                       f"(expected it in {self.path / '.gitmodules'}); it was not made by propbench: "
                                       f"move it away and install {dataset_id} again")

    def _status(self, record: ops.SubdatasetRecord) -> DatasetStatus:
        states = ops.file_states(record.path)
        data = [s for s in states if s.state != "untracked" and s.kind != "dataset" and not _hidden(s.path)]
        return DatasetStatus(_record_id(record), record.path, ops.head_commit(record.path),
                             all(s.state == "clean" for s in states), len(data), sum(s.present for s in data),
                             record.properties.get("propbench-source", ""), _kind(record))

    def _drop_checked(self, dataset_id: str, root: Path, targets: Sequence[Path] | None) -> None:
        """Drop ``targets`` (everything when None) of the dataset, checked as ``drop`` describes."""
        if not ops.has_annex(root):
            return  # every file is in git: nothing to free
        record = self._record(dataset_id)
        if _kind(record) is SourceKind.FOLDER:
            source = Path(record.properties.get("propbench-source", ""))
            folder_source.drop_checked(root, source, SOURCE_REMOTE, targets)
        else:
            ops.drop(root, targets)

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
            # files replaced by identical copies: git-annex fetches them once it has imported the folder again
            folder_source.refresh(root, SOURCE_REMOTE)
            try:
                ops.get(root, paths)
            except DataLadError:
                source = record.properties.get("propbench-source", "?")
                raise DataLadError(f"{err} (the content comes from the source folder {source}; check that it still "
                                   f"holds the files unchanged: propbench datasets verify {dataset_id})") from err


def _refuse_leftover(target: Path) -> None:
    if os.path.lexists(target):
        raise InstallError(f"cannot install {target.name}: {target} exists and is not an installed dataset; expected "
                           f"nothing at that path (move it away)")


def _collect(problems: list[str], check: str, run: Callable[[], Iterable[str]]) -> None:
    """Add the problems ``run()`` returns; a check that fails is itself a problem, and the next check runs."""
    try:
        problems.extend(run())
    except BenchmarkError as err:
        problems.append(f"the {check} check could not run: {err}")


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
