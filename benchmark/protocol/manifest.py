"""Prompt manifests: the prompts of a run configuration as JSON lines, to inspect, share and replay.

The first line is a header (``manifest_schema``, the protocol options); each further line is one object in one
setting: its key, the data version of its dataset, and either its prompts (the 2D mask run-length encoded) or the
reason it was skipped. ``propbench prompts export`` writes one; ``propbench run --prompts FILE`` replays it.

Run-length encoding of a (U, V) boolean mask: ``{"shape": [U, V], "counts": [...]}``, the lengths of alternating
runs of False and True over the mask in C order, starting with False (a mask starting with True has a leading 0).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.geometry import Plane
from benchmark.errors import BenchmarkError
from benchmark.protocol.object_prompts import ObjectKey, ObjectPrompts, ProtocolOptions, SkippedObject
from benchmark.protocol.prompts import Box2D, Box3D, Mask2D
from benchmark.protocol.simulation import BoxJitter, SliceRule

__all__ = ["MANIFEST_SCHEMA", "ManifestEntry", "Manifest", "rle_encode", "rle_decode", "write_manifest",
           "read_manifest"]

MANIFEST_SCHEMA = 1


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """Run lengths of a 2D boolean mask (see the module docstring)."""
    flat = np.asarray(mask, dtype=bool).ravel()
    changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return {"shape": list(mask.shape), "counts": counts}


def rle_decode(encoded: dict[str, Any]) -> np.ndarray:
    """The mask :func:`rle_encode` encoded.

    Raises:
        ValueError: The counts do not add up to the shape.
    """
    shape = tuple(int(n) for n in encoded["shape"])
    counts = [int(c) for c in encoded["counts"]]
    if sum(counts) != int(np.prod(shape)) or any(c < 0 for c in counts):
        raise ValueError(f"run lengths add up to {sum(counts)}, expected {int(np.prod(shape))} for shape {shape}")
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, counts).reshape(shape)


@dataclass(frozen=True)
class ManifestEntry:
    """One line of a manifest: the prompts of an object (or why it was skipped) and its dataset's data version."""

    prompts: ObjectPrompts | SkippedObject
    data_version: str

    @property
    def key(self) -> ObjectKey:
        return self.prompts.key


@dataclass(frozen=True)
class Manifest:
    """A whole manifest: the protocol options it was drawn with and its entries by key."""

    options: ProtocolOptions
    entries: dict[ObjectKey, ManifestEntry]


def _entry_json(entry: ManifestEntry) -> dict[str, Any]:
    item = entry.prompts
    line: dict[str, Any] = {**asdict(item.key), "data_version": entry.data_version}
    if isinstance(item, SkippedObject):
        return {**line, "skipped": item.reason}
    return {**line, "plane": item.mask2d.plane.value, "slice": item.slice_index, "extent": list(item.extent),
            "mask2d": rle_encode(item.mask2d.mask), "box2d": list(item.box2d.box), "box3d": list(item.box3d.box),
            "box3d_slice": item.box3d.slice_index}


def write_manifest(path: Path, options: ProtocolOptions, entries: Iterable[ManifestEntry]) -> Path:
    """Write a manifest (entries sorted by key, so equal prompts give byte-identical files)."""
    header = {"manifest_schema": MANIFEST_SCHEMA, "plane": options.plane.value, "rule": options.rule.value,
              "jitter": options.jitter.value, "min_area": options.min_area, "seed": options.seed}
    lines = [json.dumps(header, sort_keys=True)]
    lines += [json.dumps(_entry_json(e), sort_keys=True) for e in sorted(entries, key=lambda e: e.key)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _parse_entry(line: dict[str, Any]) -> ManifestEntry:
    key = ObjectKey(line["dataset_id"], line["case_id"], line["object_name"], line["setting_key"])
    if "skipped" in line:
        return ManifestEntry(SkippedObject(key, str(line["skipped"])), str(line["data_version"]))
    plane, index = Plane(line["plane"]), int(line["slice"])
    prompts = ObjectPrompts(key=key, mask2d=Mask2D(plane, index, rle_decode(line["mask2d"])),
                            box2d=Box2D(plane, index, tuple(int(v) for v in line["box2d"])),  # type: ignore[arg-type]
                            box3d=Box3D(tuple(int(v) for v in line["box3d"]),  # type: ignore[arg-type]
                                        int(line["box3d_slice"])),
                            extent=(int(line["extent"][0]), int(line["extent"][1])))
    return ManifestEntry(prompts, str(line["data_version"]))


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, json.loads(text)


def read_manifest(path: Path) -> Manifest:
    """Read a manifest.

    Raises:
        BenchmarkError: The file is missing, not JSON lines, of another schema, or a line lacks a field (the
            message names the file and the line).
    """
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"prompt manifest {path} does not exist; write one with 'propbench prompts export'")
    number = 0
    try:
        lines = _lines(path)
        number, header = next(lines)
        if header.get("manifest_schema") != MANIFEST_SCHEMA:
            raise BenchmarkError(f"{path}: manifest_schema {header.get('manifest_schema')!r}, expected "
                                 f"{MANIFEST_SCHEMA}")
        options = ProtocolOptions(plane=Plane(header["plane"]), rule=SliceRule(header["rule"]),
                                  jitter=BoxJitter(header["jitter"]), min_area=int(header["min_area"]),
                                  seed=int(header["seed"]))
        entries: dict[ObjectKey, ManifestEntry] = {}
        for current, line in lines:
            number = current  # named in the error of a bad line
            entry = _parse_entry(line)
            entries[entry.key] = entry
    except StopIteration:
        raise BenchmarkError(f"{path}: empty file, expected a prompt manifest") from None
    except (ValueError, KeyError, TypeError, IndexError) as err:
        raise BenchmarkError(f"{path}, line {number}: not a prompt manifest line ({type(err).__name__}: {err})") \
            from err
    return Manifest(options, entries)
