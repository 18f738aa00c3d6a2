"""Tiny synthetic volumes and files, built in code, shared by the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TOTALSEG_EXAMPLE = SHARED_DATA / "totalsegmentator-example"


def ras_affine(spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
               origin: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """A (4, 4) RAS affine with the given spacing (mm) and origin."""
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = origin
    return affine


def write_nifti(path: Path, array: np.ndarray, affine: np.ndarray | None = None) -> Path:
    """Write an (X, Y, Z) or (X, Y, Z, C) array as NIfTI with a voxel-to-RAS affine (default: 1 mm, RAS)."""
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(array), ras_affine() if affine is None else affine), str(path))
    return path


def blob(shape: tuple[int, int, int], center: tuple[float, float, float],
         radii: tuple[float, float, float]) -> np.ndarray:
    """A boolean ellipsoid, shape (X, Y, Z)."""
    grid = np.indices(shape, dtype=np.float32)
    dist = sum(((grid[i] - center[i]) / radii[i]) ** 2 for i in range(3))
    return np.asarray(dist <= 1.0, dtype=bool)


def labelled_phantom(shape: tuple[int, int, int] = (24, 20, 12), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy image (int16) with two labelled ellipsoids (values 1 and 2), both (X, Y, Z)."""
    rng = np.random.default_rng(seed)
    label = np.zeros(shape, dtype=np.uint8)
    label[blob(shape, (shape[0] * 0.35, shape[1] * 0.5, shape[2] * 0.5), (4, 4, 3))] = 1
    label[blob(shape, (shape[0] * 0.7, shape[1] * 0.5, shape[2] * 0.5), (3, 3, 2))] = 2
    image = (rng.normal(0, 10, shape) + 100 * label).astype(np.int16)
    return image, label
