"""The rounds of one propagation direction: guide crop, target batches, acceptance of each predicted slice.

A round crops its guide and targets through one window around the guide mask (see :mod:`propagation`) and accepts
the predicted slices in order, nearest first, until one of them

* comes back empty: the object ended, or it left the crop. When the crop around the last accepted slice reaches past
  the round's crop (the object may have moved out of it), the direction restarts from that slice, cropped around its
  own mask; otherwise that crop would show nothing the round did not see, and the object has ended. An empty slice
  right next to a freshly cropped guide always ends the direction;
* reaches the edge of the crop (within one pixel, on a side where the crop lies inside the slice): the object may
  extend past the crop, so that slice is not accepted and the next round, cropped around the last accepted slice,
  predicts it again. When the first target reaches the edge, the same guide runs again with a crop around both its
  mask and that prediction (at most ``_MAX_WIDENINGS`` times, then the prediction is accepted as it is).

With ``keep_connected``, each predicted slice first keeps only its 2D components (8-connected) that overlap the
previous slice's mask grown by one pixel (the guide mask for the first target): a stray pixel elsewhere neither keeps
a direction running nor widens the next crop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from propsam.inference.box_prompt import nonempty_window
from propsam.inference.planes import Plane, normal_axis, slice_of, write_slice
from propsam.inference.propagation_settings import PropagationSettings
from propsam.inference.runtime import GuideEncoding, Runtime
from propsam.preprocessing import (
    CropWindow,
    box_window,
    crop_resize,
    mask_box,
    normalise,
    paste_back,
    percentile_window,
    to_network_input,
)

if TYPE_CHECKING:
    from propsam.networks import PropMask

__all__ = ["StopReason", "Timer", "Guide", "DirectionRun", "guide_intensity_window", "crop_window", "prepare_guide",
           "keep_connected_to", "run_direction"]

_EIGHT = np.ones((3, 3), dtype=bool)
#: Widenings of one guide's crop for a first target that keeps reaching its edge (each one at least doubles the
#: crop's extent on that side, so a few cover any slice).
_MAX_WIDENINGS = 4


class StopReason(str, Enum):
    """Why propagation stopped in one direction."""

    NO_FOREGROUND = "no_foreground"  #: a slice next to a freshly cropped guide predicted no foreground
    VOLUME_EDGE = "volume_edge"  #: the last slice of the volume was reached
    MAX_ROUNDS = "max_rounds"  #: the round limit was reached
    EMPTY_GUIDE = "empty_guide"  #: the prompt gave an empty 2D mask, nothing to propagate

    def __str__(self) -> str:
        return str(self.value)


class _RoundEnd(Enum):
    COMPLETE = "complete"  # every target accepted
    EMPTY = "empty"  # a target came back empty
    EDGE = "edge"  # a target reached the crop's edge


@dataclass
class Timer:
    """Accumulated wall time of the propagation stages, s."""

    preprocessing: float = 0.0
    network: float = 0.0
    postprocessing: float = 0.0


@dataclass(frozen=True, eq=False)
class Guide:
    """A guide slice ready for PropMask: its crop window, intensity window and encoding."""

    window: CropWindow
    intensity: tuple[float, float]
    encoding: GuideEncoding


@dataclass
class DirectionRun:
    """What one direction did (turned into a ``DirectionTrace`` by :func:`propagate`)."""

    guides: list[int] = field(default_factory=list)
    visited: list[int] = field(default_factory=list)
    segmented: list[int] = field(default_factory=list)
    restarts: int = 0
    recrops: int = 0
    stop: StopReason = StopReason.VOLUME_EDGE


@dataclass(frozen=True)
class _Round:
    masks: list[np.ndarray]  # accepted masks, nearest first
    predicted: list[int]  # slices predicted, in order
    end: _RoundEnd
    edge: np.ndarray | None = None  # the prediction that reached the crop's edge


def _with_margin(window: CropWindow, box: tuple[int, int, int, int], margin: float) -> CropWindow:
    """Grow ``window`` so that it extends at least ``margin`` pixels beyond ``box`` on every side."""
    u0, v0, u1, v1 = box
    return CropWindow(min(window.u0, u0 - margin), min(window.v0, v0 - margin), max(window.u1, u1 + margin),
                      max(window.v1, v1 + margin))


def guide_intensity_window(slice_uv: np.ndarray, mask_uv: np.ndarray) -> tuple[float, float]:
    """The guide's 0.5th and 99.5th percentiles inside its mask (S1.4.2), with the training samples' fallbacks.

    A constant object falls back to the whole slice's percentiles, a constant slice to (v, v + 1).
    """
    vmin, vmax = percentile_window(slice_uv[mask_uv], 0.5, 99.5)
    if vmax <= vmin:
        vmin, vmax = nonempty_window(*percentile_window(slice_uv, 0.5, 99.5))
    return vmin, vmax


def crop_window(mask_uv: np.ndarray, settings: PropagationSettings, also: np.ndarray | None = None) -> CropWindow:
    """The crop of a guide: its (U, V) mask's box (grown to hold the (U, V) mask ``also``, if given) scaled by
    ``context_ratio``, at least ``min_margin_px`` around."""
    box = mask_box(mask_uv if also is None else mask_uv | also)
    if box is None:  # callers only pass non-empty guides
        raise ValueError("propagation guide mask is empty; expected at least one foreground pixel")
    return _with_margin(box_window(box, scale=settings.context_ratio), box, settings.min_margin_px)


def _inside(inner: CropWindow, outer: CropWindow) -> bool:
    return outer.u0 <= inner.u0 and outer.v0 <= inner.v0 and inner.u1 <= outer.u1 and inner.v1 <= outer.v1


def prepare_guide(network: PropMask, slice_uv: np.ndarray, mask_uv: np.ndarray, runtime: Runtime,
                  settings: PropagationSettings, timer: Timer, also: np.ndarray | None = None) -> Guide:
    """Crop, normalise and encode a guide slice (U, V) with its non-empty mask (U, V); ``also``: see crop_window."""
    started = time.perf_counter()
    size = int(network.config.input_size)
    window = crop_window(mask_uv, settings, also)
    intensity = guide_intensity_window(slice_uv, mask_uv)
    image = to_network_input(normalise(crop_resize(slice_uv, window, size=size), *intensity)[None])
    mask = crop_resize(mask_uv.astype(np.float32), window, size=size, order=0)
    mask_tensor = to_network_input(mask[None])[:, :1]
    encoded = time.perf_counter()
    timer.preprocessing += encoded - started
    encoding = runtime.encode_guide(network, image, mask_tensor)
    timer.network += time.perf_counter() - encoded
    return Guide(window=window, intensity=intensity, encoding=encoding)


def keep_connected_to(mask: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The 8-connected components of ``mask`` (U, V) that overlap ``reference`` (U, V) grown by one pixel."""
    labels, count = ndimage.label(mask, structure=_EIGHT)
    if count == 0:
        return mask
    touched = np.unique(labels[ndimage.binary_dilation(reference, structure=_EIGHT) & mask])
    return np.isin(labels, touched[touched > 0])


