"""Naive propagation: the guide mask copied unchanged to every slice of the object's true extent.

It is the floor a propagation model must beat on objects whose cross-section changes from slice to slice. It needs
the object's extent, which the prompt carries as leaked ground truth (``Mask2D.extent``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["NaivePropagation"]

_AXIS = {"sagittal": 0, "coronal": 1, "axial": 2}


class NaivePropagation:
    """The protocol's model: name, prompt kinds, ``to`` and ``segment``."""

    name = "Naive-Propagation"
    prompt_kinds = frozenset({"mask2d"})

    def to(self, device: str) -> NaivePropagation:
        return self

    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        """Copy ``prompt.mask`` onto every slice of ``prompt.extent`` along the prompt's plane.

        Raises:
            ValueError: The prompt is not a 2D mask with an extent, or the mask does not fit the slice shape.
        """
        if str(getattr(prompt, "kind", "")) != "mask2d" or getattr(prompt, "extent", None) is None:
            raise ValueError(f"{self.name} needs a mask2d prompt carrying the object's extent, got {prompt!r}")
        shape = tuple(case.image.shape[-3:])
        axis = _AXIS[str(prompt.plane)]
        in_plane = tuple(n for i, n in enumerate(shape) if i != axis)
        if prompt.mask.shape != in_plane:
            raise ValueError(f"{self.name}: prompt mask has shape {prompt.mask.shape}, expected the slice shape "
                             f"{in_plane} of the {prompt.plane} plane")
        out = np.zeros(shape, dtype=bool)
        start, stop = prompt.extent
        index: list[Any] = [slice(None)] * 3
        index[axis] = slice(start, stop)
        out[tuple(index)] = np.expand_dims(prompt.mask.astype(bool), axis)
        return out
