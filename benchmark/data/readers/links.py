"""The link policy shared by every reader: links inside a dataset are followed, links leaving it are reported, loops
are detected.

A dataset's bounds are its root folder and, when the root's ``.git`` is a file pointing elsewhere (a DataLad
subdataset whose repository lies in the superdataset's ``.git/modules``), that git directory, which holds the
dataset's annexed content. A path is inside when its real path (every link resolved) lies within the bounds.

- Discovery: every file of a case (image, label and data files) is checked; a file whose real path leaves the bounds
  makes its case a bad case naming the link and its target (``LayoutReader.finish``). Paths read from cards,
  dataset.json files and manifests are checked by ``inside_root``.
- Opening: folder walks (DICOM series, PNG slice masks) follow links to folders inside the bounds once each; a link
  whose target leaves the bounds fails the case with its name and target, and a folder reached again (a link back to
  an ancestor, or a second link to one folder) is not walked again, so no file is read twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DatasetBounds", "Walk"]


@dataclass(frozen=True)
class Walk:
    """What one walk of a folder found.

    Attributes:
        files: Visible files (hidden names skipped), each once, in walk order (folders and names sorted).
        outside: (link, real target) of every link whose target leaves the dataset.
        loops: Links to folders already walked (cycles, or a second way into one folder); not walked again.
    """

    files: tuple[Path, ...]
    outside: tuple[tuple[Path, Path], ...]
    loops: tuple[Path, ...]


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name.startswith("__MACOSX")


@dataclass(frozen=True)
class DatasetBounds:
    """The folders a dataset's files may resolve into (see the module docstring).

    Attributes:
        root: The dataset root as given.
        real_roots: Real paths of the root and of its git directory when that lies outside the root.
    """

    root: Path
    real_roots: tuple[str, ...]
    _folders: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, root: Path) -> DatasetBounds:
        """The bounds of the dataset at ``root``."""
        root = Path(root)
        real = [os.path.realpath(root)]
        dot_git = root / ".git"
        if dot_git.is_file():
            try:
                line = dot_git.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                line = ""
            if line.startswith("gitdir:"):
                real.append(os.path.realpath(root / line.partition(":")[2].strip()))
        return cls(root, tuple(dict.fromkeys(real)))

    def real_outside(self, path: Path) -> Path | None:
        """The real path of ``path`` when it leaves the bounds, else None (also for paths that do not exist)."""
        text = os.fspath(path)
        if os.path.islink(text):
            real = os.path.realpath(text)
        else:  # only the folders on the way can be links: their real path is looked up once per folder
            head, tail = os.path.split(text)
            folder = self._folders.get(head)
            if folder is None:
                folder = self._folders.setdefault(head, os.path.realpath(head))
            real = os.path.join(folder, tail) if head else os.path.realpath(text)
        for allowed in self.real_roots:
            if real == allowed or real.startswith(allowed.rstrip(os.sep) + os.sep):
                return None
        return Path(real)

    def describe(self, link: Path, target: Path) -> str:
        """The message for a link leaving the dataset."""
        return (f"{link} is a link to {target}, outside the dataset root {self.root}; expected links to stay inside "
                "the dataset (links inside it are followed, links leaving it are refused)")

    def walk(self, folder: Path) -> Walk:
        """Every visible file below ``folder``, following links inside the bounds once (see the module docstring)."""
        files: list[Path] = []
        outside: list[tuple[Path, Path]] = []
        loops: list[Path] = []
        seen_dirs: set[tuple[int, int]] = set()
        seen_files: set[tuple[int, int]] = set()

        def visit(current: Path) -> None:
            try:
                status = current.stat()
            except OSError:
                return
            key = (status.st_dev, status.st_ino)
            if key in seen_dirs:
                loops.append(current)
                return
            seen_dirs.add(key)
            try:
                entries = sorted(os.scandir(current), key=lambda e: e.name)
            except OSError:
                return
            for entry in entries:
                if _is_hidden(entry.name):
                    continue
                path = Path(entry.path)
                if entry.is_symlink():
                    target = self.real_outside(path)
                    if target is not None:
                        outside.append((path, target))
                        continue
                if entry.is_dir(follow_symlinks=True):
                    visit(path)
                    continue
                try:
                    file_status = os.stat(path) if os.path.exists(path) else os.lstat(path)
                except OSError:
                    files.append(path)
                    continue
                file_key = (file_status.st_dev, file_status.st_ino)
                if file_key in seen_files:  # a second link to one file: read once
                    continue
                seen_files.add(file_key)
                files.append(path)

        visit(Path(folder))
        return Walk(tuple(files), tuple(outside), tuple(loops))
