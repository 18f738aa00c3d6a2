from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest

from benchmark.errors import CaseLoadError, ImageReadError
from benchmark.fingerprint.case import CaseFingerprint, fingerprint_case
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
