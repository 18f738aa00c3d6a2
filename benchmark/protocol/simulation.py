"""Simulating a user's prompt from a ground-truth mask: the guide slice, a 2D mask on it, or a 2D box around it."""

from __future__ import annotations

from enum import Enum

import numpy as np

from benchmark.data.geometry import PLANE_AXIS, Plane, slice_of
from benchmark.protocol.prompts import Box2D, Mask2D

__all__ = ["SliceRule", "object_extent", "guide_slice", "mask2d_prompt", "box2d_prompt"]


class SliceRule(str, Enum):
    """Which slice a simulated user prompts on: the middle of the object's extent, or its largest cross-section."""

    MIDDLE = "middle"
    LARGEST = "largest"

    def __str__(self) -> str:
        return str(self.value)


def object_extent(mask: np.ndarray, plane: Plane | str) -> tuple[int, int]:
    """Half-open range of slices along ``plane``'s normal that hold foreground.

    Raises:
        ValueError: The mask is empty.
    """
    axis = PLANE_AXIS[Plane(plane)]
    areas = mask.sum(axis=tuple(i for i in range(3) if i != axis))
    present = np.flatnonzero(areas)
    if present.size == 0:
        raise ValueError(f"cannot place a prompt: the object mask of shape {mask.shape} is empty")
    return int(present[0]), int(present[-1]) + 1


def guide_slice(mask: np.ndarray, plane: Plane | str = Plane.AXIAL, rule: SliceRule | str = SliceRule.MIDDLE,
                deviation: int = 0) -> int:
    """The slice index a prompt sits on: the rule's choice moved by ``deviation`` slices, then the nearest slice
    that holds foreground (an object of several parts, such as two lesions, can be empty between them)."""
    axis = PLANE_AXIS[Plane(plane)]
    areas = mask.sum(axis=tuple(i for i in range(3) if i != axis))
    present = np.flatnonzero(areas)
    if present.size == 0:
        raise ValueError(f"cannot place a prompt: the object mask of shape {mask.shape} is empty")
    if SliceRule(rule) is SliceRule.MIDDLE:
        wanted = (int(present[0]) + int(present[-1])) // 2
    else:
        wanted = int(np.argmax(areas))
    wanted += deviation
    return int(present[np.argmin(np.abs(present - wanted))])


def mask2d_prompt(mask: np.ndarray, plane: Plane | str = Plane.AXIAL, rule: SliceRule | str = SliceRule.MIDDLE,
                  deviation: int = 0, *, with_extent: bool = False) -> Mask2D:
    """A 2D-mask prompt: the ground truth of the guide slice (and, if asked, the object's extent, recorded as leaked).

    Args:
        mask: Boolean (X, Y, Z) ground truth of one object.
        plane: Plane of the prompt.
        rule: How the guide slice is chosen.
        deviation: Slices to move the guide from the rule's choice (the paper's slice-deviation ablation).
        with_extent: Attach the object's true extent (for naive propagation).
    """
    plane = Plane(plane)
    index = guide_slice(mask, plane, rule, deviation)
    extent = object_extent(mask, plane) if with_extent else None
    leaks = ("extent",) if with_extent else ()
    return Mask2D(plane, index, np.ascontiguousarray(slice_of(mask, plane, index)), leaks, extent)


def box2d_prompt(mask: np.ndarray, plane: Plane | str = Plane.AXIAL, rule: SliceRule | str = SliceRule.MIDDLE,
                 deviation: int = 0) -> Box2D:
    """A 2D-box prompt: the tightest half-open box around the ground truth of the guide slice."""
    plane = Plane(plane)
    index = guide_slice(mask, plane, rule, deviation)
    section = slice_of(mask, plane, index)
    us, vs = np.nonzero(section)
    return Box2D(plane, index, (int(us.min()), int(vs.min()), int(us.max()) + 1, int(vs.max()) + 1))
