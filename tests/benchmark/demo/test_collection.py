"""The demo collection: cards agree with the collection, every dataset loads through its family reader with the
phantoms' images and masks, files are reproducible, and the full build into a real DataLad data home."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from benchmark.data.catalog import Catalog, load_catalog
from benchmark.data.dataset import load_cases, open_reader
from benchmark.data.enums import Access, Modality, Role
from benchmark.demo.collection import (
    DEMO_DATASETS,
    DemoDataset,
    build_demo,
    demo_cases,
    demo_dataset,
    write_dataset,
    write_demo,
)
from benchmark.demo.phantoms import Structure
from benchmark.errors import InstallError
from benchmark.home.data_home import DataHome

IDS = [dataset.id for dataset in DEMO_DATASETS]
#: Cases per dataset whose voxels are compared with freshly built phantoms (every case is loaded and checked).
COMPARED = 2


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole collection, written once for the module (seed 0)."""
    dest = tmp_path_factory.mktemp("demo")
    write_demo(dest)
    return dest


def file_digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("dataset", DEMO_DATASETS, ids=IDS)
def test_card_agrees_with_the_collection(catalog: Catalog, dataset: DemoDataset) -> None:
    card = catalog.get(dataset.id)
    assert card.demo and card.role is Role.INTERNAL
    assert card.layout.family is dataset.family and card.layout.confirmed
    assert card.channels == dataset.spec.channels
    assert card.modality is dataset.spec.modality
    assert dict(card.objects().objects) == {key: name for name, key in dataset.objects.items()}
    assert (card.source.url, card.source.access, card.source.licence) == ("built-in", Access.DIRECT, "CC0-1.0")
    assert card.source.citation == "PropSAM Bench demo collection"


def test_collection_covers_four_families_and_both_modalities() -> None:
    assert len({dataset.family for dataset in DEMO_DATASETS}) == 4
    assert {dataset.spec.modality for dataset in DEMO_DATASETS} == {Modality.CT, Modality.MR}
    assert any(len(dataset.spec.channels) > 1 for dataset in DEMO_DATASETS)
    assert any(dataset.spec.spacing == (0.8, 0.8, 5.0) for dataset in DEMO_DATASETS)
    assert any(len(set(dataset.spec.spacing)) == 1 for dataset in DEMO_DATASETS)
    assert all(10 <= dataset.cases <= 12 for dataset in DEMO_DATASETS)


def test_written_collection_is_small(written: Path) -> None:
    size = sum(p.stat().st_size for p in written.rglob("*") if p.is_file())
    assert size < 16 * 2**20
    assert sorted(p.name for p in written.iterdir()) == sorted(IDS)


@pytest.mark.parametrize("dataset", DEMO_DATASETS, ids=IDS)
def test_dataset_loads_through_its_family_reader(catalog: Catalog, written: Path, dataset: DemoDataset) -> None:
    card = catalog.get(dataset.id)
    report = load_cases(open_reader(card, written / dataset.id))
    assert report.errors == ()
    assert [case.case_id for case in report.cases] == [dataset.case_id(i) for i in range(dataset.cases)]
    for case in report.cases:
        assert case.image.shape == (len(dataset.spec.channels), *dataset.spec.shape)
        assert case.spacing == pytest.approx(dataset.spec.spacing, abs=1e-5)
        masks = case.masks()
        assert len(masks) >= 3 and all(mask.any() for mask in masks.values())
        for organ in (Structure.LIVER.value, Structure.KIDNEY.value):  # Box2Mask's 100-pixel rule
            areas = masks[organ].sum(axis=(0, 1))
            assert np.mean(areas[areas > 0] > 100) >= 0.6


@pytest.mark.parametrize("dataset", DEMO_DATASETS, ids=IDS)
def test_loaded_voxels_equal_the_phantoms(catalog: Catalog, written: Path, dataset: DemoDataset) -> None:
    card = catalog.get(dataset.id)
    reader = open_reader(card, written / dataset.id)
    entries = reader.discover().entries[:COMPARED]
    phantoms = demo_cases(replace(dataset, cases=COMPARED, unlabelled=0))[0]
    for entry, expected in zip(entries, phantoms, strict=True):
        case = reader.open_case(entry)
        assert case.case_id == expected.case_id
        assert np.array_equal(case.image, expected.phantom.stacked())
        for name in case.objects:
            assert np.array_equal(case.mask(name), expected.phantom.masks[name]), name


