"""Box-fill: the transverse box of a 3D-box prompt filled on every slice of its z-range.

The floor of any model that receives a 3D box (MedSAM, SegVol): it uses nothing but the prompt. It is also the
smallest complete example of a plug-in model: a name, the prompt kinds it accepts, ``to`` and ``segment`` returning
a boolean (X, Y, Z) mask on the case's grid, with a clear refusal of other prompt kinds. Register a model of your own
under the entry-point group ``propbench.models`` (see the README), or name it as ``--model package.module:factory``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines.box3d import require_box3d
from benchmark.protocol.prompts import PromptKind

__all__ = ["BoxFill"]


class BoxFill:
    """The protocol's model: name, prompt kinds, ``to`` and ``segment``."""

    name = "Box-Fill"
    prompt_kinds = frozenset({PromptKind.BOX_3D.value})

    def to(self, device: str) -> BoxFill:
        return self

    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        """Fill ``prompt.box`` (x0, y0, z0, x1, y1, z1; half-open) on the case's (X, Y, Z) grid.

        Raises:
            ValueError: The prompt is not a 3D box, or the box lies outside the image (see require_box3d).
        """
        shape = tuple(case.image.shape[-3:])
        x0, y0, z0, x1, y1, z1 = require_box3d(self.name, prompt, shape).box
        out = np.zeros(shape, dtype=bool)
        out[x0:x1, y0:y1, z0:z1] = True
        return out
