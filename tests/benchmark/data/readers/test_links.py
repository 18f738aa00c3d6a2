"""The link policy of every reader (benchmark/data/readers/links.py and LayoutReader.finish): links inside a dataset
are followed, links leaving it fail the case that uses them (or the dataset, for paths read from its card or
manifest), and loops are walked once."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.data.dataset import load_cases, open_reader
from benchmark.data.readers.base import inside_root
from benchmark.data.readers.links import DatasetBounds
from benchmark.errors import LayoutError
from tests.cards import card
from tests.synthetic import labelled_phantom, write_nifti

SHAPE = (10, 8, 6)


def _pair(image: Path, label: Path, seed: int = 0) -> None:
    data, lbl = labelled_phantom(SHAPE, seed=seed)
    write_nifti(image, data)
    write_nifti(label, lbl)


def _outside(tmp_path: Path, name: str) -> Path:
    """A NIfTI file outside every dataset root of these tests."""
    path = tmp_path / "elsewhere" / name
    _pair(path, tmp_path / "elsewhere" / f"label_{name}", seed=9)
    return path


def _f1(root: Path):  # type: ignore[no-untyped-def]
    for k in range(2):
        _pair(root / "imagesTr" / f"c{k}.nii.gz", root / "labelsTr" / f"c{k}.nii.gz", seed=k)
    return open_reader(card({"1": "a", "2": "b"}, options={"dataset_json": ""}), root), "imagesTr/c1.nii.gz"


def _f2(root: Path):  # type: ignore[no-untyped-def]
    for k in range(2):
        _pair(root / f"case_{k}" / "imaging.nii.gz", root / f"case_{k}" / "segmentation.nii.gz", seed=k)
    reader = open_reader(card({"1": "a", "2": "b"}, family="F2", options={
        "case_globs": ["case_*"], "channel_files": {"CT": "imaging.nii.gz"}}), root)
    return reader, "case_1/segmentation.nii.gz"


def _f3(root: Path):  # type: ignore[no-untyped-def]
    for k in range(2):
        _pair(root / f"sub-{k}" / "anat" / f"sub-{k}_T1w.nii.gz", root / f"sub-{k}" / "anat" / f"sub-{k}_mask.nii.gz",
              seed=k)
    reader = open_reader(card({"1": "a", "2": "b"}, family="F3", channels=("T1w",), options={
        "image_glob": "sub-*/anat/*.nii.gz", "label_glob": "sub-*/anat/*.nii.gz"}), root)
    return reader, "sub-1/anat/sub-1_T1w.nii.gz"


def _f4(root: Path):  # type: ignore[no-untyped-def]
    for k in range(2):
        data, lbl = labelled_phantom(SHAPE, seed=k)
        write_nifti(root / f"s{k}" / "ct.nii.gz", data)
        write_nifti(root / f"s{k}" / "segmentations" / "liver.nii.gz", (lbl == 1).astype(np.uint8))
    reader = open_reader(card({"liver": "liver"}, family="F4", encoding="per-file", options={"case_glob": "s*"}),
                         root)
    return reader, "s1/segmentations/liver.nii.gz"


def _f5(root: Path):  # type: ignore[no-untyped-def]
    for k in range(2):
        _pair(root / f"c{k}_ct.nii.gz", root / f"c{k}_seg.nii.gz", seed=k)
    reader = open_reader(card({"1": "a", "2": "b"}, family="F5", options={
        "channel_suffixes": {"CT": "_ct.nii.gz"}, "label_suffix": "_seg.nii.gz"}), root)
    return reader, "c1_ct.nii.gz"


FAMILIES = {"F1": _f1, "F2": _f2, "F3": _f3, "F4": _f4, "F5": _f5}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_file_linked_from_outside_fails_its_case_only(tmp_path: Path, family: str) -> None:
    root = tmp_path / "ds"
    reader, relative = FAMILIES[family](root)
    linked = root / relative
    target = _outside(tmp_path, linked.name)
    linked.unlink()
    linked.symlink_to(target)

    report = load_cases(reader)

    assert len(report.cases) == 1 and len(report.errors) == 1  # the other case is read
    (error,) = report.errors
    assert f"{linked} is a link to {target}, outside the dataset root {root}" in error.message


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_links_inside_the_dataset_are_followed(tmp_path: Path, family: str) -> None:
    root = tmp_path / "ds"
    reader, relative = FAMILIES[family](root)
    linked = root / relative
    store = root / "linked_store" / linked.name  # a folder of the dataset that no layout option names
    store.parent.mkdir()
    shutil.move(linked, store)
    linked.symlink_to(os.path.relpath(store, linked.parent))  # relative, as git-annex links are
    assert linked.exists()

    report = load_cases(reader)

    assert len(report.cases) == 2 and report.errors == ()


def test_a_dataset_json_entry_that_links_outside_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _pair(root / "imagesTr" / "c0.nii.gz", root / "labelsTr" / "c0.nii.gz")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "dataset.json").write_text(json.dumps({"labels": {"0": "bg", "1": "a", "2": "b"}}))
    (root / "dataset.json").symlink_to(tmp_path / "elsewhere" / "dataset.json")

    with pytest.raises(LayoutError, match=r"dataset\.json is a link to .*elsewhere/dataset\.json, outside the dataset"):
        open_reader(card({"1": "a", "2": "b"}), root).discover()


def test_inside_root_resolves_links_on_the_way(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    (root / "inner").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (root / "away").symlink_to(tmp_path / "out")
    (root / "near").symlink_to(root / "inner")
    assert inside_root(root, "near/x.nii.gz", where="card") == root / "near" / "x.nii.gz"
    with pytest.raises(LayoutError, match="away/x.nii.gz is a link to"):
        inside_root(root, "away/x.nii.gz", where="card")
    with pytest.raises(LayoutError, match="escapes the dataset root"):
        inside_root(root, "../out/x.nii.gz", where="card")


def test_annexed_content_of_a_subdataset_with_a_gitdir_file_is_inside(tmp_path: Path) -> None:
    # A dataset whose .git is a file pointing to the superdataset's modules: its annexed content lives there.
    root = tmp_path / "super" / "D1"
    modules = tmp_path / "super" / ".git" / "modules" / "D1"
    (modules / "annex" / "objects").mkdir(parents=True)
    root.mkdir(parents=True)
    (root / ".git").write_text("gitdir: ../.git/modules/D1\n")
    (modules / "annex" / "objects" / "key").write_text("content")
    (root / "file").symlink_to(modules / "annex" / "objects" / "key")
    (root / "stray").symlink_to(tmp_path)

    bounds = DatasetBounds.of(root)

    assert bounds.real_outside(root / "file") is None
    assert bounds.real_outside(root / "stray") == tmp_path


def test_walk_reports_outward_links_and_loops_and_reads_each_file_once(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "x.dcm").write_text("x")
    (root / "a" / "b" / "up").symlink_to(root / "a")       # a cycle
    (root / "a" / "side").symlink_to(root / "a" / "b")     # a second way into b
    (root / "a" / "out").symlink_to(tmp_path)              # leaves the dataset
    (root / "a" / ".hidden").write_text("h")

    walk = DatasetBounds.of(root).walk(root / "a")

    assert walk.files == (root / "a" / "b" / "x.dcm",)
    assert walk.outside == ((root / "a" / "out", tmp_path),)
    assert len(walk.loops) == 2
