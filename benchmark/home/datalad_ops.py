"""The one module that calls DataLad; everything else in the suite goes through ``DataHome``.

Every DataLad command is called with ``result_renderer="disabled"``, ``return_type="generator"`` and
``on_failure="ignore"``, and each result record's ``status`` is checked here: anything but ``ok`` or ``notneeded``
raises ``DataLadError`` naming the action, the path and DataLad's message. Exceptions raised by DataLad itself
(``CommandError``, ``IncompleteResultsError``, ...) are converted the same way, chained with ``from``. git-annex
commands without a DataLad command (``import``, ``fsck``) run here through the dataset's repository object; plain
git and git-annex plumbing run as subprocesses in ``git_ops``.

DataLad is imported lazily, so ``import benchmark`` works without it. The PyPI ``git-annex`` wheel installs its
program next to the Python interpreter; when it is not on ``PATH`` (a console script run from a venv that is not
activated), that folder is put in front of ``PATH`` on first use.

Logging: DataLad sets its logger's level when it is imported, and logs one INFO line per file it gets. The level
chosen with ``configure_logging`` (WARNING unless ``--verbose``) is applied on that import and again whenever it
changes, so the order of the two never matters. DataLad's warning about a missing git identity is dropped: the data
home gives its own commits a repository-local identity instead, and says so (see ``DataHome``).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.errors import BenchmarkError, DataLadError

__all__ = [
    "SubdatasetRecord",
    "FileState",
    "ensure_annex_available",
    "configure_logging",
    "is_dataset",
    "create",
    "clone",
    "save",
    "head_commit",
    "has_annex",
    "dataset_uuid",
    "set_config",
    "subdatasets",
    "import_folder",
    "download",
    "extract_archive",
    "get",
    "drop",
    "file_states",
    "fsck_present",
]

_LOG = logging.getLogger(__name__)
_OK = ("ok", "notneeded")
_COMMON: dict[str, Any] = {
    "result_renderer": "disabled", "return_type": "generator", "on_failure": "ignore", "result_xfm": None,
    "result_filter": None,
}
#: Members of macOS-made archives that are not data.
_ARCHIVE_EXCLUDE = [r"(^|/)__MACOSX/", r"(^|/)\._", r"(^|/)\.DS_Store$"]
#: The signature of a failed extraction by DataLad's archive special remote (see ``_archive_hint``).
_ARCHIVE_FAILURE = "Failed to fetch any archive containing"
#: DataLad's own identity warning, replaced by the data home's (see the module docstring).
_IDENTITY_WARNING = "It is highly recommended to configure Git before using DataLad"
_LEVEL = {"datalad": logging.WARNING}


@dataclass(frozen=True)
class SubdatasetRecord:
    """A subdataset registered in a superdataset.

    Attributes:
        path: Absolute path of the subdataset.
        installed: True when its repository is present (not only registered).
        recorded_commit: The commit the superdataset records for it.
        properties: Its ``.gitmodules`` properties (``url``, ``datalad-id``, and any set by the suite).
    """

    path: Path
    installed: bool
    recorded_commit: str
    properties: Mapping[str, str]


@dataclass(frozen=True)
class FileState:
    """One entry of a dataset's worktree (a file, or a subdataset).

    Attributes:
        path: Path relative to the dataset root.
        state: ``clean``, ``modified``, ``added``, ``deleted`` or ``untracked`` (DataLad's ``status`` states).
        annexed: The file is annexed (otherwise in git, or untracked).
        present: Its content is in the worktree (always true for files in git).
        kind: DataLad's type of the entry: ``file``, ``symlink``, ``directory`` or ``dataset``.
    """

    path: Path
    state: str
    annexed: bool
    present: bool
    kind: str = "file"


def ensure_annex_available() -> None:
    """Make sure ``git-annex`` can be run, putting the interpreter's ``bin`` folder on ``PATH`` if it holds it.

    Raises:
        DataLadError: git-annex is neither on ``PATH`` nor next to the interpreter.
    """
    if shutil.which("git-annex"):
        return
    bindir = Path(sys.executable).parent
    if (bindir / "git-annex").is_file():
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
        _LOG.debug("put %s on PATH so that git-annex is found", bindir)
        return
    raise DataLadError(f"git-annex was not found on PATH ({os.environ.get('PATH', '')}) nor in {bindir}; "
                       f"expected the program of the 'git-annex' package (pip install git-annex)")


def configure_logging(verbose: bool) -> None:
    """Show DataLad's own progress messages only when ``verbose``; warnings and errors always show.

    Takes effect now if DataLad is imported, else when it is (DataLad resets its level on import).
    """
    _LEVEL["datalad"] = logging.INFO if verbose else logging.WARNING
    if "datalad" in sys.modules:
        logging.getLogger("datalad").setLevel(_LEVEL["datalad"])


def is_dataset(path: Path) -> bool:
    """True if ``path`` is the root of an installed git repository (a DataLad dataset or a plain clone)."""
    return (Path(path) / ".git").exists()


def create(path: Path, *, description: str = "", annex: bool = True) -> None:
    """Create a DataLad dataset at ``path`` (a plain git dataset when ``annex`` is False).

    A dataset created inside a superdataset is registered there by the superdataset's next ``save`` of its path.
    """
    _run("create", path, lambda dl: dl.create(path=str(path), description=description or None, annex=annex,
                                              **_COMMON))


def clone(source: str, path: Path, *, description: str = "") -> None:
    """``datalad clone`` of ``source`` into ``path`` (a dataset of its own; the data home registers it later)."""
    _run("clone", source, lambda dl: dl.clone(source=source, path=str(path), description=description or None,
                                              **_COMMON))


def save(dataset: Path, *, message: str, paths: Sequence[Path] | None = None, to_git: bool = False) -> None:
    """``datalad save`` of ``paths`` (everything when None) in ``dataset``."""
    where = [str(p) for p in paths] if paths is not None else None
    _run("save", dataset, lambda dl: dl.save(path=where, dataset=str(dataset), message=message,
                                             to_git=True if to_git else None, **_COMMON))


def head_commit(dataset: Path) -> str:
    """The HEAD commit (40 hex digits) of ``dataset``."""
    with _converted("commit", dataset):
        sha = _repo(dataset).get_hexsha()
    if not sha:
        raise DataLadError(f"commit: dataset {dataset} has no commit; expected at least DataLad's first commit")
    return str(sha)


def dataset_uuid(dataset: Path) -> str | None:
    """The DataLad dataset ID of ``dataset`` (None for a git repository that is not a DataLad dataset)."""
    with _converted("dataset id", dataset):
        _import_datalad()
        from datalad.distribution.dataset import Dataset

        found = Dataset(str(dataset)).id
    return str(found) if found else None


def has_annex(dataset: Path) -> bool:
    """True when ``dataset`` uses git-annex (False for a plain git dataset)."""
    from datalad.support.annexrepo import AnnexRepo

    with _converted("annex check", dataset):
        return isinstance(_repo(dataset), AnnexRepo)


def set_config(dataset: Path, key: str, value: str) -> None:
    """Set ``key`` in the dataset's local git config (``.git/config``, not versioned)."""
    with _converted("config", dataset):
        _repo(dataset).config.set(key, value, scope="local", force=True)


def subdatasets(superdataset: Path) -> tuple[SubdatasetRecord, ...]:
    """Every subdataset registered in ``superdataset``, installed or not."""
    records = _run("subdatasets", superdataset, lambda dl: dl.subdatasets(dataset=str(superdataset), **_COMMON))
    found = []
    for record in records:
        if record.get("type") != "dataset":
            continue
        props = {k[len("gitmodule_"):]: str(v) for k, v in record.items() if k.startswith("gitmodule_")}
        found.append(SubdatasetRecord(Path(record["path"]), record.get("state") != "absent",
                                      str(record.get("gitshasum", "")), props))
    return tuple(found)


def import_folder(dataset: Path, folder: Path, *, remote: str) -> None:
    """Register the files of ``folder`` in ``dataset`` without copying or changing them.

    ``folder`` becomes a git-annex directory special remote with ``importtree=yes``; ``git annex import --no-content``
    hashes each file (MD5E keys) and records the tree without storing content, and the import is merged into the
    dataset's branch. ``get`` then copies content from ``folder`` on demand. git-annex treats such a remote as
    untrusted (the files may change under it), so the data home checks the folder by checksum before a ``drop``
    (``benchmark.home.folder_source``). Every file is imported, git-ignored ones included; git-annex skips links
    and ``.git`` folders (``benchmark.home.source_links`` handles links).
    """
    with _converted("import", folder):
        repo = _repo(dataset)
        branch = repo.get_active_branch()
        repo.call_annex(["initremote", remote, "type=directory", f"directory={folder}", "importtree=yes",
                         "encryption=none"])
        repo.call_annex(["import", branch, "--from", remote, "--no-content", "--no-check-gitignore"])
        repo.call_git(["merge", "--allow-unrelated-histories", "--no-edit", "-m",
                       f"[propbench] register the files of {folder}", f"{remote}/{branch}"])


def download(dataset: Path, url: str, relpath: Path) -> Path:
    """``datalad download-url`` of ``url`` to ``relpath`` in ``dataset``; the URL is recorded for later ``get``."""
    target = Path(dataset) / relpath
    _run("download-url", url, lambda dl: dl.download_url(urls=url, dataset=str(dataset), path=str(target),
                                                         message=f"[propbench] download {url}", **_COMMON))
    return target


def extract_archive(dataset: Path, archive: Path, *, keep_as: Path) -> None:
    """Extract an annexed archive into the dataset root, then move it to ``keep_as`` (kept as provenance).

    ``datalad add-archive-content`` registers every member with DataLad's archive special remote, so a dropped member
    is fetched again from the archive (itself fetched from its URL). When the archive holds a single top folder, that
    one level is stripped, so that the dataset root is the archive's top folder. The archive's own content is dropped
    after extraction (its URL stays recorded), which keeps one copy of the data on disk.
    """
    _run("add-archive-content", archive,
         lambda dl: dl.add_archive_content(str(archive), dataset=str(dataset), strip_leading_dirs=True,
                                           leading_dirs_depth=1, exclude=_ARCHIVE_EXCLUDE, commit=False, **_COMMON))
    destination = Path(dataset) / keep_as
    destination.parent.mkdir(parents=True, exist_ok=True)
    with _converted("move archive", archive):
        # git mv keeps the annex key; the save below lets git-annex fix the symlink's relative target
        _repo(dataset).call_git(["mv", str(archive), str(destination)])
    save(dataset, message=f"[propbench] extract {archive.name}, kept as provenance in {keep_as.parent}")
    _run("drop", destination, lambda dl: dl.drop(path=str(destination), dataset=str(dataset), **_COMMON))


def get(dataset: Path, paths: Sequence[Path] | None = None) -> None:
    """``datalad get`` of ``paths`` (the whole dataset when None, nothing when empty); present content is
    ``notneeded``."""
    if paths is not None and not paths:
        return
    where = [str(p) for p in paths] if paths is not None else None
    try:
        _run("get", paths[0] if paths else dataset,
             lambda dl: dl.get(path=where, dataset=str(dataset), **_COMMON))
    except DataLadError as err:
        hint = _archive_hint(str(err))
        if not hint:
            raise
        raise DataLadError(f"{err}{hint}") from err


def drop(dataset: Path, paths: Sequence[Path] | None = None, *, verified_elsewhere: bool = False) -> None:
    """``datalad drop`` of ``paths`` (the whole dataset when None), with git-annex's own check that enough other
    copies exist.

    Args:
        dataset: The dataset root.
        paths: Files or folders to drop (nothing when empty); None drops every file and DataLad's cache of extracted
            archives.
        verified_elsewhere: The caller has checked, by checksum, that another copy of each file in ``paths`` can be
            fetched again (an imported folder, which git-annex never counts because it may change under it). Only
            then is git-annex's copy count skipped, and only for the files named in ``paths``.

    Raises:
        DataLadError: DataLad refused to drop a file (git-annex found no other copy it trusts), or
            ``verified_elsewhere`` was given without an explicit list of files.
    """
    if paths is not None and not paths:  # an empty selection must not mean the whole dataset
        return
    if verified_elsewhere and paths is None:
        raise DataLadError(f"drop: argument verified_elsewhere needs the verified files of {dataset}; got paths=None "
                           f"(the whole dataset); expected an explicit list")
    where = [str(p) for p in paths] if paths is not None else None
    reckless = "availability" if verified_elsewhere else None
    _run("drop", paths[0] if paths else dataset,
         lambda dl: dl.drop(path=where, dataset=str(dataset), reckless=reckless, **_COMMON))
    if paths is None:
        _run("clean", dataset, lambda dl: dl.clean(dataset=str(dataset), what=["cached-archives"], **_COMMON))


def file_states(dataset: Path) -> tuple[FileState, ...]:
    """Every entry of the worktree with its state and content availability (``datalad status --annex availability``);
    a subdataset is one entry, ``modified`` when its commit differs from the one recorded."""
    root = Path(dataset)
    records = _run("status", dataset, lambda dl: dl.status(dataset=str(root), annex="availability", **_COMMON))
    states = []
    for record in records:
        if "path" not in record:
            continue
        annexed = bool(record.get("key"))
        present = bool(record.get("has_content")) if annexed else record.get("state") != "deleted"
        states.append(FileState(Path(record["path"]).relative_to(root), str(record.get("state", "")), annexed,
                                present, str(record.get("type", "file"))))
    return tuple(states)


def fsck_present(dataset: Path) -> tuple[str, ...]:
    """``git annex fsck`` of the content present in ``dataset`` (checksums); one message per failed file. Only for a
    dataset with git-annex (``has_annex``; without it every file is in git: see ``git_ops.fsck_git``)."""
    with _converted("fsck", dataset):
        records = _repo(dataset).fsck(annex_options=["--in=here"])
    problems = []
    for record in records:
        if record.get("success", True):
            continue
        detail = "; ".join(str(m) for m in record.get("error-messages", [])) or str(record.get("note", "")).strip()
        problems.append(f"{record.get('file', record.get('key', '?'))}: git annex fsck failed "
                        f"({detail or 'content does not match its checksum'})")
    return tuple(problems)


# --- helpers --------------------------------------------------------------------------------------------------------

def _import_datalad() -> None:
    """Import DataLad with the suite's logging: its identity warning dropped, its level as configured."""
    if "datalad" not in sys.modules:
        logging.getLogger("datalad.config").addFilter(_drop_identity_warning)
    import datalad  # noqa: F401

    logging.getLogger("datalad").setLevel(_LEVEL["datalad"])


def _drop_identity_warning(record: logging.LogRecord) -> bool:
    return _IDENTITY_WARNING not in str(record.msg)


def _api() -> Any:
    ensure_annex_available()
    _import_datalad()
    import datalad.api as dl

    return dl


def _repo(dataset: Path) -> Any:
    ensure_annex_available()
    _import_datalad()
    from datalad.distribution.dataset import Dataset

    repo = Dataset(str(dataset)).repo
    if repo is None:
        raise DataLadError(f"dataset {dataset} is not installed; expected a DataLad dataset at that path")
    return repo


def _run(action: str, where: object, call: Callable[[Any], Iterable[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run a DataLad command and check every result record; returns the records."""
    records: list[dict[str, Any]] = []
    with _converted(action, where):
        for record in call(_api()):
            if record.get("status") not in _OK:
                raise DataLadError(_record_message(action, record))
            records.append(record)
    return records


@contextmanager
def _converted(action: str, where: object) -> Iterator[None]:
    """Turn exceptions raised by DataLad or git-annex into DataLadError naming the action and the path."""
    try:
        yield
    except BenchmarkError:
        raise
    except Exception as err:  # DataLad raises many unrelated types (CommandError, DownloadError, ValueError, ...)
        detail = getattr(err, "stderr", "") or str(err)
        raise DataLadError(f"{action} failed for {where}: {type(err).__name__}: {str(detail).strip()}") from err


def _record_message(action: str, record: Mapping[str, Any]) -> str:
    message = record.get("message") or ""
    if isinstance(message, (tuple, list)) and message:
        try:
            message = str(message[0]) % tuple(message[1:])
        except (TypeError, ValueError):
            message = " ".join(str(m) for m in message)
    extra = record.get("error_message") or ""
    if isinstance(extra, (tuple, list)):
        extra = "; ".join(str(m) for m in extra)
    parts = [str(m).strip() for m in (message, extra) if m]
    if len(parts) == 2 and (parts[1] in parts[0] or parts[0] in parts[1]):  # DataLad often repeats itself
        parts = [max(parts, key=len)]
    detail = "; ".join(parts) or "no message"
    return (f"datalad {record.get('action', action)} returned status {record.get('status')!r} for "
            f"{record.get('path', '?')}: {detail}")


def _archive_hint(message: str) -> str:
    """Why DataLad's archive special remote may fail here, and the fix (measured with the PyPI git-annex wheel).

    The wheel's ``git-annex`` launcher sets ``MAGIC`` to its own ``magic.mgc``, which older ``file(1)`` programs
    (5.44 in Debian 12) cannot read. The archive special remote runs under git-annex and, without ``7z``, extracts
    through patool, which calls ``file`` and fails. DataLad prefers ``7z`` when it is installed.
    """
    if _ARCHIVE_FAILURE not in message or shutil.which("7z"):
        return ""
    return ("; extracting a member of an archive needs the 7z program when git-annex comes from its PyPI wheel "
            "(install p7zip-full, e.g. apt-get install p7zip-full)")
