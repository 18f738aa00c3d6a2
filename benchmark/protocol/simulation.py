"""Simulating a user's prompt from a ground-truth mask: the guide slice, a 2D mask on it, a 2D box around it, and
the 3D box MedSAM and SegVol need.

The protocol (the paper's, made exact):

- **Guide slice**: by default the slice of largest cross-section along the prompt plane's normal (supplementary
  Table S8: "the optimal slicing plane is the largest cross-section"; Figure S9: "the maximum slice selected based
  on RECIST criteria"); the middle of the object's extent is an option. Moved by a deviation, the guide snaps to the
  nearest slice holding foreground (an object of several parts, such as two lesions, can be empty between them).
- **2D mask**: the ground truth on the guide slice.
- **2D box**: the tightest box around the guide slice's ground truth, its width and height each scaled about the
  centre by an independent ratio from U(1.0, 1.25) (the paper's box perturbation, supplementary Step 1 of
  Box2Mask's data) and clipped to the image; ``tight`` keeps the tightest box.
- **3D box**: the 2D box on the guide slice plus the object's extent along z, scaled by a third ratio of the same
  rule and clipped; it leaks the z-extent.

Ratios come from the generator the caller passes (benchmark.protocol.seeding makes it from the run seed and the
object's identity), drawn in a fixed order: width, height, z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from benchmark.data.geometry import PLANE_AXIS, Plane, slice_of
from benchmark.protocol.prompts import Box2D, Box3D, Mask2D

__all__ = ["SliceRule", "BoxJitter", "JITTER_RANGE", "BoxRatios", "draw_ratios", "slice_areas", "object_extent",
           "guide_slice", "scale_interval", "mask2d_prompt", "box2d_prompt", "box3d_prompt"]

#: Range of the box scaling ratios (the paper's box perturbation).
JITTER_RANGE = (1.0, 1.25)


class SliceRule(str, Enum):
    """Which slice a simulated user prompts on: the largest cross-section (default) or the middle of the extent."""

    LARGEST = "largest"
    MIDDLE = "middle"

    def __str__(self) -> str:
        return str(self.value)


class BoxJitter(str, Enum):
    """How simulated boxes are drawn: scaled by ratios from U(1.0, 1.25) (``paper``) or the tightest box."""

    PAPER = "paper"
    TIGHT = "tight"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class BoxRatios:
    """Scaling ratios of one object's boxes: box width (u), height (v) and the 3D box's z-extent."""

    u: float = 1.0
    v: float = 1.0
    z: float = 1.0


def draw_ratios(jitter: BoxJitter | str, rng: np.random.Generator | None) -> BoxRatios:
    """Ratios for ``jitter``: three draws from U(1.0, 1.25) in the order u, v, z, or all 1 for ``tight``.

    Raises:
        ValueError: ``paper`` jitter without a generator.
    """
    if BoxJitter(jitter) is BoxJitter.TIGHT:
        return BoxRatios()
    if rng is None:
        raise ValueError("box jitter 'paper' needs a random generator (rng); got None")
    u, v, z = (float(r) for r in rng.uniform(*JITTER_RANGE, size=3))
    return BoxRatios(u, v, z)


def slice_areas(mask: np.ndarray, plane: Plane | str) -> np.ndarray:
    """Foreground pixels of each slice along ``plane``'s normal, shape (N,)."""
    axis = PLANE_AXIS[Plane(plane)]
    areas: np.ndarray = np.count_nonzero(mask, axis=tuple(i for i in range(3) if i != axis))
    return areas


def _present(mask: np.ndarray, plane: Plane | str) -> tuple[np.ndarray, np.ndarray]:
    areas = slice_areas(mask, plane)
    present = np.flatnonzero(areas)
    if present.size == 0:
        raise ValueError(f"cannot place a prompt: the object mask of shape {mask.shape} is empty")
    return areas, present


