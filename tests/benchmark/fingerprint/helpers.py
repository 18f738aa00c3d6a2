"""Cases and cards built in code for the fingerprint tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data.case import Case, CaseEntry
from benchmark.data.geometry import Volume
from tests.synthetic import ras_affine, write_nifti


def case_from_arrays(tmp: Path, case_id: str, image: np.ndarray, masks: dict[str, np.ndarray],
                     spacing: tuple[float, float, float], dataset_id: str = "T1") -> Case:
    """A Case whose image is written to a real NIfTI file (so header reads work) and whose masks come from arrays."""
    path = write_nifti(tmp / f"{case_id}.nii.gz", image, ras_affine(spacing))
    from benchmark.data.geometry import read_volume

    def load_mask(name: str) -> Volume:
        return Volume(masks[name], read_volume(path).geometry, path)

    return Case(dataset_id=dataset_id, entry=CaseEntry(case_id, (path,), ()), modality="CT", channel_names=("CT",),
                objects=tuple(masks), load_image=lambda: read_volume(path), load_mask=load_mask)
