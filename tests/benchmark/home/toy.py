"""Toy F1 datasets for the data-home tests: a card and tiny NIfTI cases built in code."""

from __future__ import annotations

from pathlib import Path

from benchmark.data.cards import DatasetCard
from tests.cards import card
from tests.synthetic import labelled_phantom, write_nifti

__all__ = ["IMAGE", "make_card", "write_cases", "snapshot"]

#: The first image of ``write_cases``, relative to the dataset root.
IMAGE = Path("imagesTr/case_000.nii.gz")


def make_card(dataset_id: str = "D1") -> DatasetCard:
    """A minimal F1 card (the data home never reads volumes)."""
    return card({"1": "blob", "2": "dot"}, dataset_id=dataset_id, name=f"Toy {dataset_id}", url="https://example.org/toy",
                path=Path(f"/cards/{dataset_id}.toml"))


def write_cases(root: Path, n_cases: int = 2, seed: int = 0) -> Path:
    """An F1 folder of tiny NIfTI cases, shape (12, 10, 6): imagesTr/case_00k.nii.gz and labelsTr/case_00k.nii.gz."""
    for k in range(n_cases):
        image, label = labelled_phantom((12, 10, 6), seed=seed + k)
        write_nifti(root / "imagesTr" / f"case_{k:03d}.nii.gz", image)
        write_nifti(root / "labelsTr" / f"case_{k:03d}.nii.gz", label)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
