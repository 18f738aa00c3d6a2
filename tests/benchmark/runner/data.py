"""A small F1 dataset of six cases for the runner's tests (installed by the ``small_home`` fixture)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.synthetic import blob, ras_affine, write_nifti

SHAPE = (40, 36, 16)
SPACING = (0.9, 0.9, 2.0)
OBJECTS = {"1": "liver", "2": "lesion", "3": "spleen"}


def phantom(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An image and a label map: a large "liver" whose cross-section changes with z, a "lesion" too small for the
    protocol's 100-pixel rule, and (in even cases) a "spleen"."""
    rng = np.random.default_rng(seed)
    label = np.zeros(SHAPE, np.uint8)
    label[blob(SHAPE, (16 + seed % 3, 18, 8), (11, 9, 6))] = 1
    label[blob(SHAPE, (32, 8, 8), (2, 2, 2))] = 2
    if seed % 2 == 0:
        label[blob(SHAPE, (30, 27, 9), (6, 6, 4))] = 3
    image = (rng.normal(0, 15, SHAPE) + 120 * (label > 0)).astype(np.int16)
    return image, label


def write_dataset(root: Path, n: int = 6) -> Path:
    for k in range(n):
        image, label = phantom(k)
        write_nifti(root / "imagesTr" / f"case_{k}.nii.gz", image, ras_affine(SPACING))
        write_nifti(root / "labelsTr" / f"case_{k}.nii.gz", label, ras_affine(SPACING))
    return root


