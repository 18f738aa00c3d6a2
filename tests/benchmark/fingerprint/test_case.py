from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest

from benchmark.errors import CaseLoadError, ImageReadError
from benchmark.fingerprint.case import INTENSITY_SAMPLES, CaseFingerprint, fingerprint_case
from tests.benchmark.fingerprint.helpers import case_from_arrays
from tests.synthetic import ras_affine, write_nifti


def _box_case(tmp_path: Path):  # type: ignore[no-untyped-def]
    # Image (X, Y, Z) = (20, 16, 10) at 0.5 x 0.5 x 2 mm; object "a" is a 4 x 5 x 3 block on slices 2..4,
    # object "b" a 10 x 11 x 6 block on slices 3..8; "c" is absent.
    image = np.zeros((20, 16, 10), dtype=np.int16)
    a = np.zeros(image.shape, dtype=bool)
    a[1:5, 2:7, 2:5] = True
    b = np.zeros(image.shape, dtype=bool)
    b[8:18, 3:14, 3:9] = True
    image[a] = 50
    image[b] = 100
    return case_from_arrays(tmp_path, "c1", image, {"a": a, "b": b, "c": np.zeros(image.shape, bool)}, (0.5, 0.5, 2.0))


def test_header_pass_matches_files(tmp_path: Path) -> None:
    fp = fingerprint_case(_box_case(tmp_path), full=False, n_card_channels=1)
    assert fp.shape == (20, 16, 10)
    assert fp.spacing == pytest.approx((0.5, 0.5, 2.0))
    assert fp.voxels == 3200
    assert fp.size_anisotropy == pytest.approx(10 / 20)
    assert fp.spacing_anisotropy == pytest.approx(0.5 / 2.0)
    assert fp.objects == () and not fp.full


def test_full_pass_object_statistics_by_hand(tmp_path: Path) -> None:
    fp = fingerprint_case(_box_case(tmp_path), full=True, n_card_channels=1)
    stats = {o.name: o for o in fp.objects}
    assert stats["a"].voxels == 4 * 5 * 3
    assert stats["a"].volume_mm3 == pytest.approx(60 * 0.5 * 0.5 * 2.0)
    assert stats["a"].axial_extent_mm == pytest.approx(3 * 2.0)
    assert stats["a"].slice_areas["axial"] == (0, 0, 20, 20, 20, 0, 0, 0, 0, 0)
    assert stats["b"].slice_areas["sagittal"][8:18] == (66,) * 10
    assert stats["b"].slice_areas["coronal"][3:14] == (60,) * 11
    assert not stats["c"].present and stats["c"].axial_extent_mm == 0.0
    (ct,) = fp.intensities
    assert ct.n_foreground == 60 + 660
    assert ct.mean == pytest.approx((60 * 50 + 660 * 100) / 720)
    assert ct.p00_5 == pytest.approx(50.0) and ct.p99_5 == pytest.approx(100.0)


def test_json_round_trip(tmp_path: Path) -> None:
    fp = fingerprint_case(_box_case(tmp_path), full=True, n_card_channels=1)
    assert CaseFingerprint.from_json(fp.to_json()) == fp


def test_intensity_sampling_is_seeded(tmp_path: Path) -> None:
    first = fingerprint_case(_box_case(tmp_path), full=True, n_card_channels=1, seed=3)
    second = fingerprint_case(_box_case(tmp_path), full=True, n_card_channels=1, seed=3)
    assert first.intensities == second.intensities


def test_4d_image_where_3d_expected(tmp_path: Path) -> None:
    case = case_from_arrays(tmp_path, "c4", np.zeros((6, 6, 4, 2), np.int16), {}, (1.0, 1.0, 1.0))
    with pytest.raises(CaseLoadError, match=r"c4\.nii\.gz.*2 channel"):
        fingerprint_case(case, full=False, n_card_channels=1)


def test_2d_image_where_3d_expected(tmp_path: Path) -> None:
    import SimpleITK as sitk

    path = tmp_path / "flat.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((8, 8), np.int16)), str(path))
    case = case_from_arrays(tmp_path, "ok", np.zeros((4, 4, 4), np.int16), {}, (1.0, 1.0, 1.0))
    object.__setattr__(case, "entry", type(case.entry)("flat", (path,), ()))
    with pytest.raises(ImageReadError, match=r"flat\.nii\.gz.*2D"):
        fingerprint_case(case, full=False, n_card_channels=1)


@pytest.mark.parametrize("bad", [0.0, math.nan])
def test_zero_or_nan_spacing(tmp_path: Path, bad: float) -> None:
    # ITK would silently read such a header as 1 mm; the suite refuses it. pixdim[3] sits at byte 88.
    path = write_nifti(tmp_path / "bad.nii", np.zeros((4, 4, 4), np.int16), ras_affine((1.0, 1.0, 1.0)))
    raw = bytearray(path.read_bytes())
    raw[88:92] = struct.pack("<f", bad)
    path.write_bytes(bytes(raw))
    case = case_from_arrays(tmp_path, "ok", np.zeros((4, 4, 4), np.int16), {}, (1.0, 1.0, 1.0))
    object.__setattr__(case, "entry", type(case.entry)("bad", (path,), ()))
    with pytest.raises(ImageReadError, match=r"bad\.nii.*spacing"):
        fingerprint_case(case, full=False, n_card_channels=1)


