"""``propbench datasets install|get|drop|remove|status|verify``: the DataLad data home (benchmark.home.data_home).

The data home is ``--home``, else ``$PROPBENCH_HOME``, else ``~/.local/share/propbench/home``. ``install`` takes the
dataset's ID from the catalog (``--cards``) and a source: an http(s) URL of a file or archive, a folder holding a
downloaded copy (registered without being changed), or a DataLad dataset; it prints one line per symbolic link of a
folder source that it left out. ``get`` and ``drop`` take paths relative to the dataset root (all files when none is
given). ``remove`` takes a dataset out of the data home (to install it from another source). ``verify`` checks every
dataset named (all when none), reports each, and exits with status 1 when it finds a problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from benchmark.data.catalog import load_catalog
from benchmark.home.data_home import DataHome, DatasetStatus
from benchmark.home.source_links import LinkVerdict
from benchmark.home.sources import SourceKind

__all__ = ["register", "run_install", "run_get", "run_drop", "run_remove", "run_status", "run_verify",
           "format_status", "status_as_dict"]

_STATUS_COLUMNS = ("ID", "commit", "state", "present", "source")


def run_install(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Install ``args.dataset_id`` from ``args.source`` (kind ``args.kind`` or detected) into the data home.

    Returns:
        0 on success (also when already installed from the same source), 2 when the cards folder does not exist.

    Raises:
        UnknownDatasetError: No card declares the ID.
        InstallError: The source does not exist or does not fit its kind, or the ID is installed from elsewhere.
        DataLadError: A DataLad step failed.
    """
    stream = sys.stdout if out is None else out
    try:
        catalog = load_catalog(args.cards)
    except FileNotFoundError as err:
        print(f"propbench: error: {err}", file=sys.stderr)
        return 2
    card = catalog.get(args.dataset_id)
    home = _home(args)
    result = home.install(card, args.source, kind=args.kind)
    verb = "already installed" if result.already_installed else "installed"
    stream.write(f"{result.dataset_id}: {verb} at {result.path} (commit {result.commit[:12]}, "
                 f"{result.source_kind} source {result.source})\n")
    followed = sum(link.verdict is LinkVerdict.FOLLOWED for link in result.links)
    if followed:
        stream.write(f"{result.dataset_id}: {followed} link(s) inside the dataset followed\n")
    stream.writelines(f"{result.dataset_id}: link {link.describe()}\n" for link in result.links
                      if link.verdict is not LinkVerdict.FOLLOWED)
    return 0


