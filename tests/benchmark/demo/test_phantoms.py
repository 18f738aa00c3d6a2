"""Phantoms of the demo collection: determinism, the promised shapes of every structure, intensities, bad specs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from benchmark.data.enums import Modality
from benchmark.demo.phantoms import CONTRASTS, Phantom, PhantomSpec, Structure, make_phantom

# (X, Y, Z) grids of the collection: anisotropic CT (KiTS-like), isotropic CT, isotropic two-channel MR.
ANISOTROPIC_CT = PhantomSpec((96, 96, 24), (0.8, 0.8, 5.0), noise=8.0)
ISOTROPIC_CT = PhantomSpec((96, 96, 32), (1.5, 1.5, 1.5), noise=8.0)
MR_TWO_CHANNELS = PhantomSpec((96, 96, 24), (1.2, 1.2, 1.2), channels=("T1", "T2"), noise=5.0)
SPECS = {"anisotropic-ct": ANISOTROPIC_CT, "isotropic-ct": ISOTROPIC_CT, "mr-t1-t2": MR_TWO_CHANNELS}
SEEDS = (0, 1, 2, 3)
ORGANS = (Structure.LIVER.value, Structure.KIDNEY.value)


@pytest.fixture(scope="module")
def phantoms() -> dict[tuple[str, int], Phantom]:
    """Every spec at every seed, built once for the module."""
    return {(name, seed): make_phantom(spec, np.random.default_rng(seed))
            for name, spec in SPECS.items() for seed in SEEDS}


def slice_areas(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` on each axial slice where it is present, shape (slices with the object,)."""
    areas: np.ndarray = mask.sum(axis=(0, 1))
    return areas[areas > 0]


def test_same_seed_gives_identical_arrays() -> None:
    first = make_phantom(ANISOTROPIC_CT, np.random.default_rng(7))
    second = make_phantom(ANISOTROPIC_CT, np.random.default_rng(7))
    assert all(np.array_equal(a, b) for a, b in zip(first.channels, second.channels, strict=True))
    assert all(np.array_equal(first.masks[name], second.masks[name]) for name in first.masks)


def test_different_seeds_differ(phantoms: dict[tuple[str, int], Phantom]) -> None:
    first, second = phantoms[("anisotropic-ct", 0)], phantoms[("anisotropic-ct", 1)]
    assert not np.array_equal(first.image, second.image)
    assert all(not np.array_equal(first.masks[name], second.masks[name]) for name in first.masks)


@pytest.mark.parametrize("name", SPECS)
def test_grid_channels_and_spacing_are_as_declared(phantoms: dict[tuple[str, int], Phantom], name: str) -> None:
    spec = SPECS[name]
    phantom = phantoms[(name, 0)]
    assert phantom.spacing == spec.spacing
    assert phantom.shape == spec.shape
    assert phantom.channel_names == spec.channels
    assert phantom.stacked().shape == (len(spec.channels), *spec.shape)
    assert all(channel.dtype == np.int16 for channel in phantom.channels)
    assert phantom.modality is (Modality.CT if spec.channels == ("CT",) else Modality.MR)


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_structure_is_present_boolean_and_disjoint(phantoms: dict[tuple[str, int], Phantom], name: str,
                                                         seed: int) -> None:
    phantom = phantoms[(name, seed)]
    assert set(phantom.masks) == {s.value for s in Structure}
    total = np.zeros(phantom.shape, dtype=np.int32)
    for mask in phantom.masks.values():
        assert mask.dtype == np.bool_ and mask.shape == phantom.shape and mask.any()
        total += mask
    assert total.max() == 1


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("seed", SEEDS)
def test_liver_cross_section_changes_strongly_along_z(phantoms: dict[tuple[str, int], Phantom], name: str,
                                                      seed: int) -> None:
    areas = slice_areas(phantoms[(name, seed)].masks[Structure.LIVER.value])
    large = areas[areas > 100]
    # Even among slices big enough to be Box2Mask samples, the largest is at least twice the smallest ...
    assert large.max() / large.min() >= 2.0
    # ... and the area moves from slice to slice, not only at the ends.
    assert np.median(np.abs(np.diff(areas)) / areas[1:]) >= 0.02


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("seed", SEEDS)
def test_organs_exceed_100_pixels_on_most_slices(phantoms: dict[tuple[str, int], Phantom], name: str,
                                                 seed: int) -> None:
    phantom = phantoms[(name, seed)]
    for organ in ORGANS:
        areas = slice_areas(phantom.masks[organ])
        assert np.mean(areas > 100) >= 0.6, (organ, areas)


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("seed", SEEDS)
def test_vessel_is_a_thin_tube_through_most_slices(phantoms: dict[tuple[str, int], Phantom], name: str,
                                                   seed: int) -> None:
    phantom = phantoms[(name, seed)]
    vessel = phantom.masks[Structure.VESSEL.value]
    areas = slice_areas(vessel)
    assert areas.size >= 0.8 * phantom.shape[2]
    assert areas.max() <= np.pi * 3.0**2  # radius at most 3 voxels
    for z in np.flatnonzero(vessel.any(axis=(0, 1))):
        depth = ndimage.distance_transform_edt(vessel[:, :, z])
        assert depth.max() <= 3.0
    _, components = ndimage.label(vessel)
    assert components == 1


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("seed", SEEDS)
def test_lesions_are_small_and_surrounded_by_liver(phantoms: dict[tuple[str, int], Phantom], name: str,
                                                   seed: int) -> None:
    phantom = phantoms[(name, seed)]
    lesion, liver = phantom.masks[Structure.LESION.value], phantom.masks[Structure.LIVER.value]
    assert slice_areas(lesion).max() <= 100
    shell = ndimage.binary_dilation(lesion) & ~lesion  # face neighbours of the lesion
    assert shell.any() and np.all(liver[shell])
    _, components = ndimage.label(lesion)
    assert 1 <= components <= 2


