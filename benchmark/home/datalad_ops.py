"""The one module that calls DataLad and git-annex; everything else in the suite goes through ``DataHome``.

Every DataLad command is called with ``result_renderer="disabled"``, ``return_type="generator"`` and
``on_failure="ignore"``, and each result record's ``status`` is checked here: anything but ``ok`` or ``notneeded``
raises ``DataLadError`` naming the action, the path and DataLad's message. Exceptions raised by DataLad itself
(``CommandError``, ``IncompleteResultsError``, ...) are converted the same way, chained with ``from``. git-annex
commands without a DataLad command (``import``, ``fsck``, ``checkpresentkey``) run here too, through the dataset's
repository object or, for batch input, as a subprocess.

DataLad is imported lazily, so ``import benchmark`` works without it. The PyPI ``git-annex`` wheel installs its
program next to the Python interpreter; when it is not on ``PATH`` (a console script run from a venv that is not
activated), that folder is put in front of ``PATH`` on first use.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
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
    "remove_subdataset",
    "head_commit",
    "set_config",
    "set_submodule_properties",
    "subdatasets",
    "import_folder",
    "download",
    "extract_archive",
    "get",
    "drop",
    "file_states",
    "fsck_present",
    "missing_from_remote",
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
    """Show DataLad's own progress messages only when ``verbose``; warnings and errors always show."""
    import datalad  # noqa: F401  (DataLad sets its logger's level on import; set it after that)

    logging.getLogger("datalad").setLevel(logging.INFO if verbose else logging.WARNING)


def is_dataset(path: Path) -> bool:
    """True if ``path`` is the root of an installed git repository (a DataLad dataset or a plain clone)."""
    return (Path(path) / ".git").exists()


def create(path: Path, *, description: str = "", annex: bool = True) -> None:
    """Create a DataLad dataset at ``path`` (a plain git dataset when ``annex`` is False).

    A dataset created inside a superdataset is registered there by the superdataset's next ``save`` of its path.
    """
    _run("create", path, lambda dl: dl.create(path=str(path), description=description or None, annex=annex,
                                              **_COMMON))


def clone(source: str, path: Path, *, superdataset: Path) -> None:
    """``datalad clone`` of ``source`` into ``path``, registered as a subdataset of ``superdataset``."""
    _run("clone", source, lambda dl: dl.clone(source=source, path=str(path), dataset=str(superdataset), **_COMMON))


def save(dataset: Path, *, message: str, paths: Sequence[Path] | None = None, to_git: bool = False) -> None:
    """``datalad save`` of ``paths`` (everything when None) in ``dataset``."""
    where = [str(p) for p in paths] if paths is not None else None
    _run("save", dataset, lambda dl: dl.save(path=where, dataset=str(dataset), message=message,
                                             to_git=True if to_git else None, **_COMMON))


def remove_subdataset(superdataset: Path, path: Path) -> None:
    """Unregister and delete a subdataset the suite has just created (used to undo a failed install)."""
    _run("remove", path, lambda dl: dl.remove(path=str(path), dataset=str(superdataset), reckless="kill",
                                              message=f"[propbench] undo a failed install of {path.name}", **_COMMON))


def head_commit(dataset: Path) -> str:
    """The HEAD commit (40 hex digits) of ``dataset``."""
    with _converted("commit", dataset):
        sha = _repo(dataset).get_hexsha()
    if not sha:
        raise DataLadError(f"commit: dataset {dataset} has no commit; expected at least DataLad's first commit")
    return str(sha)


def set_config(dataset: Path, key: str, value: str) -> None:
    """Set ``key`` in the dataset's local git config (``.git/config``, not versioned)."""
    with _converted("config", dataset):
        _repo(dataset).config.set(key, value, scope="local", force=True)


