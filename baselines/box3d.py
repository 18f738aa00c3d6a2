"""The checks every model that takes a 3D-box prompt makes before it computes anything."""

from __future__ import annotations

from typing import Any

from benchmark.protocol.prompts import Box3D, PromptKind

__all__ = ["require_box3d"]


def require_box3d(model: str, prompt: Any, shape: tuple[int, ...]) -> Box3D:
    """``prompt`` when it is a 3D box inside a volume of spatial shape ``shape`` (X, Y, Z).

    Raises:
        ValueError: The prompt is of another kind (the message names it), or its box is empty or leaves the image,
            or its transverse box's slice lies outside its z-range.
    """
    if not isinstance(prompt, Box3D):
        kind = getattr(prompt, "kind", type(prompt).__name__)
        raise ValueError(f"{model} takes prompts of kind [{PromptKind.BOX_3D.value!r}], got {str(kind)!r}")
    x0, y0, z0, x1, y1, z1 = prompt.box
    if any(not 0 <= low < high <= n for low, high, n in zip((x0, y0, z0), (x1, y1, z1), shape, strict=True)):
        raise ValueError(f"{model}: box {prompt.box} is empty or outside the image of shape {tuple(shape)}; "
                         f"expected 0 <= low < high <= size on every axis")
    if not z0 <= prompt.slice_index < z1:
        raise ValueError(f"{model}: the transverse box is drawn on slice {prompt.slice_index}, outside the box's "
                         f"z-range [{z0}, {z1})")
    return prompt
