"""NIfTI read without ITK (benchmark/data/nifti.py, through benchmark.data.geometry): agreement with SimpleITK on
random headers, NaN kept, exact truncation lengths, gzip members, byte order and NIfTI-2."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from benchmark.data import nifti
from benchmark.data.geometry import read_header, read_volume, volume_from_sitk
from benchmark.errors import ImageReadError
from tests.synthetic import ras_affine, write_nifti


def _random_file(rng: np.random.Generator, path: Path) -> Path:
    """A NIfTI-1 file with a random grid, qform/sform codes, voxel type and scaling."""
    from scipy.spatial.transform import Rotation

    zooms = rng.uniform(0.3, 4, 3)
    rotation = (Rotation.random(random_state=int(rng.integers(1 << 30))).as_matrix() if rng.random() < 0.3
                else np.eye(3)[rng.permutation(3)] * rng.choice([-1, 1], 3))
    qform = np.eye(4)
    qform[:3, :3], qform[:3, 3] = rotation * zooms, rng.uniform(-200, 200, 3)
    sform = qform.copy()
    sform[:3, 3] += rng.uniform(-5, 5, 3)  # so that it shows which transform was taken
    shape = tuple(int(n) for n in rng.integers(2, 7, 3))
    dtype = rng.choice([np.int16, np.uint8, np.float32, np.float64, np.int32, np.uint16])
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(dtype)
    header.set_qform(qform, int(rng.choice([0, 1, 2])))
    header.set_sform(sform, int(rng.choice([0, 1, 2, 3, 4])))
    if rng.random() < 0.3:
        header.set_slope_inter(float(rng.choice([0.5, 2.0])), float(rng.choice([0.0, -1024.0, 3.5])))
    image = nib.Nifti1Image(rng.integers(0, 200, shape).astype(dtype), None, header)
    image.header.set_zooms(zooms)
    nib.save(image, str(path))
    return path


def test_grid_voxels_and_type_agree_with_simpleitk_on_random_headers(tmp_path: Path) -> None:
    import SimpleITK as sitk

    rng = np.random.default_rng(7)
    compared = 0
    for index in range(120):
        path = _random_file(rng, tmp_path / f"f{index}{'.nii.gz' if index % 2 else '.nii'}")
        try:
            expected = volume_from_sitk(sitk.ReadImage(str(path)), path)
        except RuntimeError:  # ITK refuses some headers (a qform-less file with a skewed sform): so must we
            with pytest.raises(ImageReadError):
                read_volume(path)
            continue
        ours = read_volume(path)
        assert ours.geometry == expected.geometry, path
        assert ours.array.dtype == expected.array.dtype, path
        np.testing.assert_array_equal(ours.array, expected.array)
        assert read_header(path)[0] == expected.geometry
        compared += 1
    assert compared > 100


@pytest.mark.parametrize("ending", [".nii.gz", ".nii"])
def test_nan_and_inf_voxels_are_kept(tmp_path: Path, ending: str) -> None:
    import SimpleITK as sitk

    data = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    data[0, 0, 0], data[1, 2, 3], data[3, 4, 5] = np.nan, np.inf, -np.inf
    path = write_nifti(tmp_path / f"f{ending}", data)

    volume = read_volume(path)

    assert np.isnan(volume.array[0, 0, 0]) and volume.array[1, 2, 3] == np.inf and volume.array[3, 4, 5] == -np.inf
    # What this replaces: ITK's NIfTI reader gives 0 for each of them.
    assert sitk.GetArrayFromImage(sitk.ReadImage(str(path)))[0, 0, 0] == 0


def test_truncated_gzip_reports_both_lengths(tmp_path: Path) -> None:
    data = np.random.default_rng(0).integers(0, 1000, (40, 40, 40)).astype(np.int16)
    path = write_nifti(tmp_path / "whole.nii.gz", data)
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    declared = 352 + data.size * 2

    with pytest.raises(ImageReadError) as info:
        read_volume(cut)

    message = str(info.value)
    assert f"declares {declared} bytes" in message and "gzip stream ends early" in message
    found = int(message.split("ends early, after ")[1].split(" bytes")[0])
    assert 0 < found < declared  # a real count of decompressed bytes, not the random trailer of a cut file


def test_truncated_large_file_decoded_by_itk_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nifti, "ITK_MIN_BYTES", 0)  # every integer gzip file goes through ITK's decoder
    data = np.random.default_rng(1).integers(0, 1000, (30, 30, 30)).astype(np.int16)
    path = write_nifti(tmp_path / "whole.nii.gz", data)
    np.testing.assert_array_equal(read_volume(path).array, data)
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])

    with pytest.raises(ImageReadError, match=r"cut\.nii\.gz: file is truncated.*gzip stream ends early"):
        read_volume(cut)


@pytest.mark.parametrize("flipped", [False, True])
def test_multi_member_gzip_reads_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flipped: bool) -> None:
    # Members of 5000 bytes: member ends fall inside the header and inside planes, never on a plane boundary.
    data = np.random.default_rng(2).integers(0, 1000, (20, 20, 20)).astype(np.int16)
    affine = np.diag([-1.0, 1.0, -2.0, 1.0]) if flipped else ras_affine()
    raw = nib.Nifti1Image(data, affine).to_bytes()
    path = tmp_path / "bgzip.nii.gz"
    path.write_bytes(b"".join(gzip.compress(raw[i:i + 5000]) for i in range(0, len(raw), 5000)))
    expected = data[::-1, :, ::-1] if flipped else data

    np.testing.assert_array_equal(read_volume(path).array, expected)
    monkeypatch.setattr(nifti, "_CHUNK", 1000)  # pieces smaller than a plane: one plane per piece
    np.testing.assert_array_equal(read_volume(path).array, expected)
    monkeypatch.setattr(nifti, "ITK_MIN_BYTES", 0)  # the length check of the ITK path decompresses every member
    np.testing.assert_array_equal(read_volume(path).array, expected)


def test_big_endian_and_nifti2_files(tmp_path: Path) -> None:
    data = np.arange(3 * 4 * 5, dtype=np.int16).reshape(3, 4, 5)
    header = nib.Nifti1Header(endianness=">")
    header.set_data_dtype(np.int16)
    nib.save(nib.Nifti1Image(data, ras_affine((0.5, 0.6, 2.0)), header), str(tmp_path / "big.nii"))
    assert nib.load(str(tmp_path / "big.nii")).header.endianness == ">"
    two = nib.Nifti2Image(data, ras_affine((0.5, 0.6, 2.0)))
    nib.save(two, str(tmp_path / "two.nii.gz"))

    for name in ("big.nii", "two.nii.gz"):
        volume = read_volume(tmp_path / name)
        np.testing.assert_array_equal(volume.array, data)
        assert volume.geometry.spacing == pytest.approx((0.5, 0.6, 2.0))


def test_trailing_axes_of_size_one_are_dropped_as_itk_does(tmp_path: Path) -> None:
    data = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5, 1)
    volume = read_volume(write_nifti(tmp_path / "x.nii.gz", data))
    assert volume.array.shape == (3, 4, 5)


def test_pythons_zlib_gives_the_same_voxels_as_the_faster_inflate(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import zlib

    data = np.random.default_rng(3).normal(0, 100, (20, 18, 9)).astype(np.float32)
    data[1, 2, 3] = np.nan
    path = write_nifti(tmp_path / "f.nii.gz", data)
    first = read_volume(path).array
    monkeypatch.setattr(nifti, "_INFLATE", zlib)  # the path taken when python-isal is not installed

    np.testing.assert_array_equal(read_volume(path).array, first)
    np.testing.assert_array_equal(first, data)
