"""Propagation of a 2D guide mask through a volume with PropMask (supplementary S1.4.4).

The paper's rule: from the prompt slice, PropMask segments the adjacent slices within a thickness window; the
outermost predicted slices become the next guides, and propagation continues until nothing is predicted. Here each
direction runs rounds of one guide and its targets, the slices on one side whose distance to the guide along the
plane's normal is at most ``window_mm`` (paper: 20 mm), at least one. The first round covers both sides of the
prompt slice (one encoding of the prompt serves both), later rounds move outwards only.

The paper's "N <= 20 adjacent slices" is applied per side: after the first round every task PropMask sees is one
guide and the slices on one side of it, and the paper's own reading of the window is per direction (20 mm "allows
the propagation of information across about 4 slices in one direction" at 5 mm, Table S9). The cap, ``max_slices``
for a 20 mm window, scales with the window (one slice per mm by default), so a 10, 30 or 40 mm window keeps the
paper's density of targets; where the spacing is finer than that density the window is capped, and the trace says
so (:class:`ThicknessWindow`: requested and effective mm, slices, capped). ``max_slices=None`` removes the cap.

A direction stops only when the object has ended (see :mod:`propsam.inference.propagation_steps`): a round whose
prediction comes back empty, or reaches the edge of its crop, restarts from its last accepted slice with a crop
around that slice's mask, so an object drifting or growing out of one crop is followed; the direction ends when the
slice next to a freshly cropped guide is empty, at the volume edge, or after ``max_rounds`` rounds.

Per round, PropMask sees the guide and its targets through one crop window: the tightest box of the guide mask,
scaled about its centre by ``context_ratio``. The paper trains with a ratio drawn uniformly from 1.0 to 2.0 and does
not state the inference value; the default 1.5 is the mean of that training distribution (the crop scale the
network saw most on average), and leaves a quarter of the object's extent as margin on each side for the object to
grow between the guide and the outermost target. Guide and targets are normalised with the 0.5th and 99.5th
percentiles of the guide slice's intensities inside the guide mask (S1.4.2). Crops, masks (nearest neighbour),
normalisation and the window in slices are computed exactly as for the training tasks (propsam.training.samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from propsam.inference.planes import Plane, normal_axis, parse_plane, slice_of, write_slice
from propsam.inference.propagation_settings import PropagationSettings
from propsam.inference.propagation_steps import (
    DirectionRun,
    StopReason,
    Timer,
    guide_intensity_window,
    prepare_guide,
    run_direction,
)
from propsam.inference.runtime import Runtime

if TYPE_CHECKING:
    from propsam.networks import PropMask

__all__ = [
    "StopReason",
    "PropagationSettings",
    "ThicknessWindow",
    "DirectionTrace",
    "StageSeconds",
    "PropagationTrace",
    "REFERENCE_WINDOW_MM",
    "slices_per_side",
    "thickness_window",
    "guide_intensity_window",
    "propagate",
]

#: The window for which ``max_slices`` is stated (the paper: N <= 20 adjacent slices within 20 mm).
REFERENCE_WINDOW_MM = 20.0


@dataclass(frozen=True)
class ThicknessWindow:
    """The thickness window a run used, per side of a guide.

    Attributes:
        requested_mm: ``window_mm`` as asked.
        spacing_mm: Slice spacing along the plane's normal, mm.
        slices: Target slices per side and round.
        mm: Distance of the farthest target, ``slices * spacing_mm`` (at most ``requested_mm`` unless one slice is
            thicker than the window).
        capped: Whether the slice cap, not the requested mm, set ``slices``.
    """

    requested_mm: float
    spacing_mm: float
    slices: int
    mm: float
    capped: bool


@dataclass(frozen=True)
class DirectionTrace:
    """What propagation did in one direction.

    Attributes:
        step: +1 towards higher slice indices, -1 towards lower ones.
        rounds: Rounds run (PropMask tasks with this direction's guide).
        guides: Guide slice index of each round.
        visited: Slices predicted, in the order first predicted (including the one where the object ended).
        segmented: Slices written with foreground.
        stop: Why the direction stopped.
        restarts: Rounds started again from the last accepted slice because a slice came back empty.
        recrops: Rounds started again from the last accepted slice because a prediction reached the crop's edge.
    """

    step: int
    rounds: int
    guides: tuple[int, ...]
    visited: tuple[int, ...]
    segmented: tuple[int, ...]
    stop: StopReason
    restarts: int = 0
    recrops: int = 0


@dataclass(frozen=True)
class StageSeconds:
    """Wall time per stage, s.

    Attributes:
        box2mask: The whole box stage (search included); 0 for a mask prompt.
        search: The normalisation search part of the box stage.
        preprocessing: Propagation: cropping, resizing, normalising.
        network: Propagation: PropMask forward passes (guide encodings included).
        postprocessing: Propagation: paste-back, thresholding, component filter, writing slices.
    """

    box2mask: float = 0.0
    search: float = 0.0
    preprocessing: float = 0.0
    network: float = 0.0
    postprocessing: float = 0.0

    @property
    def propagation(self) -> float:
        return self.preprocessing + self.network + self.postprocessing

    @property
    def total(self) -> float:
        return self.box2mask + self.propagation


@dataclass(frozen=True)
class PropagationTrace:
    """Record of one segmentation: prompt slice, window, both directions, options and stage times.

    Attributes:
        plane: Plane of the prompt.
        guide_index: Prompt slice index.
        window: The thickness window per side, requested and effective (mm, slices, capped).
        forward: Towards higher slice indices.
        backward: Towards lower slice indices.
        seconds: Wall time per stage.
        keep_connected: Whether predicted slices kept only the components touching the previous slice's mask.
    """

    plane: Plane
    guide_index: int
    window: ThicknessWindow
    forward: DirectionTrace
    backward: DirectionTrace
    seconds: StageSeconds
    keep_connected: bool = False

    @property
    def slices_per_side(self) -> int:
        """Thickness window in slices (``window.slices``)."""
        return self.window.slices

    @property
    def rounds(self) -> int:
        """Rounds of the longer direction (a round advances both fronts)."""
        return max(self.forward.rounds, self.backward.rounds)

    @property
    def stop_reasons(self) -> tuple[StopReason, StopReason]:
        """(backward, forward) stop reasons."""
        return self.backward.stop, self.forward.stop


def slices_per_side(spacing_mm: float, window_mm: float = 20.0, max_slices: int | None = 20) -> int:
    """Slices per side within ``window_mm`` of a guide: floor(window / spacing), between 1 and ``max_slices``."""
    # The small tolerance keeps 20 mm / 2.5 mm at 8 slices despite floating-point division.
    within = math.floor(window_mm / spacing_mm + 1e-6)
    return max(1, within if max_slices is None else min(max_slices, within))


def thickness_window(spacing_mm: float, window_mm: float = 20.0, max_slices: int | None = 20) -> ThicknessWindow:
    """The window per side, with ``max_slices`` (stated for 20 mm) scaled to ``window_mm``.

    Examples: 30 mm at 1 mm spacing is 30 slices (cap 30, not capped); 30 mm at 0.8 mm is 30 slices, 24 mm (capped).
    """
    cap = None if max_slices is None else max(1, math.floor(max_slices * window_mm / REFERENCE_WINDOW_MM + 1e-6))
    n = slices_per_side(spacing_mm, window_mm, cap)
    return ThicknessWindow(requested_mm=float(window_mm), spacing_mm=float(spacing_mm), slices=n,
                           mm=n * float(spacing_mm), capped=n < slices_per_side(spacing_mm, window_mm, None))


def _direction_trace(step: int, run: DirectionRun) -> DirectionTrace:
    return DirectionTrace(step=step, rounds=len(run.guides), guides=tuple(run.guides), visited=tuple(run.visited),
                          segmented=tuple(run.segmented), stop=run.stop, restarts=run.restarts, recrops=run.recrops)


def propagate(network: PropMask, volume: np.ndarray, spacing: tuple[float, float, float],
              plane: Plane | str, guide_index: int, guide_mask: np.ndarray, runtime: Runtime,
              settings: PropagationSettings | None = None) -> tuple[np.ndarray, PropagationTrace]:
    """Segment a 3D object from one guide slice by propagating in both directions.

    Args:
        network: PropMask in eval mode on ``runtime.device``.
        volume: (X, Y, Z) float32 intensities, already validated.
        spacing: Voxel size (sx, sy, sz) in mm.
        plane: Plane of the guide.
        guide_index: Guide slice index along the plane's normal.
        guide_mask: (U, V) bool mask of the guide slice; empty gives an empty result (stop: EMPTY_GUIDE).
        runtime: Device and precision.
        settings: Window, context ratio, threshold, batch size, round limit, component filter.

    Returns:
        The (X, Y, Z) bool mask (the guide slice holds ``guide_mask``) and the trace.
    """
    settings = settings or PropagationSettings()
    plane = parse_plane(plane)
    window = thickness_window(float(spacing[normal_axis(plane)]), settings.window_mm, settings.max_slices)
    out = np.zeros(volume.shape, dtype=bool)
    timer = Timer()
    guide_mask = np.asarray(guide_mask, dtype=bool)
    if not guide_mask.any():
        runs = [_direction_trace(step, DirectionRun(stop=StopReason.EMPTY_GUIDE)) for step in (1, -1)]
        return out, PropagationTrace(plane, int(guide_index), window, runs[0], runs[1], StageSeconds(),
                                     settings.keep_connected)
    write_slice(out, plane, guide_index, guide_mask)
    first = prepare_guide(network, slice_of(volume, plane, guide_index), guide_mask, runtime, settings, timer)
    traces = [_direction_trace(step, run_direction(network, volume, out, plane, guide_index, guide_mask, first, step,
                                                   window.slices, runtime, settings, timer)) for step in (1, -1)]
    seconds = StageSeconds(preprocessing=timer.preprocessing, network=timer.network,
                           postprocessing=timer.postprocessing)
    return out, PropagationTrace(plane, int(guide_index), window, traces[0], traces[1], seconds,
                                 settings.keep_connected)
