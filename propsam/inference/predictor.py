"""PropSAMPredictor: a box or a 2D mask on one slice in, a boolean 3D mask and a trace out.

A box prompt goes through Box2Mask (with the normalisation search, :mod:`propsam.inference.box_prompt`) to a 2D
mask; a mask prompt skips Box2Mask. The 2D mask is then propagated through the volume by PropMask
(:mod:`propsam.inference.propagation`). Volumes are (X, Y, Z) arrays on the canonical grid with spacing in mm;
planes and boxes follow :mod:`propsam.inference.planes`.

Example:
    >>> predictor = PropSAMPredictor.from_bundle("propsam-small.pt", device="cpu")  # doctest: +SKIP
    >>> result = predictor.segment_from_box(ct, (0.8, 0.8, 3.0), "axial", 40, (100, 120, 180, 200))  # doctest: +SKIP
    >>> result.mask.shape, result.trace.rounds  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from propsam.inference.box_prompt import (
    BoxPromptResult,
    BoxPromptSettings,
    CandidateAggregation,
    SearchStrategy,
    parse_aggregation,
    parse_strategy,
    segment_box,
)
from propsam.inference.planes import Plane, parse_plane, slice_of, slice_shape
from propsam.inference.propagation import PropagationSettings, PropagationTrace, propagate
from propsam.inference.runtime import Precision, Runtime
from propsam.inference.validation import check_box, check_mask, check_slice_index, check_spacing, check_volume

if TYPE_CHECKING:
    from propsam.networks import Box2Mask, PropMask

__all__ = ["SegmentationResult", "PropSAMPredictor"]


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """One segmentation.

    Attributes:
        mask: (X, Y, Z) bool mask on the input volume's grid.
        trace: What propagation did (rounds, slices per direction, stop reasons, seconds per stage).
        seconds: Wall time of the whole call (validation included), s.
        box_stage: The box stage's record for a box prompt (2D mask, search outcome); None for a mask prompt.
    """

    mask: np.ndarray
    trace: PropagationTrace
    seconds: float
    box_stage: BoxPromptResult | None = None


class PropSAMPredictor:
    """PropSAM inference with two networks, a device, a precision and the propagation settings.

    Args:
        box2mask: The Box2Mask network; None for a predictor that only takes mask prompts.
        propmask: The PropMask network.
        device: Torch device name ("cpu", "cuda", "cuda:1", ...).
        precision: "fp32", "bf16" or "fp16" (autocast).
        threshold: Probability above which a pixel is foreground (both networks).
        window_mm: Thickness window on each side of a guide, mm.
        max_slices: Most slices per side and round for a 20 mm window, scaled with ``window_mm``; None: no cap.
        max_rounds: Most propagation rounds per direction; None: until no foreground or the volume edge.
        batch_size: Target slices per PropMask forward pass.
        search: Box normalisation search: "exhaustive" (the paper's 396 candidates) or "coarse" (24).
        search_batch_size: Candidates per Box2Mask forward pass during the search.
        aggregation: How candidate predictions merge: "mean" (default) or "union".
        context_ratio: PropMask crop = guide mask box scaled by this (see propagation's module docstring).
        min_margin_px: Least margin of that crop around the guide box, slice pixels (see PropagationSettings).
        keep_connected: Keep only the components of each slice touching the previous one (see PropagationSettings).
        channel: Image channel the model adapters and the CLI segment (others are ignored).
        checkpoint_sha256: Checksum of the bundle the networks came from, for results records.

    Raises:
        ValueError: An invalid setting (the message names it).
    """

    def __init__(self, box2mask: Box2Mask | None, propmask: PropMask, *, device: str = "cpu",
                 precision: Precision | str = Precision.FP32, threshold: float = 0.5, window_mm: float = 20.0,
                 max_slices: int | None = 20, max_rounds: int | None = None, batch_size: int = 20,
                 search: SearchStrategy | str = SearchStrategy.EXHAUSTIVE, search_batch_size: int = 32,
                 aggregation: CandidateAggregation | str = CandidateAggregation.MEAN, context_ratio: float = 1.5,
                 min_margin_px: float = 4.0, keep_connected: bool = False, channel: int = 0,
                 checkpoint_sha256: str | None = None) -> None:
        if channel < 0:
            raise ValueError(f"channel must be >= 0, got {channel}")
        self.runtime = Runtime.create(device, precision)
        self.box_settings = BoxPromptSettings(strategy=parse_strategy(search),
                                              aggregation=parse_aggregation(aggregation), threshold=threshold,
                                              batch_size=search_batch_size)
        self.propagation_settings = PropagationSettings(window_mm=window_mm, max_slices=max_slices,
                                                        context_ratio=context_ratio, min_margin_px=min_margin_px,
                                                        keep_connected=keep_connected,
                                                        threshold=threshold,
                                                        batch_size=batch_size, max_rounds=max_rounds)
        self.box2mask = box2mask.eval().to(self.runtime.device) if box2mask is not None else None
        self.propmask = propmask.eval().to(self.runtime.device)
        self.channel = int(channel)
        self.checkpoint_sha256 = checkpoint_sha256

    @classmethod
    def from_bundle(cls, path: str | Path, **settings: object) -> PropSAMPredictor:
        """A predictor with the networks of a PropSAM bundle (see :mod:`propsam.checkpoint`).

        Args:
            path: The bundle file (``save_bundle``'s output).
            **settings: Keyword arguments of the constructor (device, precision, threshold, ...).

        Raises:
            FileNotFoundError, ValueError: As :func:`propsam.checkpoint.load_bundle`.
        """
        from propsam.checkpoint import load_bundle

        bundle = load_bundle(path)
        return cls(cast("Box2Mask", bundle.box2mask.network), cast("PropMask", bundle.propmask.network),
                   checkpoint_sha256=bundle.sha256, **settings)  # type: ignore[arg-type]

    @property
    def device(self) -> str:
        return str(self.runtime.device)

    def to(self, device: str) -> PropSAMPredictor:
        """Move both networks to ``device``; returns self."""
        self.runtime = Runtime.create(device, self.runtime.precision)
        if self.box2mask is not None:
            self.box2mask.to(self.runtime.device)
        self.propmask.to(self.runtime.device)
        return self

    def segment_from_box(self, volume: np.ndarray, spacing: tuple[float, float, float], plane: Plane | str,
                         slice_index: int, box: tuple[int, int, int, int]) -> SegmentationResult:
        """Segment the object inside a box on one slice.

        Args:
            volume: (X, Y, Z) intensities.
            spacing: Voxel size (sx, sy, sz) in mm.
            plane: "axial", "coronal" or "sagittal".
            slice_index: Slice along the plane's normal.
            box: Half-open (u0, v0, u1, v1) in the plane's in-plane axes.

        Returns:
            The (X, Y, Z) bool mask, the trace and the box stage's record.

        Raises:
            ValueError: Invalid volume, spacing, plane, slice index or box; or no Box2Mask network.
        """
        started = time.perf_counter()
        if self.box2mask is None:
            raise ValueError("segment_from_box: this predictor has no Box2Mask network (box2mask=None); pass one "
                             "or use segment_from_mask")
        data, spacing, plane, index = self._check_common(volume, spacing, plane, slice_index)
        box = check_box(box, slice_shape(data.shape, plane))
        box_stage = segment_box(self.box2mask, slice_of(data, plane, index), box, self.runtime, self.box_settings)
        mask, trace = propagate(self.propmask, data, spacing, plane, index, box_stage.mask, self.runtime,
                                self.propagation_settings)
        box_seconds = box_stage.search_seconds + box_stage.final_seconds
        trace = replace(trace, seconds=replace(trace.seconds, box2mask=box_seconds, search=box_stage.search_seconds))
        return SegmentationResult(mask=mask, trace=trace, seconds=time.perf_counter() - started, box_stage=box_stage)

    def segment_from_mask(self, volume: np.ndarray, spacing: tuple[float, float, float], plane: Plane | str,
                          slice_index: int, mask2d: np.ndarray) -> SegmentationResult:
        """Segment the object drawn as a 2D mask on one slice.

        Args:
            volume: (X, Y, Z) intensities.
            spacing: Voxel size (sx, sy, sz) in mm.
            plane: "axial", "coronal" or "sagittal".
            slice_index: Slice along the plane's normal.
            mask2d: (U, V) mask of that slice; non-zero is foreground.

        Returns:
            The (X, Y, Z) bool mask (equal to ``mask2d`` on the prompt slice) and the trace.

        Raises:
            ValueError: Invalid volume, spacing, plane, slice index, or a mask that is empty or of the wrong shape.
        """
        started = time.perf_counter()
        data, spacing, plane, index = self._check_common(volume, spacing, plane, slice_index)
        guide = check_mask(mask2d, data.shape, plane, argument="mask2d")
        mask, trace = propagate(self.propmask, data, spacing, plane, index, guide, self.runtime,
                                self.propagation_settings)
        return SegmentationResult(mask=mask, trace=trace, seconds=time.perf_counter() - started)

    def _check_common(self, volume: np.ndarray, spacing: tuple[float, float, float], plane: Plane | str,
                      slice_index: int) -> tuple[np.ndarray, tuple[float, float, float], Plane, int]:
        data = check_volume(volume)
        checked_spacing = check_spacing(spacing)
        checked_plane = parse_plane(plane)
        index = check_slice_index(slice_index, data.shape, checked_plane)
        return data, checked_spacing, checked_plane, index