def test_msd_keeps_an_unlabelled_test_image_that_is_not_a_case(written: Path) -> None:
    root = written / "DEMO-MSD"
    assert [p.name for p in (root / "imagesTs").iterdir()] == ["abdomen_10.nii.gz"]
    assert not (root / "labelsTr" / "abdomen_10.nii.gz").exists()


@pytest.mark.parametrize("dataset", DEMO_DATASETS, ids=IDS)
def test_files_are_reproducible_and_depend_on_the_seed(tmp_path: Path, dataset: DemoDataset) -> None:
    small = replace(dataset, cases=1, unlabelled=min(dataset.unlabelled, 1))
    first = file_digests(write_dataset(small, tmp_path / "a", seed=3))
    again = file_digests(write_dataset(small, tmp_path / "b", seed=3))
    other = file_digests(write_dataset(small, tmp_path / "c", seed=4))
    assert first == again
    assert first.keys() == other.keys() and first != other


def test_write_dataset_replaces_an_existing_folder(tmp_path: Path) -> None:
    small = replace(demo_dataset("DEMO-CASE"), cases=1)
    stale = tmp_path / "DEMO-CASE" / "case_00099"
    stale.mkdir(parents=True)
    write_dataset(small, tmp_path / "DEMO-CASE")
    assert sorted(p.name for p in (tmp_path / "DEMO-CASE").iterdir()) == ["case_00000"]


def test_unknown_demo_dataset_is_named() -> None:
    with pytest.raises(KeyError, match=r"'D19' is not a demo dataset; expected one of .*DEMO-MSD"):
        demo_dataset("D19")


@pytest.mark.parametrize("inside", [True, False])
def test_build_refuses_sources_overlapping_the_home(tmp_path: Path, inside: bool) -> None:
    home = DataHome(tmp_path / "home")
    sources = home.path / "sources" if inside else tmp_path
    expected = f"argument sources: {sources.resolve()} overlaps the data home {home.path}"
    with pytest.raises(InstallError, match=re.escape(expected)):
        build_demo(home, sources)
    assert not home.path.exists()


@pytest.mark.slow
def test_build_installs_into_a_clean_data_home_once(git_identity: Path, tmp_path: Path, catalog: Catalog) -> None:
    import datalad.api as dl

    home = DataHome(tmp_path / "datahome")  # tmp_path / "home" is the isolated HOME of git_identity
    results = build_demo(home, tmp_path / "sources", catalog=catalog)
    assert [r.dataset_id for r in results] == IDS
    assert not any(r.already_installed for r in results)
    assert home.installed_ids() == tuple(sorted(IDS))
    states = list(dl.status(dataset=str(home.path), recursive=True, result_renderer="disabled",
                            return_type="generator"))
    assert states and {record["state"] for record in states} == {"clean"}
    for status in home.status():
        assert status.clean and status.n_present == status.n_files
    for dataset_id in IDS:
        verified = home.verify(dataset_id)
        assert verified.ok, verified.problems
    for dataset in DEMO_DATASETS:
        reader = home.open_reader(catalog.get(dataset.id))
        report = load_cases(reader, load_image=False)
        assert report.errors == () and len(report.cases) == dataset.cases
        first = report.cases[0]
        assert first.data_version == home.commit(dataset.id)
        assert first.image.shape[0] == len(dataset.spec.channels) and first.mask(Structure.LIVER.value).any()

    head = dl.Dataset(str(home.path)).repo.get_hexsha()
    again = build_demo(home, tmp_path / "elsewhere", seed=1, catalog=catalog)
    assert all(r.already_installed for r in again)
    assert [r.commit for r in again] == [r.commit for r in results]
    assert dl.Dataset(str(home.path)).repo.get_hexsha() == head
    assert not (tmp_path / "elsewhere").exists()