def run_get(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Fetch the content of ``args.paths`` (every file when none) of an installed dataset."""
    home = _home(args)
    _require(home, args)
    home.get(args.dataset_id, _paths(args.paths))
    (sys.stdout if out is None else out).write(f"{args.dataset_id}: {_what(args.paths)} present\n")
    return 0


def run_drop(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Free the content of ``args.paths`` (every file when none); ``get`` fetches it again."""
    home = _home(args)
    _require(home, args)
    home.drop(args.dataset_id, _paths(args.paths))
    (sys.stdout if out is None else out).write(f"{args.dataset_id}: {_what(args.paths)} dropped\n")
    return 0


def run_remove(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Remove an installed dataset from the data home (its content dropped with ``drop``'s checks first)."""
    home = _home(args)
    _require(home, args)
    source = home.status(args.dataset_id)[0].source
    home.remove(args.dataset_id)
    (sys.stdout if out is None else out).write(f"{args.dataset_id}: removed from {home.path} (source {source} left "
                                               f"as it is)\n")
    return 0


def run_status(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print one line per installed dataset (or the one named), or a JSON list of objects with ``--json``."""
    stream = sys.stdout if out is None else out
    home = _home(args)
    if args.dataset_id is not None:
        _require(home, args)
    statuses = home.status(args.dataset_id)
    if args.json:
        json.dump([status_as_dict(s) for s in statuses], stream, indent=2)
        stream.write("\n")
    elif not statuses:
        stream.write(f"no dataset installed in {home.path}\n")
    else:
        stream.write(format_status(statuses) + "\n")
    return 0


def run_verify(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Check one installed dataset, or every installed one when no ID is given (checksums, clean worktree, source
    folder by checksum unless ``--fast``, recorded commit); each dataset is reported, whatever another one does.

    Returns:
        0 when every check passes, 1 when a problem was found (one line each).
    """
    stream = sys.stdout if out is None else out
    home = _home(args)
    if args.dataset_id is not None:
        _require(home, args)
    ids = None if args.dataset_id is None else [args.dataset_id]
    status = 0
    for report in home.verify_all(ids, checksum_source=not getattr(args, "fast", False)):
        if report.ok:
            stream.write(f"{report.dataset_id}: ok\n")
            continue
        status = 1
        stream.write(f"{report.dataset_id}: {len(report.problems)} problem(s)\n")
        stream.writelines(f"  {problem}\n" for problem in report.problems)
    return status


def status_as_dict(status: DatasetStatus) -> dict[str, Any]:
    """Plain JSON-ready values of one status (paths and enums as strings)."""
    values = asdict(status)
    values["path"] = str(status.path)
    values["source_kind"] = None if status.source_kind is None else str(status.source_kind)
    return values


def format_status(statuses: Sequence[DatasetStatus]) -> str:
    """A fixed-width table: ID, short commit, clean or modified, present/total files, source (with its kind)."""
    cells = [_STATUS_COLUMNS] + [
        (s.dataset_id, s.commit[:12], "clean" if s.clean else "modified", f"{s.n_present}/{s.n_files}",
         f"{s.source} ({s.source_kind or '?'})") for s in statuses]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_STATUS_COLUMNS))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``install``, ``get``, ``drop``, ``remove``, ``status`` and ``verify`` to ``propbench datasets``."""
    install = commands.add_parser(
        "install", help="install a dataset into the data home",
        description="Install a dataset of the catalog as a DataLad subdataset of the data home, from an http(s) URL "
                    "(archives are extracted), a folder holding a downloaded copy (left unchanged), or a DataLad "
                    "dataset.")
    install.add_argument("dataset_id", metavar="ID", help="catalog ID, e.g. D19")
    install.add_argument("--from", dest="source", required=True, metavar="SRC",
                         help="URL, local folder, or DataLad dataset (path or URL)")
    install.add_argument("--kind", choices=[k.value for k in SourceKind], default=None,
                         help="kind of source (default: detected from SRC)")
    install.set_defaults(func=run_install)
    for name, func, verb in (("get", run_get, "fetch"), ("drop", run_drop, "free")):
        parser = commands.add_parser(name, help=f"{verb} the content of files of an installed dataset",
                                     description=f"{verb.capitalize()} the content of files of an installed dataset "
                                                 f"(every file when no PATH is given).")
        parser.add_argument("dataset_id", metavar="ID", help="catalog ID")
        parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="path relative to the dataset root")
        parser.set_defaults(func=func)
    remove = commands.add_parser(
        "remove", help="remove an installed dataset from the data home",
        description="Remove an installed dataset from the data home, for example to install it from another source. "
                    "Its content is dropped first with the checks of 'drop', so nothing whose only copy is in the "
                    "data home is lost; a source folder is left as it is.")
    remove.add_argument("dataset_id", metavar="ID", help="catalog ID")
    remove.set_defaults(func=run_remove)
    status = commands.add_parser("status", help="show installed datasets: commit, state, present files, source")
    status.add_argument("dataset_id", nargs="?", default=None, metavar="ID", help="one dataset (default: all)")
    status.add_argument("--json", action="store_true", help="print a JSON list of objects instead of a table")
    status.set_defaults(func=run_status)
    verify = commands.add_parser(
        "verify", help="check an installed dataset (exit status 1 on a problem)",
        description="Check present content against its checksums (git annex fsck), that the worktree is clean, that "
                    "a source folder still holds every file's content (by checksum), and that the data home records "
                    "the commit. Every dataset is checked and reported, whatever another one does.")
    verify.add_argument("dataset_id", metavar="ID", nargs="?", default=None,
                        help="catalog ID (default: every installed dataset)")
    verify.add_argument("--fast", action="store_true",
                        help="hash only the source-folder files whose size, time or inode changed (a byte changed "
                             "with its time restored then goes unnoticed)")
    verify.set_defaults(func=run_verify)


def _home(args: argparse.Namespace) -> DataHome:
    return DataHome.resolve(args.home)


def _require(home: DataHome, args: argparse.Namespace) -> None:
    """Fail early and clearly: an ID without a card is unknown; a known one not installed gets the install command."""
    if home.is_installed(args.dataset_id):
        return
    try:
        card = load_catalog(args.cards).get(args.dataset_id)
    except FileNotFoundError:
        card = None
    home.require(args.dataset_id, card)


def _paths(paths: Sequence[Path]) -> list[Path] | None:
    return list(paths) if paths else None


def _what(paths: Sequence[Path]) -> str:
    return f"{len(paths)} path(s)" if paths else "all files"
