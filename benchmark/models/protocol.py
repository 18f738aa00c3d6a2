"""The protocol of an interactive segmentation model.

A model is anything with these attributes and methods; it need not import this module (PropSAM satisfies it
structurally). Outside packages register factories in the entry-point group ``propbench.models``.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["CaseLike", "InteractiveModel"]


class CaseLike(Protocol):
    """What a model may read of a case: the image channels and the voxel spacing."""

    @property
    def image(self) -> np.ndarray:
        """(C, X, Y, Z) image channels on the canonical grid."""

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along (x, y, z)."""

    @property
    def modality(self) -> str: ...


@runtime_checkable
class InteractiveModel(Protocol):
    """An interactive model: a name, the prompt kinds it accepts, a device, and ``segment``.

    ``prompt_kinds`` holds PromptKind values as strings (``"box2d"``, ``"mask2d"``, ``"box3d"``). ``segment`` takes a
    case and a prompt (benchmark.protocol.prompts) and returns a boolean (X, Y, Z) mask on the case's canonical grid.
    """

    name: str
    prompt_kinds: Set[str]

    def to(self, device: str) -> InteractiveModel: ...

    def segment(self, case: CaseLike, prompt: object) -> np.ndarray: ...
