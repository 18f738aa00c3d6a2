"""The reader-study manifest: a CSV a reader opens in a spreadsheet and fills in with interaction times.

One row per sampled volume, in the sample's (seeded) order. Columns:

============================  ==================================================================================
``volume``                    1-based row number, the order in which the reader works through the volumes
``dataset``, ``case``         the volume: catalog ID and case identifier
``object``                    the object the reader prompts in it (no other row has it)
``guide_slice``               axial slice index of the prompts (canonical grid, z axis)
``box2d_x0`` .. ``box2d_y1``  the simulated 2D box on the guide slice: half-open voxel indices x0, y0, x1, y1
``box3d_x0`` .. ``box3d_z1``  the simulated 3D box: half-open voxel indices x0, y0, z0, x1, y1, z1
``data_version``              the dataset's DataLad commit the case was read from
``seconds_<model>``           empty; the reader's interaction time with that model, in seconds
============================  ==================================================================================

The file is written with ``\\n`` line ends and no timestamp, so one sample gives a byte-identical file.
:func:`read_times` reads a filled-in file back: any column starting with ``seconds_`` is a model; an empty cell is
"not timed".
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import BenchmarkError
from benchmark.reader_study.sampling import ReaderSample

__all__ = ["PAPER_MODELS", "SECONDS_PREFIX", "VOLUME_COLUMNS", "check_models", "manifest_text", "write_manifest",
           "TimedVolume", "ReaderTimes", "read_times"]

#: The models of the paper's reader study.
PAPER_MODELS = ("MedSAM", "SegVol", "PropSAM-2DBox", "PropSAM-2DMask")
#: Prefix of the interaction-time columns.
SECONDS_PREFIX = "seconds_"
#: Columns before the interaction times.
VOLUME_COLUMNS = ("volume", "dataset", "case", "object", "guide_slice", "box2d_x0", "box2d_y0", "box2d_x1",
                  "box2d_y1", "box3d_x0", "box3d_y0", "box3d_z0", "box3d_x1", "box3d_y1", "box3d_z1", "data_version")
_REQUIRED = ("dataset", "case", "object")


def check_models(models: Sequence[str]) -> tuple[str, ...]:
    """``models`` as a tuple, checked.

    Raises:
        ValueError: ``models`` is empty, repeats a name, or has an empty name or one with a comma or surrounding
            spaces.
    """
    names = tuple(models)
    bad = [m for m in names if not m.strip() or m != m.strip() or "," in m]
    if not names or bad or len(set(names)) != len(names):
        raise ValueError(f"argument models: expected distinct non-empty model names without commas or surrounding "
                         f"spaces, got {list(names)}")
    return names


def manifest_text(sample: ReaderSample, models: Sequence[str] = PAPER_MODELS) -> str:
    """The manifest of ``sample`` as CSV text (see the module docstring).

    Raises:
        ValueError: ``models`` is empty, repeats a name, or has an empty name or one with a comma.
    """
    names = check_models(models)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((*VOLUME_COLUMNS, *(SECONDS_PREFIX + m for m in names)))
    for number, item in enumerate(sample.assignments, start=1):
        prompts = item.prompts
        writer.writerow((number, item.dataset_id, item.case_id, item.object_name, prompts.guide_slice,
                         *prompts.box2d, *prompts.box3d, item.data_version, *("" for _ in names)))
    return buffer.getvalue()


def write_manifest(path: Path, sample: ReaderSample, models: Sequence[str] = PAPER_MODELS, *,
                   overwrite: bool = False) -> Path:
    """Write the manifest of ``sample`` to ``path``.

    Raises:
        BenchmarkError: ``path`` exists and ``overwrite`` is false (it may hold a reader's times).
        ValueError: Bad ``models`` (see :func:`manifest_text`).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise BenchmarkError(f"reader-study manifest {path} already exists and may hold a reader's times; expected "
                             f"a new file (choose another path, or overwrite it on purpose)")
    text = manifest_text(sample, models)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    return path


@dataclass(frozen=True, kw_only=True)
class TimedVolume:
    """One row of a filled-in manifest.

    Attributes:
        line: Line of the row in the file (1 is the header).
        dataset_id: Catalog ID.
        case_id: Case identifier.
        object_name: The prompted object.
    """

    line: int
    dataset_id: str
    case_id: str
    object_name: str


@dataclass(frozen=True, kw_only=True)
class ReaderTimes:
    """The interaction times of a filled-in manifest.

    Attributes:
        path: The file read.
        models: Models in column order.
        volumes: The rows, in file order.
        seconds: Per model, one time per row in seconds (NaN where the cell is empty).
    """

    path: Path
    models: tuple[str, ...]
    volumes: tuple[TimedVolume, ...]
    seconds: Mapping[str, tuple[float, ...]]


def _parse_seconds(text: str | None, *, where: str, column: str) -> float:
    cell = (text or "").strip()
    if not cell:
        return math.nan
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise BenchmarkError(f"{where}: column {column!r} holds {cell!r}; expected an interaction time in seconds "
                             f"(a non-negative number) or an empty cell")
    return value


def _header(path: Path, reader: csv.DictReader) -> tuple[str, ...]:  # type: ignore[type-arg]
    columns = tuple(reader.fieldnames or ())
    if not columns:
        raise BenchmarkError(f"{path}: empty file, expected a reader-study manifest with a header row")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    missing = [c for c in _REQUIRED if c not in columns]
    models = tuple(c[len(SECONDS_PREFIX):] for c in columns if c.startswith(SECONDS_PREFIX))
    if repeated or missing or not models:
        raise BenchmarkError(f"{path}: header {list(columns)}; expected the columns {list(_REQUIRED)} once each and "
                             f"at least one '{SECONDS_PREFIX}<model>' column (repeated: {repeated}, missing: "
                             f"{missing})")
    return models


def _check_width(path: Path, line: int, row: dict[str | None, object], width: int) -> None:
    extra = row.get(None)
    cells = width + len(extra) if isinstance(extra, list) else sum(v is not None for v in row.values())
    if cells != width:
        raise BenchmarkError(f"{path}, line {line}: {cells} cells; expected {width}, one per column of the header")


def read_times(path: Path) -> ReaderTimes:
    """Read the interaction times of a filled-in manifest.

    Raises:
        BenchmarkError: The file is missing or empty; the header lacks ``dataset``, ``case``, ``object`` or any
            ``seconds_`` column, or repeats a column; a row has the wrong number of cells, repeats a volume, or holds
            something other than a non-negative number of seconds (the message names the line and the column).
    """
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"reader-study file {path} does not exist; expected a manifest written by "
                             f"'propbench reader-study sample' with the seconds filled in")
    volumes: list[TimedVolume] = []
    seconds: list[list[float]] = []
    seen: dict[tuple[str, str], int] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:  # utf-8-sig: spreadsheets may add a BOM
        reader = csv.DictReader(handle)
        models = _header(path, reader)
        for row in reader:
            line = reader.line_num
            _check_width(path, line, row, len(reader.fieldnames or ()))
            volume = TimedVolume(line=line, dataset_id=row["dataset"].strip(), case_id=row["case"].strip(),
                                 object_name=row["object"].strip())
            key = (volume.dataset_id, volume.case_id)
            if key in seen:
                raise BenchmarkError(f"{path}, line {line}: volume {'/'.join(key)} is already listed on line "
                                     f"{seen[key]}; expected each volume once")
            seen[key] = line
            where = f"{path}, line {line} ({volume.dataset_id}/{volume.case_id})"
            seconds.append([_parse_seconds(row[SECONDS_PREFIX + m], where=where, column=SECONDS_PREFIX + m)
                            for m in models])
            volumes.append(volume)
    by_model = {m: tuple(times[j] for times in seconds) for j, m in enumerate(models)}
    return ReaderTimes(path=path, models=models, volumes=tuple(volumes), seconds=by_model)
