"""Tests of benchmark.data.geometry: canonical reorientation, header reads, 4D channels, read errors, grid checks."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from benchmark.data.geometry import Geometry, check_same_grid, read_header, read_volume
from benchmark.errors import GeometryMismatchError, ImageReadError
from tests.synthetic import ras_affine, write_nifti

SHAPE = (7, 6, 5)  # (X, Y, Z) of the file, before reorientation

# Voxel-to-world (RAS) affines a file may carry, written out as (4, 4) matrices.
AFFINES = {
    "ras": ras_affine((0.8, 0.9, 2.5), (10.0, -20.0, 5.0)),
    "lps": np.array([[-0.8, 0, 0, 30.0], [0, -0.9, 0, 40.0], [0, 0, 2.5, -7.0], [0, 0, 0, 1]]),
    "flipped_z": np.array([[0.8, 0, 0, 0.0], [0, 0.9, 0, 0.0], [0, 0, -2.5, 12.0], [0, 0, 0, 1]]),
    # file axis 0 runs along S, axis 1 along -R, axis 2 along A (a sagittal-like acquisition)
    "permuted": np.array([[0, -0.9, 0, 5.0], [0, 0, 2.5, -3.0], [0.8, 0, 0, 1.0], [0, 0, 0, 1]]),
}


def _ramp(shape: tuple[int, ...] = SHAPE) -> np.ndarray:
    """Distinct int16 value per voxel, so any axis flip or permutation shows."""
    return np.arange(int(np.prod(shape)), dtype=np.int16).reshape(shape)


@pytest.mark.parametrize("name", sorted(AFFINES))
def test_read_volume_matches_nibabel_closest_canonical(tmp_path: Path, name: str) -> None:
    path = write_nifti(tmp_path / f"{name}.nii.gz", _ramp(), AFFINES[name])
    expected = nib.as_closest_canonical(nib.load(str(path)))

    volume = read_volume(path)

    np.testing.assert_array_equal(volume.array, np.asarray(expected.dataobj))
    np.testing.assert_allclose(volume.geometry.affine, expected.affine, atol=1e-4)
    assert volume.geometry.shape == expected.shape
    np.testing.assert_allclose(volume.geometry.spacing, expected.header.get_zooms(), atol=1e-5)
    assert volume.source == path


def test_lps_file_is_flipped_in_x_and_y(tmp_path: Path) -> None:
    data = _ramp()
    path = write_nifti(tmp_path / "lps.nii.gz", data, AFFINES["lps"])

    volume = read_volume(path)

    np.testing.assert_array_equal(volume.array, data[::-1, ::-1, :])
    assert np.all(np.diag(volume.geometry.affine)[:3] > 0)


@pytest.mark.parametrize(
    "name", sorted(AFFINES))
def test_header_only_read_gives_the_full_reads_geometry(tmp_path: Path, name: str) -> None:
    path = write_nifti(tmp_path / f"{name}.nii.gz", _ramp(), AFFINES[name])

    geometry, channels = read_header(path)

    assert geometry == read_volume(path).geometry
    assert geometry.spacing == pytest.approx(read_volume(path).geometry.spacing)
    assert channels == 1


def test_four_d_multichannel_file_gives_channels_first(tmp_path: Path) -> None:
    channels = np.stack([_ramp() + 1000 * c for c in range(4)], axis=-1)  # (X, Y, Z, C) as MSD stores it
    path = write_nifti(tmp_path / "brats.nii.gz", channels, AFFINES["lps"])

    volume = read_volume(path)
    geometry, n_channels = read_header(path)

    assert volume.array.shape == (4, *SHAPE)
    assert volume.n_channels == 4 and n_channels == 4
    for c in range(4):
        np.testing.assert_array_equal(volume.array[c], (_ramp() + 1000 * c)[::-1, ::-1, :])
    assert geometry == volume.geometry


@pytest.mark.parametrize("ending", [".nii.gz", ".nii"])
def test_truncated_nifti_raises_image_read_error_naming_the_file(tmp_path: Path, ending: str) -> None:
    data = np.random.default_rng(0).integers(0, 1000, (40, 40, 40)).astype(np.int16)
    path = write_nifti(tmp_path / f"whole{ending}", data)
    cut = tmp_path / f"cut{ending}"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    with pytest.raises(ImageReadError, match=f"cut{ending}"):
        read_volume(cut)


def test_nifti_cut_inside_its_header_raises_image_read_error(tmp_path: Path) -> None:
    path = write_nifti(tmp_path / "whole.nii.gz", _ramp())
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(path.read_bytes()[:60])

    with pytest.raises(ImageReadError, match="cut.nii.gz"):
        read_volume(cut)


@pytest.mark.parametrize("ending", [".nrrd", ".mha"])
def test_truncated_nrrd_and_mha_raise_image_read_error(tmp_path: Path, ending: str) -> None:
    import SimpleITK as sitk

    path = tmp_path / f"whole{ending}"
    sitk.WriteImage(sitk.GetImageFromArray(np.random.default_rng(0).integers(0, 1000, (20, 20, 20))), str(path))
    cut = tmp_path / f"cut{ending}"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    with pytest.raises(ImageReadError, match=f"cut{ending}"):
        read_volume(cut)


def test_not_an_image_raises_image_read_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.nii.gz"
    path.write_bytes(b"not an image at all")

    with pytest.raises(ImageReadError, match="notes.nii.gz"):
        read_volume(path)
    with pytest.raises(ImageReadError, match="notes.nii.gz"):
        read_header(path)


def test_missing_file_raises_image_read_error(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="absent.nii.gz"):
        read_volume(tmp_path / "absent.nii.gz")


def test_check_same_grid_names_both_files(tmp_path: Path) -> None:
    image = Geometry((4, 4, 4), (1.0, 1.0, 1.0), ras_affine())
    shifted = Geometry((4, 4, 4), (1.0, 1.0, 1.0), ras_affine(origin=(0.5, 0.0, 0.0)))
    image_path, label_path = tmp_path / "img.nii.gz", tmp_path / "lbl.nii.gz"

    with pytest.raises(GeometryMismatchError) as info:
        check_same_grid(image, shifted, what="label", reference_path=image_path, other_path=label_path)

    assert "img.nii.gz" in str(info.value) and "lbl.nii.gz" in str(info.value)


def test_check_same_grid_rejects_another_shape_and_accepts_tiny_differences() -> None:
    image = Geometry((4, 4, 4), (1.0, 1.0, 1.0), ras_affine())
    with pytest.raises(GeometryMismatchError, match=r"\(4, 4, 5\)"):
        check_same_grid(image, Geometry((4, 4, 5), (1.0, 1.0, 1.0), ras_affine()), what="channel",
                        reference_path=None, other_path=None)
    nearly = Geometry((4, 4, 4), (1.0, 1.0, 1.0), ras_affine(origin=(1e-5, 0.0, 0.0)))
    check_same_grid(image, nearly, what="channel", reference_path=None, other_path=None)


def test_geometry_rejects_a_bad_affine() -> None:
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        Geometry((1, 1, 1), (1.0, 1.0, 1.0), np.eye(3))


def _converted(tmp_path: Path, ending: str, *, compress: bool) -> tuple[Path, np.ndarray]:
    """A NIfTI converted to another format by SimpleITK, which copies NIfTI keys (vox_offset, bitpix, dim[i]) into
    the new file's header."""
    import SimpleITK as sitk

    data = np.random.default_rng(0).integers(0, 1000, (30, 25, 20)).astype(np.int16)
    source = write_nifti(tmp_path / "source.nii.gz", data)
    path = tmp_path / f"converted{ending}"
    sitk.WriteImage(sitk.ReadImage(str(source)), str(path), compress)
    assert sitk.ReadImage(str(path)).HasMetaDataKey("vox_offset")  # the trap: NIfTI keys in a non-NIfTI file
    return path, data


