"""Cases and cards built in code for the fingerprint tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.cards import DatasetCard, parse_card
from benchmark.data.case import Case, CaseEntry
from benchmark.data.geometry import Volume
from tests.synthetic import ras_affine, write_nifti


def card(objects: dict[str, str], *, role: str = "internal", channels: tuple[str, ...] = ("CT",),
         dataset_id: str = "T1", name: str = "Test set", modality: str = "CT", **extra: Any) -> DatasetCard:
    data = {
        "schema_version": 1, "id": dataset_id, "name": name, "modality": modality, "channels": list(channels),
        "role": role, "encoding": "label-map", "default_version": "v1",
        "source": {"url": "built-in", "access": "direct", "licence": "CC0-1.0", "citation": "test"},
        "layout": {"family": "F1", "confirmed": True},
        "versions": {"v1": {"objects": objects}}, **extra,
    }
    return parse_card(data, Path("test-card.toml"))


def case_from_arrays(tmp: Path, case_id: str, image: np.ndarray, masks: dict[str, np.ndarray],
                     spacing: tuple[float, float, float], dataset_id: str = "T1") -> Case:
    """A Case whose image is written to a real NIfTI file (so header reads work) and whose masks come from arrays."""
    path = write_nifti(tmp / f"{case_id}.nii.gz", image, ras_affine(spacing))
    from benchmark.data.geometry import read_volume

    def load_mask(name: str) -> Volume:
        return Volume(masks[name], read_volume(path).geometry, path)

    return Case(dataset_id=dataset_id, entry=CaseEntry(case_id, (path,), ()), modality="CT", channel_names=("CT",),
                objects=tuple(masks), load_image=lambda: read_volume(path), load_mask=load_mask)
