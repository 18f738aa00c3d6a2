from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmark.errors import BenchmarkError
from benchmark.protocol.manifest import ManifestEntry, read_manifest, rle_decode, rle_encode, write_manifest
from benchmark.protocol.object_prompts import ObjectKey, ObjectPrompts, ProtocolOptions, SkippedObject, simulate_object
from benchmark.protocol.settings import DEFAULT_POINT, Setting, SettingPoint

OPTIONS = ProtocolOptions(seed=7)


@pytest.mark.parametrize("mask", [
    np.zeros((3, 4), bool), np.ones((3, 4), bool), np.eye(5, dtype=bool),
    np.random.default_rng(0).random((17, 9)) > 0.5,
])
def test_rle_round_trip(mask: np.ndarray) -> None:
    encoded = rle_encode(mask)
    assert sum(encoded["counts"]) == mask.size
    assert np.array_equal(rle_decode(encoded), mask)


def test_rle_starts_with_false_runs() -> None:
    assert rle_encode(np.array([[True, True], [False, True]]))["counts"] == [0, 2, 1, 1]
    with pytest.raises(ValueError, match="add up to 3, expected 4"):
        rle_decode({"shape": [2, 2], "counts": [1, 2]})


def _entries() -> list[ManifestEntry]:
    mask = np.zeros((40, 40, 30), bool)
    mask[10:30, 12:26, 5:25] = True
    mask[10:34, 12:26, 14] = True
    entries = []
    for point in (DEFAULT_POINT, SettingPoint(Setting.SLICE_DEVIATION, 0.1)):
        for name in ("liver", "spleen"):
            key = ObjectKey("D1", "case_0", name, point.prompt_key)
            entries.append(ManifestEntry(simulate_object(mask, key, point, OPTIONS), "abc123"))
    entries.append(ManifestEntry(SkippedObject(ObjectKey("D1", "case_1", "lesion", "default"), "too small"), "abc123"))
    return entries


def test_manifest_round_trip_and_byte_identity(tmp_path: Path) -> None:
    entries = _entries()
    first = write_manifest(tmp_path / "a.jsonl", OPTIONS, entries)
    second = write_manifest(tmp_path / "b.jsonl", OPTIONS, list(reversed(_entries())))
    assert first.read_bytes() == second.read_bytes()
    manifest = read_manifest(first)
    assert manifest.options == OPTIONS and len(manifest.entries) == 5
    for entry in entries:
        read = manifest.entries[entry.key]
        assert read.data_version == "abc123"
        if isinstance(entry.prompts, SkippedObject):
            assert read.prompts == entry.prompts
            continue
        assert isinstance(read.prompts, ObjectPrompts)
        assert read.prompts.box2d == entry.prompts.box2d and read.prompts.box3d == entry.prompts.box3d
        assert np.array_equal(read.prompts.mask2d.mask, entry.prompts.mask2d.mask)
        assert read.prompts.extent == entry.prompts.extent


def test_bad_manifests_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="does not exist"):
        read_manifest(tmp_path / "none.jsonl")
    path = write_manifest(tmp_path / "m.jsonl", OPTIONS, _entries())
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1], '{"dataset_id": "D1"}']) + "\n")
    with pytest.raises(BenchmarkError, match=r"m.jsonl, line 3: not a prompt manifest line \(KeyError"):
        read_manifest(path)
    path.write_text(lines[0].replace('"manifest_schema": 1', '"manifest_schema": 9') + "\n")
    with pytest.raises(BenchmarkError, match="manifest_schema 9, expected 1"):
        read_manifest(path)
    path.write_text("")
    with pytest.raises(BenchmarkError, match="empty file"):
        read_manifest(path)
