"""Tests of benchmark.data.case: lazy reads, the mask grid check and the channel count check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from benchmark.data.case import Case, CaseEntry
from benchmark.data.geometry import Geometry, Volume
from benchmark.errors import CaseLoadError, GeometryMismatchError
from tests.synthetic import labelled_phantom, ras_affine

SHAPE = (24, 20, 12)
GRID = Geometry(SHAPE, (1.0, 1.0, 2.0), ras_affine((1.0, 1.0, 2.0)))
IMAGE_PATH = Path("/data/case/image.nii.gz")
LABEL_PATH = Path("/data/case/label.nii.gz")


class Counter:
    """Counts calls of the loaders a Case is given."""

    def __init__(self) -> None:
        self.image = 0
        self.masks: list[str] = []


def _case(counter: Counter, *, channels: tuple[str, ...] = ("CT",), image: np.ndarray | None = None,
          mask_grid: Geometry = GRID, geometry: Geometry | None = None) -> Case:
    phantom, label = labelled_phantom(SHAPE)
    array = phantom if image is None else image

    def load_image() -> Volume:
        counter.image += 1
        return Volume(array, GRID, IMAGE_PATH)

    def load_mask(name: str) -> Volume:
        counter.masks.append(name)
        value = {"liver": 1, "tumour": 2}[name]
        return Volume(label == value, mask_grid, LABEL_PATH)

    entry = CaseEntry("case_1", (IMAGE_PATH,), (LABEL_PATH,))
    return Case(dataset_id="T1", entry=entry, modality="CT", channel_names=channels, objects=("liver", "tumour"),
                load_image=load_image, load_mask=load_mask, geometry=geometry)


def test_nothing_is_read_until_asked() -> None:
    counter = Counter()
    case = _case(counter)

    assert counter.image == 0 and counter.masks == []
    assert case.case_id == "case_1" and case.dataset_id == "T1"
    assert case.image.shape == (1, *SHAPE)  # a 3D image gets its channel axis
    assert counter.image == 1
    _ = case.image, case.spacing, case.spatial_shape
    assert counter.image == 1


def test_geometry_from_the_reader_avoids_reading_the_image() -> None:
    counter = Counter()
    case = _case(counter, geometry=GRID)

    assert case.spatial_shape == SHAPE and case.spacing == (1.0, 1.0, 2.0)
    np.testing.assert_array_equal(case.affine, GRID.affine)
    assert counter.image == 0


def test_masks_are_read_once_each_and_boolean() -> None:
    counter = Counter()
    case = _case(counter, geometry=GRID)

    liver = case.mask("liver")
    again = case.mask("liver")
    masks = case.masks()

    assert liver.dtype == bool and liver.shape == SHAPE and liver.any()
    assert again is liver
    assert set(masks) == {"liver", "tumour"}
    assert counter.masks == ["liver", "tumour"]


def test_release_drops_cached_voxels() -> None:
    counter = Counter()
    case = _case(counter)
    _ = case.image, case.mask("liver")

    case.release()
    _ = case.image, case.mask("liver")

    assert counter.image == 2 and counter.masks == ["liver", "liver"]


def test_unknown_object_raises_key_error_naming_the_objects() -> None:
    case = _case(Counter())
    with pytest.raises(KeyError, match="spleen"):
        case.mask("spleen")


def test_mask_on_another_grid_raises_naming_both_files() -> None:
    shifted = Geometry(SHAPE, (1.0, 1.0, 2.0), ras_affine((1.0, 1.0, 2.0), origin=(3.0, 0.0, 0.0)))
    case = _case(Counter(), mask_grid=shifted)

    with pytest.raises(GeometryMismatchError) as info:
        case.mask("liver")

    assert str(IMAGE_PATH) in str(info.value) and str(LABEL_PATH) in str(info.value)


@pytest.mark.parametrize(
    ("channels", "make"),
    [
        (("T1", "T2"), lambda a: a),  # (X, Y, Z) file for a two-channel card
        (("CT",), lambda a: np.stack([a, a, a])),  # (3, X, Y, Z) file for a one-channel card
    ],
)
def test_channel_count_must_match_the_card(channels: tuple[str, ...],
                                           make: Callable[[np.ndarray], np.ndarray]) -> None:
    phantom, _ = labelled_phantom(SHAPE)
    case = _case(Counter(), channels=channels, image=make(phantom))

    with pytest.raises(CaseLoadError, match="image.nii.gz") as info:
        _ = case.image

    assert "channel" in str(info.value) and str(len(channels)) in str(info.value)


def test_multichannel_image_keeps_channel_order() -> None:
    phantom, _ = labelled_phantom(SHAPE)
    case = _case(Counter(), channels=("T1", "T2"), image=np.stack([phantom, phantom + 1]))

    assert case.image.shape == (2, *SHAPE)
    np.testing.assert_array_equal(case.image[1] - case.image[0], 1)
    assert case.channel_names == ("T1", "T2")
