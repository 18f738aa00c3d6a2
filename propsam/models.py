"""PropSAM as two interactive models of the suite's model protocol, satisfied structurally (no import of it).

``PropSAM2DBox`` takes box prompts ("box2d"), ``PropSAM2DMask`` 2D mask prompts ("mask2d"). A case is anything with
``.image`` ((C, X, Y, Z) channels, or (X, Y, Z)) and ``.spacing`` ((sx, sy, sz) mm) on the canonical grid; a prompt
anything with ``.kind`` ("box2d" or "mask2d", a str or a str-valued enum), ``.plane`` ("axial", "coronal",
"sagittal"), ``.slice_index`` and ``.box`` (half-open (u0, v0, u1, v1)) or ``.mask`` ((U, V) bool). One channel is
segmented: the predictor's ``channel`` (the first by default), replicated to the networks' 3 input channels.

Example:
    >>> model = PropSAM2DMask("propsam-small.pt", device="cpu")  # doctest: +SKIP
    >>> mask = model.segment(case, prompt)  # (X, Y, Z) bool  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from propsam.inference.predictor import PropSAMPredictor, SegmentationResult

__all__ = ["PropSAM2DBox", "PropSAM2DMask"]


class _PropSAMModel:
    """Shared part of the two adapters.

    Args:
        source: A :class:`PropSAMPredictor`, or the path of a PropSAM bundle.
        **settings: Predictor settings (device, precision, threshold, ...) when ``source`` is a path.

    Attributes:
        predictor: The predictor doing the work.
        last_result: The full result (trace, stage times) of the latest ``segment`` call, or None.
        last_trace: The same, flat (see the property), as the suite's results store records it.
    """

    name: str
    prompt_kinds: frozenset[str]

    def __init__(self, source: PropSAMPredictor | str | Path, **settings: Any) -> None:
        if isinstance(source, PropSAMPredictor):
            if settings:
                raise TypeError(f"{self.name}: settings {sorted(settings)} are only accepted with a bundle path; "
                                "configure the PropSAMPredictor instead")
            self.predictor = source
        elif isinstance(source, (str, Path)):
            self.predictor = PropSAMPredictor.from_bundle(source, **settings)
        else:
            raise TypeError(f"{self.name}(source): expected a PropSAMPredictor or a bundle path, got "
                            f"{type(source).__name__}")
        self.last_result: SegmentationResult | None = None

    @property
    def last_trace(self) -> dict[str, Any]:
        """What the latest ``segment`` call did, flat: stage seconds (``seconds_<stage>``), the thickness window
        (requested and used, mm and slices, capped or not), rounds, restarts, re-crops and stop reasons per direction;
        empty before the first call."""
        if self.last_result is None:
            return {}
        trace = self.last_result.trace
        window = trace.window
        flat: dict[str, Any] = {"guide_index": trace.guide_index, "window_requested_mm": window.requested_mm,
                                "window_mm": window.mm, "window_slices": window.slices,
                                "window_capped": window.capped, "keep_connected": trace.keep_connected}
        for name, direction in (("forward", trace.forward), ("backward", trace.backward)):
            flat.update({f"{name}_rounds": direction.rounds, f"{name}_restarts": direction.restarts,
                         f"{name}_recrops": direction.recrops, f"{name}_stop": direction.stop.value,
                         f"{name}_slices": len(direction.segmented)})
        seconds = trace.seconds
        for stage in ("box2mask", "search", "preprocessing", "network", "postprocessing"):
            flat[f"seconds_{stage}"] = getattr(seconds, stage)
        return flat

    @property
    def checkpoint_sha256(self) -> str | None:
        """SHA-256 of the bundle the networks came from (None for networks passed in directly)."""
        return self.predictor.checkpoint_sha256

    def to(self, device: str) -> _PropSAMModel:
        """Move the networks to ``device``; returns self."""
        self.predictor.to(device)
        return self

    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        """Segment the prompted object of ``case``.

        Returns:
            (X, Y, Z) bool mask on the case's canonical grid.

        Raises:
            ValueError: A prompt of another kind, a case image that is not (C, X, Y, Z) or (X, Y, Z), a channel
                out of range, and everything :class:`PropSAMPredictor` rejects.
        """
        kind = str(getattr(prompt.kind, "value", prompt.kind))
        if kind not in self.prompt_kinds:
            raise ValueError(f"{self.name} takes prompts of kind {sorted(self.prompt_kinds)}, got {kind!r}")
        volume = self._volume(case)
        plane = str(getattr(prompt.plane, "value", prompt.plane))
        self.last_result = self._run(volume, tuple(case.spacing), plane, prompt)
        return self.last_result.mask

    def _volume(self, case: Any) -> np.ndarray:
        image = np.asarray(case.image)
        channel = self.predictor.channel
        if image.ndim == 3:
            if channel != 0:
                raise ValueError(f"{self.name}: case.image is a single (X, Y, Z) channel but channel={channel}")
            return image
        if image.ndim != 4:
            raise ValueError(f"{self.name}: case.image must be (C, X, Y, Z) or (X, Y, Z), got shape {image.shape}")
        if not 0 <= channel < image.shape[0]:
            raise ValueError(f"{self.name}: channel {channel} is out of range for case.image with "
                             f"{image.shape[0]} channels (shape {image.shape})")
        return np.asarray(image[channel])

    def _run(self, volume: np.ndarray, spacing: tuple[float, ...], plane: str, prompt: Any) -> SegmentationResult:
        raise NotImplementedError


class PropSAM2DBox(_PropSAMModel):
    """PropSAM with a 2D box prompt: Box2Mask (with the normalisation search), then propagation."""

    name: str = "PropSAM-2DBox"
    prompt_kinds: frozenset[str] = frozenset({"box2d"})

    def _run(self, volume: np.ndarray, spacing: tuple[float, ...], plane: str, prompt: Any) -> SegmentationResult:
        return self.predictor.segment_from_box(volume, spacing,  # type: ignore[arg-type]
                                               plane, prompt.slice_index, tuple(prompt.box))


class PropSAM2DMask(_PropSAMModel):
    """PropSAM with a 2D mask prompt: propagation from the given slice mask."""

    name: str = "PropSAM-2DMask"
    prompt_kinds: frozenset[str] = frozenset({"mask2d"})

    def _run(self, volume: np.ndarray, spacing: tuple[float, ...], plane: str, prompt: Any) -> SegmentationResult:
        return self.predictor.segment_from_mask(volume, spacing,  # type: ignore[arg-type]
                                                plane, prompt.slice_index, prompt.mask)