def set_submodule_properties(superdataset: Path, subdataset: Path, properties: Mapping[str, str]) -> None:
    """Write ``submodule.<name>.<key>`` entries into the superdataset's ``.gitmodules`` (saved by the caller).

    DataLad reports every ``.gitmodules`` property of a subdataset as ``gitmodule_<key>`` (see ``subdatasets``).
    The submodule name is the subdataset's relative path, as DataLad registers it.
    """
    name = subdataset.relative_to(superdataset).as_posix()
    with _converted("set subdataset property", subdataset):
        repo = _repo(superdataset)
        for key, value in properties.items():
            repo.call_git(["config", "--file", ".gitmodules", f"submodule.{name}.{key}", value])


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
    untrusted (the files may change under it), so ``drop`` checks it first (see ``drop``).
    """
    with _converted("import", folder):
        repo = _repo(dataset)
        branch = repo.get_active_branch()
        repo.call_annex(["initremote", remote, "type=directory", f"directory={folder}", "importtree=yes",
                         "encryption=none"])
        repo.call_annex(["import", branch, "--from", remote, "--no-content"])
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


def drop(dataset: Path, paths: Sequence[Path] | None = None, *, check_remote: str | None = None) -> None:
    """``datalad drop`` of ``paths`` (the whole dataset when None).

    Args:
        dataset: The dataset root.
        paths: Files or folders to drop (nothing when empty); None drops every file and DataLad's cache of extracted
            archives.
        check_remote: An untrusted remote (an imported folder) that must still hold each dropped file unchanged. It is
            checked here with ``git annex checkpresentkey``; then the drop skips git-annex's own copy count, which
            never counts untrusted remotes.

    Raises:
        DataLadError: A file to drop is no longer unchanged in ``check_remote``, or DataLad refused to drop it.
    """
    if paths is not None and not paths:  # an empty selection must not mean the whole dataset
        return
    where = [str(p) for p in paths] if paths is not None else None
    reckless = None
    if check_remote is not None:
        missing = missing_from_remote(dataset, check_remote, paths, present_only=True)
        if missing:
            shown = ", ".join(str(p) for p in missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise DataLadError(f"drop: refusing to drop {len(missing)} file(s) of {dataset} ({shown}): the source "
                               f"folder (remote {check_remote!r}) no longer holds them unchanged, so they could not "
                               f"be fetched again; expected the source folder as it was when installed")
        reckless = "availability"
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
    """``git annex fsck`` of the content present in ``dataset`` (checksums); one message per failed file."""
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


def missing_from_remote(dataset: Path, remote: str, paths: Sequence[Path] | None = None, *,
                        present_only: bool = False) -> tuple[Path, ...]:
    """Annexed files (relative paths) whose content ``remote`` does not hold, as checked live by git-annex.

    Args:
        dataset: The dataset root.
        remote: The git-annex remote to ask (``git annex checkpresentkey --batch``).
        paths: Limit to these files or folders (everything when None).
        present_only: Only consider files whose content is present locally.
    """
    if paths is not None and not paths:
        return ()
    selector = [] if present_only else ["--include=*"]
    files = [str(p) for p in paths] if paths is not None else None
    with _converted("find", dataset):
        records = _repo(dataset).call_annex_records(["find", *selector], files=files)
    keyed = [(Path(r["file"]), str(r["key"])) for r in records if r.get("key") and r.get("file")]
    if not keyed:
        return ()
    ensure_annex_available()
    try:
        done = subprocess.run(["git", "annex", "checkpresentkey", "--batch", remote], cwd=dataset, check=True,
                              input="".join(f"{key}\n" for _, key in keyed), capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise DataLadError(f"checkpresentkey: git annex checkpresentkey --batch {remote} failed in {dataset}: "
                           f"{getattr(err, 'stderr', '') or err}") from err
    answers = done.stdout.split()
    return tuple(path for (path, _), answer in zip(keyed, answers, strict=False) if answer != "1")


# --- helpers --------------------------------------------------------------------------------------------------------

def _api() -> Any:
    ensure_annex_available()
    import datalad.api as dl

    return dl


def _repo(dataset: Path) -> Any:
    from datalad.distribution.dataset import Dataset

    ensure_annex_available()
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
