"""Tests of propsam.training.samples: the 100-pixel rule, the 20 mm / 20-slice window, box jitter, tasks."""

from __future__ import annotations

import numpy as np
import pytest

from propsam.inference.planes import Plane
from propsam.training import SampleSettings, TrainingCase
from propsam.training.samples import adjacent_indices, box2mask_sample, build_index, eligible_slices, propmask_task


def _stepped_case(spacing: tuple[float, float, float] = (0.8, 0.8, 2.5)) -> TrainingCase:
    """(X, Y, Z) = (40, 40, 30); axial slice k holds a rectangle of known area."""
    mask = np.zeros((40, 40, 30), dtype=bool)
    mask[5:15, 5:15, 3] = True  # area 100: not eligible (must exceed 100)
    mask[5:15, 5:16, 4] = True  # 110
    mask[5:25, 5:25, 5:26] = True  # 400 on slices 5..25
    image = np.random.default_rng(0).normal(50.0, 5.0, mask.shape) + 100.0 * mask
    return TrainingCase("stepped", image, {"obj": mask}, spacing)


def test_only_slices_above_100_pixels_are_eligible() -> None:
    refs = eligible_slices(_stepped_case(), 0, SampleSettings(planes=(Plane.AXIAL,)))
    assert [r.index for r in refs] == [4, *range(5, 26)]
    assert {r.plane for r in refs} == {Plane.AXIAL}
    # Sagittal slice x holds, for x in 5..14, 10 + 1 + 21 * 20 = 431 pixels; for x in 15..24, 21 * 20 (+1 at x=15).
    sagittal = eligible_slices(_stepped_case(), 0, SampleSettings(planes=(Plane.SAGITTAL,)))
    assert [r.index for r in sagittal] == list(range(5, 25))


@pytest.mark.parametrize(("spacing", "expected_per_side"), [
    (2.5, 8),  # 20 mm / 2.5 mm
    (0.8, 20),  # 25 slices within 20 mm, capped at 20
    (7.0, 2),  # floor(20 / 7)
    (30.0, 1),  # thicker than the window: still one slice
])
def test_adjacent_window_in_mm_and_slices(spacing: float, expected_per_side: int) -> None:
    got = adjacent_indices(100, 50, spacing)
    assert got == [k for k in range(50 - expected_per_side, 50 + expected_per_side + 1) if k != 50]
    assert adjacent_indices(100, 1, spacing)[0] == 0  # clipped at the volume edge


def test_propmask_targets_stay_in_the_anisotropic_window() -> None:
    case = _stepped_case(spacing=(0.8, 0.8, 2.5))
    settings = SampleSettings(planes=(Plane.AXIAL, Plane.CORONAL))
    rng = np.random.default_rng(0)
    offsets: dict[Plane, set[int]] = {Plane.AXIAL: set(), Plane.CORONAL: set()}
    for ref in build_index([case], settings) * 2:
        task = propmask_task(case, ref, 32, rng, settings)
        assert task is not None and task.targets.shape == (4, 32, 32) and task.target_masks.dtype == bool
        offsets[ref.plane] |= set(task.offsets)
    assert max(abs(o) for o in offsets[Plane.AXIAL]) == 8 and 0 not in offsets[Plane.AXIAL]  # 2.5 mm along z
    # 0.8 mm along y: 25 slices lie within 20 mm, capped at 20 per side.
    assert offsets[Plane.CORONAL] <= set(range(-20, 21)) - {0} and max(abs(o) for o in offsets[Plane.CORONAL]) > 16


def test_box2mask_sample_box_jitter_and_normalisation() -> None:
    case = _stepped_case()
    ref = next(r for r in eligible_slices(case, 0, SampleSettings(planes=(Plane.AXIAL,))) if r.index == 10)
    no_jitter = SampleSettings(box_scale=(1.0, 1.0))
    sample = box2mask_sample(case, ref, 40, np.random.default_rng(0), no_jitter)
    assert sample.mask.all()  # the tightest box is the 20 x 20 square itself
    assert sample.image.dtype == np.float32 and sample.image.min() >= -1.0 and sample.image.max() <= 1.0
    jittered = box2mask_sample(case, ref, 40, np.random.default_rng(0), SampleSettings(box_scale=(1.25, 1.25)))
    assert jittered.mask.mean() == pytest.approx(1 / 1.25**2, abs=0.03)  # 20 of 25 pixels per side


def test_constant_object_falls_back_to_the_slice_window() -> None:
    case = _stepped_case()
    flat = TrainingCase("flat", np.where(case.masks["obj"], 7.0, case.image), dict(case.masks), case.spacing)
    ref = eligible_slices(flat, 0, SampleSettings(planes=(Plane.AXIAL,)))[5]
    sample = box2mask_sample(flat, ref, 32, np.random.default_rng(0), SampleSettings())
    assert np.isfinite(sample.image).all()


def test_no_eligible_slice_is_an_error() -> None:
    case = _stepped_case()
    with pytest.raises(ValueError, match="no slice of 1 case.*above 1000 pixels"):
        build_index([case], SampleSettings(min_area=1000))


def test_end_bias_moves_tasks_to_the_object_ends_with_outward_targets() -> None:
    case = _stepped_case(spacing=(0.8, 0.8, 2.5))  # eligible axial slices 4..25, 8 slices per side
    settings = SampleSettings(planes=(Plane.AXIAL,), end_bias=1.0)
    rng = np.random.default_rng(0)
    empty, total, guides = 0, 0, set()
    for ref in build_index([case], settings) * 3:
        task = propmask_task(case, ref, 32, rng, settings)
        assert task is not None
        guides.add(task.ref.index)
        offsets = np.array(task.offsets)
        # Targets lie on one side only: beyond the last slice (positive offsets) or before the first (negative).
        assert (offsets > 0).all() if task.ref.index > 14 else (offsets < 0).all()
        assert np.abs(offsets).max() <= 8
        empty += int((task.target_masks.reshape(4, -1).sum(1) == 0).sum())
        total += 4
    assert guides <= {*range(4, 12), *range(18, 26)}  # within 8 slices of an end
    plain = SampleSettings(planes=(Plane.AXIAL,))
    rng = np.random.default_rng(0)
    plain_empty = sum(int((t.target_masks.reshape(4, -1).sum(1) == 0).sum())
                      for ref in build_index([case], plain) * 3 if (t := propmask_task(case, ref, 32, rng, plain)))
    assert empty / total > 0.25 > plain_empty / total


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match=r"end_bias must be a probability in \[0, 1\], got 1.5"):
        SampleSettings(end_bias=1.5)
    with pytest.raises(ValueError, match="box_scale must be"):
        SampleSettings(box_scale=(1.25, 1.0))
    with pytest.raises(ValueError, match="unknown plane 'oblique'"):
        SampleSettings(planes=("oblique",))  # type: ignore[arg-type]
