"""PropSAM: segment any 3D object from one 2D box or one 2D mask by propagating a guide slice through the volume.

``import propsam`` does not import torch; ``propsam.segment_file`` (see ``propsam.io``) loads it when first used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["__version__", "segment_file"]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "segment_file":
        from propsam.io import segment_file

        return segment_file
    raise AttributeError(f"module 'propsam' has no attribute {name!r}")
