"""The steps of an install that happen before the data home changes: making the superdataset, filling a staged
dataset from its source, checking that the source has the card's layout, and the git identity of the data home's
own commits.

Identity: DataLad commits on ``create``, so without a git identity (``user.name``/``user.email``) a newcomer's
first ``propbench datasets demo`` would fail. When git has none, the data home and each dataset it creates get a
repository-local identity (``git_ops.FALLBACK_IDENTITY`` in their ``.git/config``), said once per process in a log
line; a user's own identity, when configured, is always used instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from benchmark.data.cards import DatasetCard
from benchmark.data.dataset import open_reader
from benchmark.errors import CardError, InstallError, LayoutError
from benchmark.home import datalad_ops as ops
from benchmark.home import folder_source, git_ops, transactions
from benchmark.home.source_links import LinkScan
from benchmark.home.sources import ARCHIVE_SUFFIXES, SourceKind, local_addresses

__all__ = ["SOURCE_REMOTE", "ARCHIVE_DIR", "commit_identity", "create_home", "clear_unborn", "fill", "check_layout",
           "install_staged"]

_LOG = logging.getLogger(__name__)
#: Name of the git-annex special remote of a ``folder`` source.
SOURCE_REMOTE = "propbench-source"
#: Where downloaded archives are kept inside a subdataset (hidden, so readers skip it).
ARCHIVE_DIR = Path(".propbench/archives")
_SAID: set[str] = set()
#: Files a DataLad create leaves in a data home before its first commit.
_CREATE_LEFTOVERS = frozenset({".git", ".datalad", ".noannex", ".gitmodules", ".gitattributes", "README.md"})
_README = """# PropSAM Bench data home

A DataLad superdataset. Each subdataset (`<dataset id>/`) holds one dataset in its native layout and is treated as
read-only; its commit is the data version recorded with every result. Manage it with
`propbench datasets install|get|drop|remove|status|verify`; `.gitmodules` records where each dataset came from.
"""


def commit_identity(home: Path) -> git_ops.GitIdentity | None:
    """The identity for the commits of repositories made now: None when git has one, else the fallback, which is
    also written into the data home's ``.git/config`` if it is not there yet (and said once)."""
    if git_ops.has_identity(None):
        return None
    identity = git_ops.FALLBACK_IDENTITY
    if ops.is_dataset(home) and not git_ops.has_identity(home):
        git_ops.set_local_identity(home, identity)
        _say_identity(home, identity)
    return identity


def create_home(home: Path) -> None:
    """Create the superdataset at ``home`` (absent or an empty folder) atomically: it is made beside it and renamed
    into place complete, so that a failure or a kill never leaves a half-made data home."""
    parent = home.parent
    parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_partials(parent, home.name)
    partial = parent / f".{home.name}.creating-{os.getpid()}"
    if os.path.lexists(partial):
        transactions.remove_tree(partial)
    identity = None if git_ops.has_identity(None) else git_ops.FALLBACK_IDENTITY
    try:
        with git_ops.identity_env(identity):  # DataLad's first commit comes before any .git/config
            ops.create(partial, annex=False)  # git only: subdataset links and a README, never large files
        if identity is not None:
            git_ops.set_local_identity(partial, identity)
            _say_identity(home, identity)
        (partial / "README.md").write_text(_README, encoding="utf-8")
        ops.save(partial, paths=[partial / "README.md"], message="[propbench] describe the data home")
        transactions.pause_point("create-home")
        try:
            os.rename(partial, home)
        except OSError as err:
            if not (ops.is_dataset(home) and git_ops.head(home)):  # another process made it meanwhile: fine
                raise InstallError(f"cannot create the data home {home}: {err}; expected an absent or empty "
                                   f"folder") from err
    finally:
        if os.path.lexists(partial):
            transactions.remove_tree(partial)


def clear_unborn(home: Path) -> None:
    """Empty a data home left without a commit by an interrupted create, so that it is made again (datasets of
    failed installs in it, themselves without a commit, go too).

    Raises:
        InstallError: It holds anything else (nothing of it is deleted then).
    """
    entries = sorted(p.name for p in home.iterdir())
    others = [name for name in entries if name not in _CREATE_LEFTOVERS
              and not (ops.is_dataset(home / name) and git_ops.head(home / name) is None)]
    if others:
        raise InstallError(f"data home {home} was left half-made by an interrupted create (it has no commit) and "
                           f"holds {others}; expected only DataLad's own files; move those away")
    _LOG.warning("data home %s was left half-made by an interrupted create (no commit); making it again", home)
    for name in entries:
        transactions.remove_tree(home / name)