@pytest.mark.parametrize("ending", [".mha", ".nrrd"])
def test_compressed_mha_and_nrrd_with_nifti_keys_read_whole(tmp_path: Path, ending: str) -> None:
    path, data = _converted(tmp_path, ending, compress=True)

    np.testing.assert_array_equal(read_volume(path).array, data)


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("ending", [".mha", ".nrrd"])
def test_truncated_mha_and_nrrd_are_refused_by_their_own_format(tmp_path: Path, ending: str, compress: bool) -> None:
    path, _ = _converted(tmp_path, ending, compress=compress)
    cut = tmp_path / f"cut{ending}"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])

    with pytest.raises(ImageReadError, match=f"cut{ending}"):
        read_volume(cut)


def test_a_mirrored_origin_is_another_grid() -> None:
    # Same shape, spacing and directions; the origin's x and y mirrored through 0: one grid must not pass for the other.
    image = Geometry((4, 4, 4), (1.0, 1.0, 1.0), ras_affine(origin=(100.0, 120.0, 30.0)))
    mirrored = Geometry((4, 4, 4), (1.0, 1.0, 1.0), ras_affine(origin=(-100.0, -120.0, 30.0)))

    assert image != mirrored and mirrored != image
    with pytest.raises(GeometryMismatchError, match=r"origin \(-100, -120, 30\).*origin \(100, 120, 30\)"):
        check_same_grid(image, mirrored, what="label", reference_path=None, other_path=None)
