"""Data files that image headers reference: the files that hold a header's voxels, which belong to its case.

- MetaImage ``.mhd``: ``ElementDataFile`` names one file, a ``LIST`` of files (one per line after it), or a pattern
  ``<printf format> <first> <last> [<step>]``; ``LOCAL`` means the voxels follow the header (a ``.mha``).
- NRRD with a detached header ``.nhdr``: the ``data file`` field (or ``datafile``) names one file, a ``LIST`` (one
  per line after it) or a pattern ``<format> <first> <last> <step> [<subdim>]``.
- Analyze 7.5 and NIfTI pairs ``.hdr``: the voxels are in the ``.img`` of the same name (``.img.gz`` beside a
  ``.hdr.gz``).

Referenced names are relative to the header's folder. ``.nrrd`` and ``.mha`` files are read as self-contained (their
voxels follow the header), which is how both formats are written in practice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from benchmark.errors import LayoutError

__all__ = ["HEADER_SUFFIXES", "parse_headers", "referenced_files", "needs_parsing"]

#: File endings of headers whose voxels lie in other files.
HEADER_SUFFIXES = (".mhd", ".nhdr", ".hdr", ".hdr.gz")
#: Headers larger than this are not headers (a text header is a few hundred bytes).
_MAX_HEADER_BYTES = 1 << 20
_PATTERN = re.compile(r"^(?P<format>\S*%\S*)\s+(?P<first>-?\d+)\s+(?P<last>-?\d+)(?:\s+(?P<step>-?\d+))?")


def needs_parsing(path: Path) -> bool:
    """True for a header whose text names its data files (``.mhd``, ``.nhdr``), which must be present to be read."""
    name = path.name.lower()
    return name.endswith(".mhd") or name.endswith(".nhdr")


def referenced_files(path: Path) -> tuple[Path, ...]:
    """The data files of one header (see the module docstring); () for any other file.

    Raises:
        LayoutError: The header cannot be read, or names no data file, or a pattern or list that does not parse; the
            message names the header and the field.
    """
    name = path.name.lower()
    if name.endswith(".hdr.gz"):
        return (path.with_name(path.name[: -len(".hdr.gz")] + ".img.gz"),)
    if name.endswith(".hdr"):
        return (path.with_name(path.name[: -len(".hdr")] + ".img"),)
    if not needs_parsing(path):
        return ()
    try:
        with open(path, "rb") as stream:
            text = stream.read(_MAX_HEADER_BYTES).decode("latin-1")
    except OSError as err:
        raise LayoutError(f"{path}: header could not be read ({err}); expected a text header naming its data file "
                          "(annexed content must be present)") from err
    lines = text.splitlines()
    if name.endswith(".mhd"):
        return _mhd_files(path, lines)
    return _nhdr_files(path, lines)


def _mhd_files(path: Path, lines: list[str]) -> tuple[Path, ...]:
    for index, line in enumerate(lines):
        key, sep, value = line.partition("=")
        if sep and key.strip() == "ElementDataFile":
            return _expand(path, "ElementDataFile", value.strip(), lines[index + 1:], local="LOCAL")
    raise LayoutError(f"{path}: MetaImage header has no ElementDataFile; expected the name of its data file")


def _nhdr_files(path: Path, lines: list[str]) -> tuple[Path, ...]:
    for index, line in enumerate(lines):
        if not line.strip():
            break  # the header ends at the first blank line
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in ("data file", "datafile"):
            return _expand(path, "data file", value.strip().lstrip("="), lines[index + 1:], local="")
    raise LayoutError(f"{path}: detached NRRD header has no 'data file' field; expected the name of its data file")


def _expand(path: Path, field: str, value: str, rest: list[str], *, local: str) -> tuple[Path, ...]:
    folder = path.parent
    if local and value.upper() == local:
        return ()
    if value.upper().startswith("LIST"):
        names = [line.strip() for line in rest if line.strip()]
        if not names:
            raise LayoutError(f"{path}: {field} is {value!r} but no file names follow; expected one per line")
        return tuple(folder / name for name in names)
    match = _PATTERN.match(value)
    if match is not None:
        first, last = int(match["first"]), int(match["last"])
        step = int(match["step"] or 1)
        if step == 0 or (last - first) * step < 0:
            raise LayoutError(f"{path}: {field} pattern {value!r} has an empty or endless range; expected "
                              "'<format> <first> <last> <step>'")
        try:
            return tuple(folder / (match["format"] % number) for number in range(first, last + step, step)
                         if (number - last) * step <= 0)
        except (TypeError, ValueError) as err:
            raise LayoutError(f"{path}: {field} pattern {value!r} does not format ({err})") from err
    if not value:
        raise LayoutError(f"{path}: {field} is empty; expected the name of a data file")
    return (folder / value,)


def parse_headers(paths: Iterable[Path]) -> dict[Path, tuple[Path, ...] | LayoutError]:
    """The data files of each header among ``paths`` (an error in place of the files of a header that fails)."""
    found: dict[Path, tuple[Path, ...] | LayoutError] = {}
    for path in paths:
        try:
            files = referenced_files(path)
        except LayoutError as err:
            found[path] = err
            continue
        if files:
            found[path] = files
    return found