def _reaches_edge(mask: np.ndarray, window: CropWindow) -> bool:
    """Whether ``mask`` (U, V) comes within one pixel of a side of ``window`` that lies inside the slice."""
    box = mask_box(mask)
    if box is None:
        return False
    u0, v0, u1, v1 = box
    size_u, size_v = mask.shape
    return bool((window.u0 > 0 and u0 < window.u0 + 1) or (window.v0 > 0 and v0 < window.v0 + 1)
                or (window.u1 < size_u and u1 > window.u1 - 1) or (window.v1 < size_v and v1 > window.v1 - 1))


def _segment_round(network: PropMask, volume: np.ndarray, plane: Plane, targets: list[int], guide: Guide,
                   guide_mask: np.ndarray, runtime: Runtime, settings: PropagationSettings, timer: Timer) -> _Round:
    """Predict ``targets`` in batches through the guide's window; accept them in order until one ends the round."""
    size = int(network.config.input_size)
    accepted: list[np.ndarray] = []
    predicted: list[int] = []
    for start in range(0, len(targets), settings.batch_size):
        t0 = time.perf_counter()
        chunk = targets[start:start + settings.batch_size]
        slices = [slice_of(volume, plane, k) for k in chunk]
        batch = np.stack([normalise(crop_resize(s, guide.window, size=size), *guide.intensity) for s in slices])
        t1 = time.perf_counter()
        probs = runtime.propmask(network, to_network_input(batch), guide.encoding)
        t2 = time.perf_counter()
        timer.preprocessing += t1 - t0
        timer.network += t2 - t1
        try:
            for k, prob in zip(chunk, probs, strict=True):
                predicted.append(k)
                mask = paste_back(prob, guide.window, slices[0].shape) > settings.threshold
                if settings.keep_connected:
                    mask = keep_connected_to(mask, accepted[-1] if accepted else guide_mask)
                if not mask.any():
                    return _Round(accepted, predicted, _RoundEnd.EMPTY)
                if _reaches_edge(mask, guide.window):
                    return _Round(accepted, predicted, _RoundEnd.EDGE, edge=mask)
                accepted.append(mask)
        finally:
            timer.postprocessing += time.perf_counter() - t2
    return _Round(accepted, predicted, _RoundEnd.COMPLETE)


