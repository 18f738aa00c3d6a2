"""Symbolic links in a folder given as an install source, under the data home's one link policy: links inside the
dataset are followed, links leaving it are reported per case, loops are detected.

git-annex imports regular files only and skips every link without a word. ``scan_links`` walks the folder as a
reader would, following links whose target stays inside it, and returns:

- the *aliases*: every file reached through a link (a linked file, or a file below a linked folder), with the path
  of the real file it shows; the install records each alias as an annexed file with the real file's content, so
  the dataset shows what the folder shows;
- the links it did not follow, each with why: its target leaves the folder (or lies in a ``.git`` folder, which is
  never imported), it is broken, or it is part of a loop (a chain of links that never ends, or a folder link to
  a folder that contains it). The install reports them, one line each.

Links of a DataLad or git source are the repository's own business: a clone keeps them as git committed them.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

__all__ = ["LinkVerdict", "SourceLink", "LinkScan", "scan_links"]


class LinkVerdict(str, Enum):
    """What the install did with a link of the source folder."""

    FOLLOWED = "followed"
    OUTSIDE = "outside"
    BROKEN = "broken"
    LOOP = "loop"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class SourceLink:
    """One symbolic link met in a source folder.

    Attributes:
        path: The link, relative to the folder (as reached: it may lie below a followed folder link).
        target: The link's text (``os.readlink``).
        verdict: Followed, or why not.
    """

    path: Path
    target: str
    verdict: LinkVerdict

    def describe(self) -> str:
        """One line for the user: the link, its target and what was done."""
        why = {
            LinkVerdict.FOLLOWED: "followed (inside the dataset)",
            LinkVerdict.OUTSIDE: "left out: its target is outside the dataset folder",
            LinkVerdict.BROKEN: "left out: its target does not exist",
            LinkVerdict.LOOP: "left out: it is part of a loop of links",
        }[self.verdict]
        return f"{self.path.as_posix()} -> {self.target}: {why}"


@dataclass(frozen=True)
class LinkScan:
    """What ``scan_links`` found.

    Attributes:
        links: Every link met, in walk order.
        aliases: (path as reached, path of the real file), both relative to the folder, for each file reached
            through a followed link.
    """

    links: tuple[SourceLink, ...]
    aliases: tuple[tuple[Path, Path], ...]

    @property
    def reported(self) -> tuple[SourceLink, ...]:
        """The links left out (outside, broken, loop)."""
        return tuple(link for link in self.links if link.verdict is not LinkVerdict.FOLLOWED)


def scan_links(folder: Path) -> LinkScan:
    """Walk ``folder`` under the link policy (see the module docstring); ``.git`` folders are skipped, as git-annex
    skips them."""
    root = Path(folder).resolve()
    links: list[SourceLink] = []
    aliases: list[tuple[Path, Path]] = []
    # (path as reached, real folder, real folders on the way: a link back to one of them is a loop, via a link)
    pending: list[tuple[Path, Path, frozenset[Path], bool]] = [(Path(), root, frozenset({root}), False)]
    while pending:
        rel_dir, real_dir, ancestors, via_link = pending.pop()
        try:
            entries = sorted(os.scandir(real_dir), key=lambda e: e.name, reverse=True)
        except OSError:
            continue
        for entry in entries:
            if entry.name == ".git":
                continue
            rel = rel_dir / entry.name
            if entry.is_symlink():
                verdict, real = _follow(Path(entry.path), root, ancestors)
                links.append(SourceLink(rel, os.readlink(entry.path), verdict))
                if verdict is not LinkVerdict.FOLLOWED or real is None:
                    continue
                if real.is_dir():
                    pending.append((rel, real, ancestors | {real}, True))
                else:
                    aliases.append((rel, real.relative_to(root)))
            elif entry.is_dir(follow_symlinks=False):
                real = real_dir / entry.name
                pending.append((rel, real, ancestors | {real}, via_link))
            elif via_link and entry.is_file(follow_symlinks=False):
                aliases.append((rel, (real_dir / entry.name).relative_to(root)))
    return LinkScan(tuple(links), tuple(sorted(aliases)))


def _follow(link: Path, root: Path, ancestors: frozenset[Path]) -> tuple[LinkVerdict, Path | None]:
    """The verdict on one link, and its real target when followed."""
    try:
        real = link.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop of links this way
        return LinkVerdict.LOOP, None
    except OSError as err:
        return (LinkVerdict.LOOP if err.errno == errno.ELOOP else LinkVerdict.BROKEN), None
    if not real.is_relative_to(root) or ".git" in real.relative_to(root).parts:
        return LinkVerdict.OUTSIDE, None
    if real.is_dir() and real in ancestors:
        return LinkVerdict.LOOP, None
    return LinkVerdict.FOLLOWED, real