def object_extent(mask: np.ndarray, plane: Plane | str) -> tuple[int, int]:
    """Half-open range of slices along ``plane``'s normal that hold foreground.

    Raises:
        ValueError: The mask is empty.
    """
    _, present = _present(mask, plane)
    return int(present[0]), int(present[-1]) + 1


def guide_slice(mask: np.ndarray, plane: Plane | str = Plane.AXIAL, rule: SliceRule | str = SliceRule.LARGEST,
                deviation: int = 0) -> int:
    """The slice a prompt sits on: the rule's choice moved by ``deviation`` slices, then the nearest slice that
    holds foreground (the lower one on a tie).

    Raises:
        ValueError: The mask is empty.
    """
    areas, present = _present(mask, plane)
    if SliceRule(rule) is SliceRule.MIDDLE:
        wanted = (int(present[0]) + int(present[-1])) // 2
    else:
        wanted = int(np.argmax(areas))
    wanted += deviation
    return int(present[np.argmin(np.abs(present - wanted))])


def scale_interval(start: int, stop: int, ratio: float, limit: int) -> tuple[int, int]:
    """The half-open interval [start, stop) scaled by ``ratio`` about its centre, widened to whole voxels and
    clipped to [0, limit)."""
    centre, half = (start + stop) / 2.0, (stop - start) * ratio / 2.0
    return max(0, math.floor(centre - half + 1e-9)), min(limit, math.ceil(centre + half - 1e-9))


def mask2d_prompt(mask: np.ndarray, plane: Plane | str = Plane.AXIAL, rule: SliceRule | str = SliceRule.LARGEST,
                  deviation: int = 0, *, with_extent: bool = False) -> Mask2D:
    """A 2D-mask prompt: the ground truth of the guide slice (and, if asked, the object's extent, recorded as leaked).

    Args:
        mask: Boolean (X, Y, Z) ground truth of one object.
        plane: Plane of the prompt.
        rule: How the guide slice is chosen.
        deviation: Slices to move the guide from the rule's choice (the paper's slice-deviation ablation).
        with_extent: Attach the object's true extent (only naive propagation may receive it).
    """
    plane = Plane(plane)
    index = guide_slice(mask, plane, rule, deviation)
    extent = object_extent(mask, plane) if with_extent else None
    leaks = ("extent",) if with_extent else ()
    return Mask2D(plane, index, np.ascontiguousarray(slice_of(mask, plane, index)), leaks, extent)


def box2d_prompt(mask: np.ndarray, plane: Plane | str = Plane.AXIAL, rule: SliceRule | str = SliceRule.LARGEST,
                 deviation: int = 0, *, ratios: BoxRatios = BoxRatios()) -> Box2D:
    """A 2D-box prompt: the tightest half-open box around the guide slice's ground truth, scaled by
    ``ratios.u`` and ``ratios.v`` about its centre and clipped to the slice (the tightest box with the default)."""
    plane = Plane(plane)
    index = guide_slice(mask, plane, rule, deviation)
    section = slice_of(mask, plane, index)
    us, vs = np.nonzero(section)
    u0, u1 = scale_interval(int(us.min()), int(us.max()) + 1, ratios.u, section.shape[0])
    v0, v1 = scale_interval(int(vs.min()), int(vs.max()) + 1, ratios.v, section.shape[1])
    return Box2D(plane, index, (u0, v0, u1, v1))


def box3d_prompt(mask: np.ndarray, rule: SliceRule | str = SliceRule.LARGEST, deviation: int = 0, *,
                 ratios: BoxRatios = BoxRatios()) -> Box3D:
    """A 3D-box prompt: the axial 2D box of :func:`box2d_prompt` plus the object's z-extent scaled by ``ratios.z``
    about its centre and clipped to the volume (it always holds the guide slice)."""
    transverse = box2d_prompt(mask, Plane.AXIAL, rule, deviation, ratios=ratios)
    z0, z1 = scale_interval(*object_extent(mask, Plane.AXIAL), ratios.z, mask.shape[2])
    x0, y0, x1, y1 = transverse.box
    return Box3D((x0, y0, z0, x1, y1, z1), transverse.slice_index)