@pytest.mark.parametrize("name", ["anisotropic-ct", "isotropic-ct"])
def test_ct_intensities_are_hounsfield_units(phantoms: dict[tuple[str, int], Phantom], name: str) -> None:
    phantom = phantoms[(name, 0)]
    image = phantom.image.astype(np.float64)
    liver, lesion = phantom.masks[Structure.LIVER.value], phantom.masks[Structure.LESION.value]
    assert abs(image[liver].mean() - CONTRASTS["CT"][4]) < 15
    assert image[liver].mean() - image[lesion].mean() > 30  # hypodense lesions
    assert abs(image[0, 0, :].mean() + 1000) < 15  # air at the corner
    assert 3 < image[0, :, :].std() < 20  # noise


def test_mr_channels_are_two_contrasts(phantoms: dict[tuple[str, int], Phantom]) -> None:
    phantom = phantoms[("mr-t1-t2", 0)]
    t1, t2 = (channel.astype(np.float64) for channel in phantom.channels)
    liver, vessel = phantom.masks[Structure.LIVER.value], phantom.masks[Structure.VESSEL.value]
    assert t1.min() >= 0 and t2.min() >= 0
    assert t1[liver].mean() > t1[vessel].mean() and t2[liver].mean() < t2[vessel].mean()


def test_mr_bias_field_spreads_a_tissue_s_intensities() -> None:
    # Same seed: same anatomy, texture and noise; only the bias amplitude differs.
    flat = make_phantom(replace(MR_TWO_CHANNELS, bias=0.0), np.random.default_rng(5))
    biased = make_phantom(replace(MR_TWO_CHANNELS, bias=0.3), np.random.default_rng(5))
    liver = flat.masks[Structure.LIVER.value]
    assert np.array_equal(liver, biased.masks[Structure.LIVER.value])
    assert biased.image[liver].std() > 1.2 * flat.image[liver].std()


def test_arrays_are_read_only(phantoms: dict[tuple[str, int], Phantom]) -> None:
    phantom = phantoms[("anisotropic-ct", 0)]
    with pytest.raises(ValueError):
        phantom.image[0, 0, 0] = 0
    with pytest.raises(ValueError):
        phantom.masks[Structure.LIVER.value][0, 0, 0] = True


def test_label_map_uses_the_given_values(phantoms: dict[tuple[str, int], Phantom]) -> None:
    phantom = phantoms[("anisotropic-ct", 0)]
    values = {Structure.LIVER.value: 3, Structure.LESION.value: 7}
    label = phantom.label_map(values)
    assert label.dtype == np.uint8 and set(np.unique(label)) == {0, 3, 7}
    assert np.array_equal(label == 7, phantom.masks[Structure.LESION.value])
    with pytest.raises(KeyError, match="spleen"):
        phantom.label_map({"spleen": 1})


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"shape": (96, 96, 8), "spacing": (1.0, 1.0, 1.0)}, r"shape .* at least 16 .*\(96, 96, 8\)"),
    ({"shape": (32, 32, 32), "spacing": (1.0, 0.0, 1.0)}, r"spacing .* positive .*\(1.0, 0.0, 1.0\)"),
    ({"shape": (32, 32, 32), "spacing": (1.0, 1.0, 1.0), "channels": ("PD",)}, r"channels .*'PD'"),
    ({"shape": (32, 32, 32), "spacing": (1.0, 1.0, 1.0), "channels": ("CT", "T1")}, r"mixes CT .*'T1'"),
    ({"shape": (32, 32, 32), "spacing": (1.0, 1.0, 1.0), "noise": -1.0}, r"noise=-1.0"),
])
def test_bad_specs_are_refused_with_the_value(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PhantomSpec(**kwargs)  # type: ignore[arg-type]
