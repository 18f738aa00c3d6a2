"""The prompt protocol: prompt types in voxel indices of the canonical grid, each recording what it leaks from the
ground truth, and the simulation of a user's prompt from a ground-truth mask (guide slice, 2D mask, 2D box, 3D box,
and the paper's slice-deviation and thickness settings)."""

from __future__ import annotations

__all__: list[str] = []