def _targets(guide_index: int, step: int, depth: int, n: int) -> list[int]:
    return [k for k in (guide_index + step * j for j in range(1, n + 1)) if 0 <= k < depth]


def run_direction(network: PropMask, volume: np.ndarray, out: np.ndarray, plane: Plane, start: int,
                  start_mask: np.ndarray, start_guide: Guide, step: int, n: int, runtime: Runtime,
                  settings: PropagationSettings, timer: Timer) -> DirectionRun:
    """Propagate from slice ``start`` (already encoded as ``start_guide``) towards ``step`` (+1 or -1), writing the
    accepted (U, V) masks into ``out`` (X, Y, Z); ``n`` target slices per round."""
    depth = volume.shape[normal_axis(plane)]
    run = DirectionRun()
    guide_index, guide_mask = start, start_mask
    prepared: Guide | None = start_guide
    also: np.ndarray | None = None  # a first target that reached the crop's edge: the next crop holds it too
    widenings = 0
    while True:
        targets = _targets(guide_index, step, depth, n)
        if not targets:
            run.stop = StopReason.VOLUME_EDGE
            return run
        if settings.max_rounds is not None and len(run.guides) >= settings.max_rounds:
            run.stop = StopReason.MAX_ROUNDS
            return run
        run.guides.append(guide_index)
        guide = prepared or prepare_guide(network, slice_of(volume, plane, guide_index), guide_mask, runtime,
                                          settings, timer, also)
        prepared = None  # the prompt slice's encoding serves the first round of both directions
        done = _segment_round(network, volume, plane, targets, guide, guide_mask, runtime, settings, timer)
        if done.edge is not None and not done.masks and widenings >= _MAX_WIDENINGS:
            done = _Round([done.edge], done.predicted, _RoundEnd.EDGE)  # the crop cannot follow it further
        _record(out, plane, targets, done, run, timer)
        if done.end is _RoundEnd.EMPTY and (not done.masks or _inside(crop_window(done.masks[-1], settings),
                                                                      guide.window)):
            run.stop = StopReason.NO_FOREGROUND  # empty next to the guide, or where a new crop shows nothing new
            return run
        run.restarts += done.end is _RoundEnd.EMPTY
        run.recrops += done.end is _RoundEnd.EDGE
        if done.masks:
            guide_index, guide_mask, also, widenings = targets[len(done.masks) - 1], done.masks[-1], None, 0
        else:  # the first target reached the edge: the same guide again, its crop widened to hold that target
            also, widenings = done.edge, widenings + 1


def _record(out: np.ndarray, plane: Plane, targets: list[int], done: _Round, run: DirectionRun,
            timer: Timer) -> None:
    """Write a round's accepted masks into ``out`` and its slices into ``run``."""
    t0 = time.perf_counter()
    run.visited.extend(k for k in done.predicted if k not in run.visited)
    for k, mask in zip(targets, done.masks, strict=False):
        write_slice(out, plane, k, mask)
        if k not in run.segmented:
            run.segmented.append(k)
    timer.postprocessing += time.perf_counter() - t0
