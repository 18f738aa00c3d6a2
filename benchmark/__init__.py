"""PropSAM Bench: a dataset-centric benchmark suite for promptable 3D medical image segmentation.

Importing this package is light: heavy or optional dependencies (SimpleITK, DataLad, torch, model packages) are
imported where they are used.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
