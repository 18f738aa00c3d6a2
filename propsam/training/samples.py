"""Training samples of Box2Mask and training tasks of PropMask (supplementary S1.3.2 and S1.4.2).

Box2Mask sample: a slice (on one of the chosen planes) whose object mask covers more than ``min_area`` pixels; the
tightest box around the mask, its width and height scaled independently by U(1.0, 1.25) about the centre; the slice
normalised with the 0.5th and 99.5th percentiles of its intensities inside the mask; the ROI resized to the
network's input size. (The paper augments offline five times; here augmentation is online, :mod:`augment`.)

PropMask task: a guide slice (mask area above ``min_area``), the adjacent slices on both sides whose distance to the
guide along the plane's normal is at most ``window_mm`` (at most ``max_slices`` per side, at least one; the same
rule as inference), of which ``targets_per_task`` are drawn; one crop window from the guide mask's tightest box
scaled by a context ratio U(1.0, 2.0) per axis; guide and targets normalised with the guide's percentiles inside the
guide mask. Targets past the object's end have empty masks, which teaches the network to stop.

Every draw takes a ``numpy.random.Generator``; the loops seed one per (seed, epoch, sample), so samples are the same
with any number of data-loader workers and after a resume.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from propsam.inference.planes import Plane, normal_axis, parse_plane, slice_of
from propsam.preprocessing import box_window, crop_resize, mask_box, normalise, percentile_window
from propsam.training.data import TrainingCase

__all__ = [
    "SampleSettings",
    "SliceRef",
    "Box2MaskSample",
    "PropMaskTask",
    "eligible_slices",
    "build_index",
    "adjacent_indices",
    "box2mask_sample",
    "propmask_task",
]


@dataclass(frozen=True)
class SampleSettings:
    """How samples and tasks are drawn; the paper's values are the defaults.

    Attributes:
        planes: Planes slices are taken on.
        min_area: A slice qualifies when its mask covers more than this many pixels.
        box_scale: Range of the Box2Mask box jitter (per axis).
        context_scale: Range of the PropMask context ratio (per axis).
        window_mm: PropMask thickness window on each side of the guide, mm.
        max_slices: Most adjacent slices per side.
        targets_per_task: Targets drawn per PropMask task (with replacement when fewer exist).
        percentiles: Normalisation percentiles inside the mask.
        end_bias: Probability that a PropMask task is moved to an end of its object along the plane's normal: the
            guide becomes an eligible slice within one window of the object's first or last eligible slice and
            the targets are drawn on the outer side, so many of them lie past the object's end with empty masks
            (inference stops a direction only on a slice predicted wholly empty). 0 (the paper): targets drawn
            around the guide as it was drawn.
        balance_objects: Draw an object name uniformly first, then one of its eligible slices, so that objects with
            few eligible slices (vessels, lesions) are drawn as often as large organs. False (the paper): every
            eligible slice equally likely.
    """

    planes: tuple[Plane, ...] = (Plane.AXIAL, Plane.CORONAL, Plane.SAGITTAL)
    min_area: int = 100
    box_scale: tuple[float, float] = (1.0, 1.25)
    context_scale: tuple[float, float] = (1.0, 2.0)
    window_mm: float = 20.0
    max_slices: int = 20
    targets_per_task: int = 4
    percentiles: tuple[float, float] = (0.5, 99.5)
    end_bias: float = 0.0
    balance_objects: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.end_bias <= 1.0:
            raise ValueError(f"SampleSettings.end_bias must be a probability in [0, 1], got {self.end_bias}")
        object.__setattr__(self, "planes", tuple(parse_plane(p, argument="planes") for p in self.planes))
        for name in ("box_scale", "context_scale"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"SampleSettings.{name} must be (low, high) with 0 < low <= high, got {(low, high)}")
        if not self.planes or self.min_area < 0 or self.max_slices < 1 or self.targets_per_task < 1 \
                or not self.window_mm > 0:
            raise ValueError(f"SampleSettings needs planes, min_area >= 0, max_slices >= 1, targets_per_task >= 1 "
                             f"and window_mm > 0; got {self}")


@dataclass(frozen=True)
class SliceRef:
    """An eligible slice: case (by position in the case sequence), object, plane and slice index."""

    case_index: int
    object_name: str
    plane: Plane
    index: int


@dataclass(frozen=True)
class Box2MaskSample:
    """One Box2Mask training sample: image (S, S) float32 in [-1, 1] and mask (S, S) bool."""

    image: np.ndarray
    mask: np.ndarray
    ref: SliceRef


@dataclass(frozen=True)
class PropMaskTask:
    """One PropMask task, all (S, S) on one crop window.

    Attributes:
        guide_image: (S, S) float32, normalised.
        guide_mask: (S, S) bool.
        targets: (T, S, S) float32, normalised with the guide's window.
        target_masks: (T, S, S) bool.
        offsets: (T,) slice offsets of the targets from the guide.
        ref: The guide slice.
    """

    guide_image: np.ndarray
    guide_mask: np.ndarray
    targets: np.ndarray
    target_masks: np.ndarray
    offsets: tuple[int, ...]
    ref: SliceRef


def eligible_slices(case: TrainingCase, case_index: int, settings: SampleSettings) -> list[SliceRef]:
    """Every (object, plane, slice) of a case whose mask area exceeds ``settings.min_area`` pixels."""
    refs = []
    for name, mask in case.masks.items():
        for plane in settings.planes:
            axis = normal_axis(plane)
            areas = mask.sum(axis=tuple(a for a in range(3) if a != axis))
            refs += [SliceRef(case_index, name, plane, int(k)) for k in np.nonzero(areas > settings.min_area)[0]]
    return refs


def build_index(cases: Sequence[TrainingCase], settings: SampleSettings) -> list[SliceRef]:
    """Eligible slices of all cases (reads each case once).

    Raises:
        ValueError: No slice of any case qualifies.
    """
    refs = [ref for i in range(len(cases)) for ref in eligible_slices(cases[i], i, settings)]
    if not refs:
        raise ValueError(f"no slice of {len(cases)} case(s) has an object mask above {settings.min_area} pixels on "
                         f"planes {[p.value for p in settings.planes]}; expected at least one")
    return refs


def adjacent_indices(n_slices: int, guide: int, spacing_mm: float, window_mm: float = 20.0,
                     max_slices: int = 20) -> list[int]:
    """Slice indices within ``window_mm`` of ``guide`` on both sides, at most ``max_slices`` (at least 1) per side."""
    per_side = _per_side(spacing_mm, window_mm, max_slices)
    return [k for k in range(guide - per_side, guide + per_side + 1) if k != guide and 0 <= k < n_slices]


def _per_side(spacing_mm: float, window_mm: float, max_slices: int) -> int:
    return max(1, min(max_slices, math.floor(window_mm / spacing_mm + 1e-6)))


def _uniform2(rng: np.random.Generator, bounds: tuple[float, float]) -> tuple[float, float]:
    low, high = bounds
    return float(rng.uniform(low, high)), float(rng.uniform(low, high))


def _intensity_window(slice_uv: np.ndarray, mask_uv: np.ndarray, settings: SampleSettings) -> tuple[float, float]:
    vmin, vmax = percentile_window(slice_uv[mask_uv], *settings.percentiles)
    if vmax <= vmin:  # a constant object: fall back to the slice, then to a unit window
        vmin, vmax = percentile_window(slice_uv, *settings.percentiles)
        if vmax <= vmin:
            vmax = vmin + 1.0
    return vmin, vmax


def box2mask_sample(case: TrainingCase, ref: SliceRef, size: int, rng: np.random.Generator,
                    settings: SampleSettings) -> Box2MaskSample:
    """Draw the box jitter for one eligible slice and build its sample (before augmentation)."""
    image_uv = slice_of(case.image, ref.plane, ref.index)
    mask_uv = np.asarray(slice_of(case.masks[ref.object_name], ref.plane, ref.index))
    box = mask_box(mask_uv)
    if box is None:
        raise ValueError(f"case {case.case_id!r}: {ref.object_name} is empty on {ref.plane.value} slice {ref.index}")
    window = box_window(box, _uniform2(rng, settings.box_scale))
    vmin, vmax = _intensity_window(image_uv, mask_uv, settings)
    image = normalise(crop_resize(image_uv, window, size=size), vmin, vmax)
    mask = crop_resize(mask_uv.astype(np.float32), window, size=size, order=0) > 0.5
    return Box2MaskSample(image=image, mask=mask, ref=ref)


def propmask_task(case: TrainingCase, ref: SliceRef, size: int, rng: np.random.Generator,
                  settings: SampleSettings) -> PropMaskTask | None:
    """Draw targets and context for one guide slice; None when the volume has no adjacent slice on that plane."""
    axis = normal_axis(ref.plane)
    if settings.end_bias > 0 and rng.random() < settings.end_bias:
        return _end_task(case, ref, size, rng, settings)
    candidates = adjacent_indices(case.image.shape[axis], ref.index, case.spacing[axis], settings.window_mm,
                                  settings.max_slices)
    if not candidates:
        return None
    n = settings.targets_per_task
    picks = rng.choice(len(candidates), size=n, replace=len(candidates) < n)
    return _task(case, ref, [candidates[int(i)] for i in picks], size, rng, settings)


def _end_task(case: TrainingCase, ref: SliceRef, size: int, rng: np.random.Generator,
              settings: SampleSettings) -> PropMaskTask | None:
    """A task at one end of the object (see ``SampleSettings.end_bias``): guide near the end, targets outwards."""
    axis = normal_axis(ref.plane)
    depth = case.image.shape[axis]
    areas = case.masks[ref.object_name].sum(axis=tuple(a for a in range(3) if a != axis))
    eligible = np.nonzero(areas > settings.min_area)[0]
    per_side = _per_side(case.spacing[axis], settings.window_mm, settings.max_slices)
    step = 1 if rng.random() < 0.5 else -1
    end = int(eligible[-1] if step > 0 else eligible[0])
    near = [int(k) for k in eligible if abs(int(k) - end) < per_side]
    guide = near[int(rng.integers(len(near)))]
    outward = [guide + step * d for d in range(1, per_side + 1) if 0 <= guide + step * d < depth]
    if not outward:
        return None
    n = settings.targets_per_task
    picks = rng.choice(len(outward), size=n, replace=len(outward) < n)
    return _task(case, SliceRef(ref.case_index, ref.object_name, ref.plane, guide), [outward[int(i)] for i in picks],
                 size, rng, settings)


def _task(case: TrainingCase, ref: SliceRef, chosen: list[int], size: int, rng: np.random.Generator,
          settings: SampleSettings) -> PropMaskTask:
    volume_mask = case.masks[ref.object_name]
    guide_uv = slice_of(case.image, ref.plane, ref.index)
    guide_mask_uv = np.asarray(slice_of(volume_mask, ref.plane, ref.index))
    box = mask_box(guide_mask_uv)
    if box is None:
        raise ValueError(f"case {case.case_id!r}: {ref.object_name} is empty on {ref.plane.value} slice {ref.index}")
    window = box_window(box, _uniform2(rng, settings.context_scale))
    vmin, vmax = _intensity_window(guide_uv, guide_mask_uv, settings)

    def image(k: int) -> np.ndarray:
        return normalise(crop_resize(slice_of(case.image, ref.plane, k), window, size=size), vmin, vmax)

    def mask(k: int) -> np.ndarray:
        return crop_resize(slice_of(volume_mask, ref.plane, k).astype(np.float32), window, size=size, order=0) > 0.5

    return PropMaskTask(guide_image=image(ref.index), guide_mask=mask(ref.index),
                        targets=np.stack([image(k) for k in chosen]), target_masks=np.stack([mask(k) for k in chosen]),
                        offsets=tuple(k - ref.index for k in chosen), ref=ref)
