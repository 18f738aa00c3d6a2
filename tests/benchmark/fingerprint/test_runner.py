from __future__ import annotations

import gzip
import types
from pathlib import Path

import numpy as np
import pytest

from benchmark.data.dataset import open_reader
from benchmark.fingerprint.cache import JsonCache
from benchmark.fingerprint.runner import run_cases
from tests.cards import card
from tests.synthetic import labelled_phantom, ras_affine, write_nifti

OBJECTS = {"1": "liver", "2": "spleen"}


def _dataset(root: Path, n: int = 4) -> Path:
    for index in range(n):
        image, label = labelled_phantom((24, 20, 12), seed=index)
        affine = ras_affine((0.8, 0.8, 2.5))
        write_nifti(root / "imagesTr" / f"case_{index}.nii.gz", image, affine)
        write_nifti(root / "labelsTr" / f"case_{index}.nii.gz", label, affine)
    return root


def _reader(root: Path):  # type: ignore[no-untyped-def]
    return open_reader(card(OBJECTS), root)


def test_full_pass_matches_the_labels(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds")
    result = run_cases(_reader(root), full=True, cache_dir=None, workers=2)
    assert [f.case_id for f in result.fingerprints] == [f"case_{i}" for i in range(4)]
    _, label = labelled_phantom((24, 20, 12), seed=2)
    liver = result.fingerprints[2].objects[0]
    assert liver.voxels == int((label == 1).sum())
    assert liver.volume_mm3 == pytest.approx(liver.voxels * 0.8 * 0.8 * 2.5)
    assert result.fingerprints[0].spacing == pytest.approx((0.8, 0.8, 2.5))


def test_second_run_reads_only_changed_cases(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds")
    cache = tmp_path / "cache"
    first = run_cases(_reader(root), full=True, cache_dir=cache, workers=1)
    assert first.from_cache == 0
    second = run_cases(_reader(root), full=True, cache_dir=cache, workers=1)
    assert second.from_cache == 4 and second.fingerprints == first.fingerprints
    _, label = labelled_phantom((24, 20, 12))
    label[0, 0, 0] = 1  # one more liver voxel
    write_nifti(root / "labelsTr" / "case_1.nii.gz", label, ras_affine((0.8, 0.8, 2.5)))
    third = run_cases(_reader(root), full=True, cache_dir=cache, workers=1)
    assert third.from_cache == 3
    assert third.fingerprints[1].objects[0].voxels == int((label == 1).sum())


def test_broken_case_is_excluded_and_reported(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds")
    path = root / "imagesTr" / "case_2.nii.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:500]))
    result = run_cases(_reader(root), full=True, cache_dir=tmp_path / "cache", workers=2)
    assert [f.case_id for f in result.fingerprints] == ["case_0", "case_1", "case_3"]
    (error,) = result.errors
    assert error.case_id == "case_2" and "case_2.nii.gz" in error.message


def test_interrupted_write_leaves_no_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = JsonCache(tmp_path / "cache")

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("json.dump", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.store("k", {"a": 1})
    assert list((tmp_path / "cache").iterdir()) == []
    monkeypatch.undo()
    cache.path("k").write_text('{"a": ')  # a corrupt entry left by something else
    assert cache.load("k") is None and not cache.path("k").exists()


def test_header_only_pass_reads_no_labels(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", n=2)
    (root / "labelsTr" / "case_0.nii.gz").write_bytes(b"not a label")  # never read by a header pass
    result = run_cases(_reader(root), full=False, cache_dir=None)
    assert len(result.fingerprints) == 2 and not result.errors
    assert result.fingerprints[0].voxels == int(np.prod((24, 20, 12)))


def test_process_pool_gives_the_serial_numbers(tmp_path: Path) -> None:
    # Tasks are pickled into spawned processes: nothing of the calling process (closures, readers) travels.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    root = _dataset(tmp_path / "ds")
    serial = run_cases(_reader(root), full=True, cache_dir=None, workers=1)
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        pooled = run_cases(_reader(root), full=True, cache_dir=tmp_path / "cache", executor=pool)
    assert pooled.fingerprints == serial.fingerprints and not pooled.errors
    assert len(list((tmp_path / "cache" / "T1").glob("*.json"))) == 4  # written by the calling process alone


def test_demo_collection_in_a_process_pool_equals_the_serial_pass(tmp_path: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from benchmark.data.catalog import load_catalog
    from benchmark.demo.collection import DEMO_DATASETS, write_demo

    write_demo(tmp_path)
    catalog = load_catalog()
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        for dataset in DEMO_DATASETS:
            reader = open_reader(catalog.get(dataset.id), tmp_path / dataset.id)
            serial = run_cases(reader, full=True, cache_dir=None, workers=1)
            pooled = run_cases(reader, full=True, cache_dir=None, executor=pool)
            assert serial.fingerprints and pooled.fingerprints == serial.fingerprints
            assert pooled.errors == serial.errors


def _changed(value: object, hint: object) -> object:
    """A value of an option's type that differs from ``value`` (the option's default, or None)."""
    import typing

    args = [a for a in typing.get_args(hint) if a is not type(None)]
    kind = typing.get_origin(hint)
    if kind in (typing.Union, types.UnionType):
        return _changed(value, args[0])
    if hint is bool:
        return not value
    if hint is str:
        return f"{value}x"
    if hint in (int, float):
        return (value or 0) + 1
    if kind is tuple:
        return [*(value or ()), _changed(None, args[0])]
    if kind is dict:
        return {**(value or {}), "k": _changed(None, args[1])}
    raise AssertionError(f"no changed value for {hint}")


def _families() -> list[tuple[str, str]]:
    import dataclasses

    from benchmark.data.readers.registry import READERS

    return [(str(family), f.name) for family, cls in READERS.items() for f in dataclasses.fields(cls.options_type)]


@pytest.mark.parametrize(("family", "option"), _families())
def test_every_layout_option_is_part_of_the_cache_key(family: str, option: str) -> None:
    import dataclasses
    import typing

    from benchmark.data.dataset import reading_key
    from benchmark.data.readers.registry import reader_class

    options_type = reader_class(family).options_type
    field = next(f for f in dataclasses.fields(options_type) if f.name == option)
    default = None if field.default is dataclasses.MISSING else field.default
    if field.default_factory is not dataclasses.MISSING:
        default = field.default_factory()
    base = card(OBJECTS, family=family, options={})
    edited = card(OBJECTS, family=family, options={option: _changed(default, typing.get_type_hints(options_type)[
        option])})
    assert reading_key(edited) != reading_key(base)


def test_card_content_that_changes_reading_is_part_of_the_cache_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmark.data.dataset import reading_key
    from benchmark.data.readers.paired_folders import PairedFoldersReader

    base = reading_key(card(OBJECTS))
    for edited in (card(OBJECTS, channels=("CT", "PT")), card({"1": "liver", "2": "kidney"}),
                   card(OBJECTS, ignore=["3"]), card(OBJECTS, encoding="per-file")):
        assert reading_key(edited) != base
    # Descriptions do not change what is read: the cache stays valid when a card's notes or name are edited.
    assert reading_key(card(OBJECTS, name="Renamed", notes="more notes")) == base
    monkeypatch.setattr(PairedFoldersReader, "reader_version", PairedFoldersReader.reader_version + 1)
    assert reading_key(card(OBJECTS)) != base


def test_editing_a_cards_option_is_not_served_stale_numbers(tmp_path: Path) -> None:
    # PI-CAI-like card: label_remap folds ISUP grades 3..5 into one lesion object. Editing the remap must re-read the
    # case: the cache key covers the card's reading, not only the files.
    root = tmp_path / "ds"
    image, label = labelled_phantom((24, 20, 12), seed=0)
    label[label == 2] = 3
    write_nifti(root / "c_t2w.nii.gz", image)
    write_nifti(root / "c_seg.nii.gz", label)

    def f5(remap: dict[str, int]):  # type: ignore[no-untyped-def]
        return open_reader(card({"1": "gland", "2": "lesion"}, family="F5", channels=("T2W",), ignore=["3"],
                                options={"channel_suffixes": {"T2W": "_t2w.nii.gz"}, "label_suffix": "_seg.nii.gz",
                                         "label_remap": remap}), root)

    cache = tmp_path / "cache"
    first = run_cases(f5({}), full=True, cache_dir=cache, workers=1)
    second = run_cases(f5({"3": 2}), full=True, cache_dir=cache, workers=1)

    assert first.fingerprints[0].objects[1].voxels == 0
    assert second.from_cache == 0 and second.fingerprints[0].objects[1].voxels == int((label == 3).sum())
