"""PropSAM: segment any 3D object from one 2D box or one 2D mask by propagating a guide slice through the volume."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
