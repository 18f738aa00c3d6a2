"""Predicted masks saved as compressed NIfTI, to view beside the image in 3D Slicer or ITK-SNAP.

A mask is written on the case's canonical grid with the case's affine (RAS, mm): the same voxel centres in world
space as the image, so viewers overlay it exactly on the original file (whose array axes may be permuted or flipped
relative to ours).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.results.rows import RowKey

__all__ = ["mask_path", "save_mask"]


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", part) or "_"


def mask_path(folder: str | Path, key: RowKey) -> Path:
    """``folder/<run>/<model>/<setting>/<dataset>/<case>/<object>.nii.gz`` (unsafe characters replaced)."""
    parts = (key.run_id, key.model, key.setting, key.dataset_id, key.case_id)
    return Path(folder).joinpath(*(_safe(p) for p in parts)) / f"{_safe(key.object_name)}.nii.gz"


def save_mask(mask: np.ndarray, case: Any, folder: str | Path, key: RowKey) -> Path:
    """Write ``mask`` ((X, Y, Z) bool on ``case``'s grid) as uint8 NIfTI with ``case.affine``; returns the path."""
    import nibabel as nib

    path = mask_path(folder, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(np.asarray(mask, dtype=np.uint8), np.asarray(case.affine, dtype=np.float64))
    image.set_qform(image.affine, code=1)
    image.set_sform(image.affine, code=1)
    nib.save(image, str(path))
    return path