def install_staged(home: Path, card: DatasetCard, source: str, kind: SourceKind, scan: LinkScan | None,
                   identity: git_ops.GitIdentity | None) -> None:
    """Make ``<home>/<card.id>`` from ``source``: fill and check it in the staging folder, move it into place, and
    register it with one commit (call under the writer lock). Any failure undoes every step."""
    staging = transactions.staging_dir(home, card.id)
    target = home / card.id
    journal = None
    try:
        fill(staging, source, kind, card, scan, identity)
        if kind is not SourceKind.FOLDER:  # a folder source was checked before anything was made
            check_layout(card, staging, source=source, fetch=lambda paths: ops.get(staging, paths))
        transactions.pause_point("install:staged")
        journal = transactions.Journal(action=transactions.Action.INSTALL, dataset_id=card.id,
                                       head=git_ops.head(home) or "")
        transactions.write_journal(home, journal)
        os.rename(staging, target)
        transactions.pause_point("install:moved")
        properties = {"path": card.id, "url": source if kind is SourceKind.DATALAD else f"./{card.id}"}
        dataset_uuid = ops.dataset_uuid(target)
        if dataset_uuid:
            properties["datalad-id"] = dataset_uuid
        properties.update({"propbench-id": card.id, "propbench-source": source, "propbench-source-kind": kind.value})
        git_ops.register_subdataset(home, card.id, properties,
                                    message=f"[propbench] install {card.id} from {source} ({kind.value})")
        transactions.pause_point("install:committed")
    except BaseException:
        if journal is not None:
            transactions.roll_back(home, journal)
        if os.path.lexists(staging):
            transactions.remove_tree(staging)
        transactions.clear_journal(home)
        raise
    transactions.clear_journal(home)


def fill(staging: Path, source: str, kind: SourceKind, card: DatasetCard, scan: LinkScan | None,
         identity: git_ops.GitIdentity | None) -> None:
    """Make the dataset of ``card`` at ``staging`` from ``source`` (clone, folder import or download)."""
    description = f"{card.id}: {card.name}"
    with git_ops.identity_env(identity):  # git-annex commits while a clone or a new dataset is initialised
        if kind is SourceKind.DATALAD:
            ops.clone(source, staging, description=description)
        else:
            ops.create(staging, description=description)
    if identity is not None:  # git-annex commits on every later get and drop too
        git_ops.set_local_identity(staging, identity)
    if kind is SourceKind.DATALAD:
        return
    if kind is SourceKind.FOLDER:
        ops.import_folder(staging, Path(source), remote=SOURCE_REMOTE)
        if scan is not None and scan.aliases:
            for alias in folder_source.add_aliases(staging, scan):
                _LOG.warning("%s: reached through a link, but its target was not imported; left out", alias)
            ops.save(staging, message="[propbench] record the files reached through links inside the dataset")
        return
    host = urlsplit(source).hostname or ""
    allowed = local_addresses(host)
    if allowed:
        # git-annex refuses loopback and private addresses unless allowed; the user named this host explicitly
        ops.set_config(staging, "annex.security.allowed-ip-addresses", allowed)
    name = PurePosixPath(urlsplit(source).path).name
    archive = ops.download(staging, source, Path(name))
    if name.lower().endswith(ARCHIVE_SUFFIXES):
        ops.extract_archive(staging, archive, keep_as=ARCHIVE_DIR / name)


def check_layout(card: DatasetCard, root: Path, *, source: str,
                 fetch: Callable[[Sequence[Path]], None] | None = None) -> None:
    """Refuse a source in which the card's reader discovers no case (a wrong root, such as one case's folder).

    Raises:
        InstallError: The reader found no case (the message gives the discovery's errors), or the source does not fit
            the card (a missing folder, labels that disagree).
    """
    try:
        discovery = open_reader(card, root, fetch=fetch).discover()
    except CardError as err:
        raise InstallError(f"install source {source} does not fit the card of {card.id} (layout "
                           f"{card.layout.family}, {card.path}): {err}") from err
    except LayoutError as err:
        errors = str(err)
    else:
        if discovery.entries:
            return
        errors = "; ".join(str(e) for e in discovery.errors[:5]) or "no file matched the layout"
        if len(discovery.errors) > 5:
            errors += f"; ... ({len(discovery.errors)} errors)"
    raise InstallError(f"install source {source} holds no case of {card.id} in layout {card.layout.family}: "
                       f"{errors}; expected the dataset's root folder, laid out as its card {card.path} describes "
                       f"(not a folder inside it, such as one case's folder)")


def _say_identity(home: Path, identity: git_ops.GitIdentity) -> None:
    if "identity" in _SAID:
        return
    _SAID.add("identity")
    _LOG.warning("git has no user identity (user.name, user.email); the data home's own commits use the "
                 "repository-local identity '%s' (in %s and each dataset it creates); set yours with "
                 "`git config --global user.name ...` and `git config --global user.email ...`",
                 identity, home / ".git" / "config")


def _remove_dead_partials(parent: Path, name: str) -> None:
    """Delete half-made data homes of processes that no longer run (a kill during ``create_home``)."""
    for partial in parent.glob(f".{name}.creating-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not transactions.process_alive(int(pid)):
            transactions.remove_tree(partial)

