"""benchmark/reader_study/sampling.py on real DataLad data homes: the demo collection, and a toy dataset whose
promptable objects are known by construction (so that the matching, the 100-pixel rule and the stopping rule can be
checked against an independent brute force)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from benchmark.data.catalog import load_catalog
from benchmark.demo.collection import build_demo
from benchmark.home.data_home import DataHome
from benchmark.protocol.object_prompts import ObjectKey, ObjectPrompts, ProtocolOptions, simulate_object
from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.reader_study.manifest import write_manifest
from benchmark.reader_study.sampling import InsufficientDataError, ReaderSample, sample_volumes
from tests.benchmark.reader_study.test_matching import brute_force_size
from tests.cards import write_card
from tests.synthetic import blob, write_nifti

SHAPE = (32, 32, 8)
LABELS = {"liver": 1, "spleen": 2, "kidney": 3, "tumour": 4}
CENTRES = {"liver": (8, 8, 4), "spleen": (24, 8, 4), "kidney": (8, 24, 4), "tumour": (24, 24, 4)}
BIG, TINY = (7, 7, 3), (3, 3, 2)  # axial guide slice of about 150 and 28 pixels: prompted, and skipped
#: The toy cases: objects with their size. c5's only object is too small to prompt; c6's label file is corrupt.
TOY_CASES: dict[str, dict[str, tuple[int, int, int]]] = {
    "c0": {"liver": BIG},
    "c1": {"liver": BIG, "spleen": BIG},
    "c2": {"liver": BIG, "kidney": BIG, "tumour": TINY},
    "c3": {"liver": BIG, "tumour": BIG},
    "c4": {"spleen": BIG},
    "c5": {"kidney": TINY},
    "c6": {"liver": BIG},
}
PROMPTABLE = {case: {name for name, radii in objects.items() if radii == BIG} for case, objects in TOY_CASES.items()
              if case != "c6"}


@pytest.fixture(scope="module")
def demo(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("reader-demo")
    catalog = load_catalog()
    home = DataHome(root / "home")
    build_demo(home, root / "sources", catalog=catalog)
    return SimpleNamespace(home=home, catalog=catalog, readers=[home.open_reader(card) for card in catalog.demo])


@pytest.fixture(scope="module")
def toy(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("reader-toy")
    write_card(root / "cards", "T1", {str(value): name for name, value in LABELS.items()})
    rng = np.random.default_rng(0)
    for case_id, objects in TOY_CASES.items():
        label = np.zeros(SHAPE, dtype=np.uint8)
        for name, radii in objects.items():
            label[blob(SHAPE, CENTRES[name], radii)] = LABELS[name]
        write_nifti(root / "src" / "imagesTr" / f"{case_id}.nii.gz", (rng.normal(0, 5, SHAPE) + 50 * label)
                    .astype(np.int16))
        write_nifti(root / "src" / "labelsTr" / f"{case_id}.nii.gz", label)
    (root / "src" / "labelsTr" / "c6.nii.gz").write_bytes(b"not a NIfTI file")
    catalog = load_catalog(root / "cards")
    home = DataHome(root / "home")
    home.install(catalog.get("T1"), root / "src")
    return SimpleNamespace(home=home, readers=[home.open_reader(catalog.get("T1"))])


def check_sample(sample: ReaderSample, readers: list, n: int) -> None:  # type: ignore[type-arg]
    """n volumes, each listed once with one object, the objects distinct, each one the protocol prompts there,
    with the guide slice and boxes that simulate_object draws for the run seed."""
    items = sample.assignments
    assert len(items) == n
    assert len({(a.dataset_id, a.case_id) for a in items}) == n
    assert len({a.object_name for a in items}) == n
    by_id = {reader.card.id: reader for reader in readers}
    for item in items:
        reader = by_id[item.dataset_id]
        (entry,) = [e for e in reader.discover().entries if e.case_id == item.case_id]
        case = reader.open_case(entry)
        assert item.data_version == case.data_version != ""
        key = ObjectKey(item.dataset_id, item.case_id, item.object_name, DEFAULT_POINT.key)
        drawn = simulate_object(case.mask(item.object_name), key, DEFAULT_POINT, ProtocolOptions(seed=sample.seed))
        assert isinstance(drawn, ObjectPrompts)
        assert item.prompts.guide_slice == drawn.slice_index
        assert item.prompts.box2d == drawn.box2d.box and item.prompts.box3d == drawn.box3d.box


@pytest.mark.slow
def test_demo_sample_of_two(demo: SimpleNamespace) -> None:
    sample = sample_volumes(demo.readers, n=2, seed=0)
    check_sample(sample, demo.readers, 2)
    assert {a.object_name for a in sample.assignments} == {"liver", "kidney"}
    assert sample.cases_total == 42 and sample.cases_read < sample.cases_total  # stopped early
    assert sample.errors == ()


@pytest.mark.slow
def test_demo_cannot_give_three(demo: SimpleNamespace) -> None:
    # Every demo case holds liver, kidney, vessel and lesion, but only liver and kidney have a guide slice of more
    # than 100 pixels.
    with pytest.raises(InsufficientDataError) as raised:
        sample_volumes(demo.readers, n=3, seed=0)
    error = raised.value
    assert (error.possible_volumes, error.distinct_objects, error.volumes_with_objects) == (2, 2, 42)
    assert str(error) == ("the installed data cannot give 3 volumes with distinct objects: at most 2 volume(s) can "
                          "each be assigned an object no other volume has, over 2 distinct promptable object(s) "
                          "(kidney, liver) in 42 of 42 volume(s); ask for --n 2 or fewer, or add datasets")


@pytest.mark.slow
def test_demo_manifest_is_byte_identical_for_one_seed(demo: SimpleNamespace, tmp_path: Path) -> None:
    paths = [write_manifest(tmp_path / f"{name}.csv", sample_volumes(demo.readers, n=2, seed=seed))
             for name, seed in (("first", 5), ("again", 5), ("other", 6))]
    first, again, other = (p.read_bytes() for p in paths)
    assert first == again
    assert first != other
    reversed_readers = sample_volumes(demo.readers[::-1], n=2, seed=5)  # the order datasets are given in is moot
    assert write_manifest(tmp_path / "reversed.csv", reversed_readers).read_bytes() == first


def seeded_prefix_length(seed: int, n: int) -> int:
    """The documented stopping rule, computed independently: volumes sorted by (dataset, case), permuted by
    default_rng(seed), read until a brute-force matching of the volumes read reaches n."""
    order = [sorted(TOY_CASES)[i] for i in np.random.default_rng(seed).permutation(len(TOY_CASES))]
    for length in range(1, len(order) + 1):
        if brute_force_size([PROMPTABLE.get(case, set()) for case in order[:length]]) >= n:
            return length
    raise AssertionError(f"no prefix reaches {n}")


@pytest.mark.parametrize("seed", range(6))
def test_toy_sample_is_a_maximum_matching_of_the_shortest_prefix(toy: SimpleNamespace, seed: int) -> None:
    sample = sample_volumes(toy.readers, n=4, seed=seed)
    check_sample(sample, toy.readers, 4)
    assigned = {a.case_id: a.object_name for a in sample.assignments}
    # kidney and tumour are promptable in one volume each (c2's tumour is too small), so the matching must use them
    assert assigned["c2"] == "kidney" and assigned["c3"] == "tumour"
    assert "c5" not in assigned and "c6" not in assigned
    assert sample.cases_read == seeded_prefix_length(seed, 4)
    corrupt_read = "c6" in _read_cases(seed, sample.cases_read)
    assert [e.case_id for e in sample.errors] == (["c6"] if corrupt_read else [])


def test_toy_sample_reads_little_for_a_small_n(toy: SimpleNamespace) -> None:
    calls: list[tuple[int, int]] = []
    sample = sample_volumes(toy.readers, n=1, seed=0, progress=lambda done, total: calls.append((done, total)))
    assert sample.cases_read == seeded_prefix_length(0, 1) == len(calls)
    assert calls[-1] == (sample.cases_read, len(TOY_CASES))


def test_toy_seeds_vary_the_sample(toy: SimpleNamespace) -> None:
    samples = {tuple((a.case_id, a.object_name) for a in sample_volumes(toy.readers, n=2, seed=seed).assignments)
               for seed in range(8)}
    assert len(samples) > 1


def test_toy_cannot_give_five_and_records_the_corrupt_case(toy: SimpleNamespace) -> None:
    with pytest.raises(InsufficientDataError) as raised:
        sample_volumes(toy.readers, n=5, seed=0)
    error = raised.value
    assert (error.possible_volumes, error.distinct_objects, error.volumes_with_objects) == (4, 4, 5)
    assert "(kidney, liver, spleen, tumour) in 5 of 7 volume(s); 1 case(s) or file(s) could not be read" in str(error)


def test_corrupt_case_is_recorded_and_the_sample_goes_on(toy: SimpleNamespace) -> None:
    # seed chosen so that the corrupt case c6 comes before the matching reaches 4
    seed = next(s for s in range(50) if "c6" in _read_cases(s, seeded_prefix_length(s, 4)))
    sample = sample_volumes(toy.readers, n=4, seed=seed)
    (error,) = sample.errors
    assert (error.dataset_id, error.case_id) == ("T1", "c6")
    assert "labelsTr/c6.nii.gz: not a readable NIfTI" in error.message
    assert len(sample.assignments) == 4


def _read_cases(seed: int, length: int) -> list[str]:
    return [sorted(TOY_CASES)[i] for i in np.random.default_rng(seed).permutation(len(TOY_CASES))][:length]


@pytest.mark.parametrize("n", [0, -1, True])
def test_bad_n(toy: SimpleNamespace, n: int) -> None:
    with pytest.raises(ValueError, match="argument n: expected a number of volumes of at least 1"):
        sample_volumes(toy.readers, n=n, seed=0)


def test_dataset_given_twice(toy: SimpleNamespace) -> None:
    with pytest.raises(ValueError, match=r"each dataset once, got \['T1', 'T1'\]"):
        sample_volumes(toy.readers * 2, n=1, seed=0)