def _brute_force(case, fp) -> None:  # type: ignore[no-untyped-def]
    """Check a full fingerprint against one mask per object summed along each axis, and numpy on the foreground."""
    masks = case.masks()
    foreground = np.zeros(case.spatial_shape, bool)
    for stats in fp.objects:
        mask = masks[stats.name]
        foreground |= mask
        assert stats.voxels == int(mask.sum())
        assert stats.slice_areas["axial"] == tuple(int(a) for a in mask.sum(axis=(0, 1)))
        assert stats.slice_areas["coronal"] == tuple(int(a) for a in mask.sum(axis=(0, 2)))
        assert stats.slice_areas["sagittal"] == tuple(int(a) for a in mask.sum(axis=(1, 2)))
    for index, channel in enumerate(fp.intensities):
        values = case.image[index][foreground].astype(np.float64)
        assert channel.n_foreground == values.size
        assert channel.mean == pytest.approx(values.mean()) and channel.std == pytest.approx(values.std())
        assert (channel.p00_5, channel.p99_5) == (np.percentile(values, 0.5), np.percentile(values, 99.5))


@pytest.mark.parametrize("slab_voxels", [1 << 24, 700])  # one slab, and many slabs of a few slices
@pytest.mark.parametrize("affine", ["ras", "permuted"])  # canonical memory order, and a transposed one
def test_label_map_scan_equals_mask_by_mask_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, affine: str,
                                                   slab_voxels: int) -> None:
    from benchmark.data.dataset import open_reader
    from tests.cards import card
    from tests.synthetic import labelled_phantom

    monkeypatch.setattr("benchmark.fingerprint.foreground.SLAB_VOXELS", slab_voxels)
    matrix = (ras_affine((0.8, 0.9, 2.5)) if affine == "ras" else
              np.array([[0, -0.9, 0, 5.0], [0, 0, 2.5, -3.0], [0.8, 0, 0, 1.0], [0, 0, 0, 1]]))
    image, label = labelled_phantom((24, 20, 12), seed=4)
    label[label == 2] = 3  # a value on the card's ignore list: not an object, not foreground
    label[2:5, 2:5, 2:5] = 2
    write_nifti(tmp_path / "ds" / "imagesTr" / "c.nii.gz", image, matrix)
    write_nifti(tmp_path / "ds" / "labelsTr" / "c.nii.gz", label, matrix)
    reader = open_reader(card({"1": "liver", "2": "cyst"}, ignore=["3"], options={"dataset_json": ""}),
                         tmp_path / "ds")
    case = reader.open_case(reader.discover().entries[0])
    assert case.label_map() is not None  # the single-pass path is the one under test

    fp = fingerprint_case(case, full=True, n_card_channels=1)

    _brute_force(case, fp)
    assert [o.voxels for o in fp.objects] == [int((label == 1).sum()), 27]


def test_mask_files_scan_equals_mask_by_mask_counts(tmp_path: Path) -> None:
    fp = fingerprint_case(_box_case(tmp_path), full=True, n_card_channels=1)
    _brute_force(_box_case(tmp_path), fp)


def test_non_finite_image_voxels_are_counted_and_kept_out(tmp_path: Path) -> None:
    # A float image with NaN and +-Inf inside and outside the object. ITK's NIfTI reader would turn them into 0, which
    # then counts as intensity; here they are reported per case and left out of every statistic.
    image = np.full((8, 8, 6), 5.0, dtype=np.float32)
    image[1, 1, 1] = np.nan  # outside the object
    mask = np.zeros(image.shape, bool)
    mask[2:6, 2:6, 1:5] = True
    image[mask] = np.arange(mask.sum(), dtype=np.float32)
    image[3, 3, 2], image[4, 4, 3], image[2, 5, 4] = np.nan, np.inf, -np.inf
    case = case_from_arrays(tmp_path, "nan", image, {"organ": mask}, (1.0, 1.0, 1.0))

    (channel,) = fingerprint_case(case, full=True, n_card_channels=1).intensities

    finite = image[mask][np.isfinite(image[mask])].astype(np.float64)
    assert (channel.n_nonfinite, channel.n_nonfinite_foreground, channel.n_foreground) == (4, 3, mask.sum() - 3)
    assert channel.mean == pytest.approx(finite.mean()) and channel.p99_5 == np.percentile(finite, 99.5)
    assert channel.exact  # the finite values are whole numbers: kept as an exact histogram


def test_non_integer_intensities_keep_samples_drawn_with_replacement(tmp_path: Path) -> None:
    # 60 foreground voxels, fewer than INTENSITY_SAMPLES: drawn with replacement, the case still gives the full count.
    image = np.random.default_rng(0).normal(0.0, 1.0, (8, 8, 6)).astype(np.float32)
    mask = np.zeros(image.shape, bool)
    mask[2:5, 2:6, 1:6] = True
    case = case_from_arrays(tmp_path, "pet", image, {"lesion": mask}, (1.0, 1.0, 1.0))

    (channel,) = fingerprint_case(case, full=True, n_card_channels=1, seed=1).intensities

    assert not channel.exact and channel.values == () and len(channel.samples) == INTENSITY_SAMPLES
    assert set(channel.samples) <= {float(v) for v in image[mask]}
    assert channel.p99_5 == pytest.approx(np.percentile(image[mask].astype(np.float64), 99.5))
