from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data.dataset import open_reader
from benchmark.splits import Subset
from benchmark.training.volumes import SplitVolumes
from tests.cards import card
from tests.synthetic import labelled_phantom, ras_affine, write_nifti


def test_split_volumes_load_cases_on_indexing(tmp_path: Path) -> None:
    for k in range(10):
        image, label = labelled_phantom((16, 14, 8), seed=k)
        if k == 0:
            label[label == 2] = 0  # spleen absent from one case
        write_nifti(tmp_path / "imagesTr" / f"case_{k}.nii.gz", image, ras_affine((0.5, 0.5, 3.0)))
        write_nifti(tmp_path / "labelsTr" / f"case_{k}.nii.gz", label, ras_affine((0.5, 0.5, 3.0)))
    reader = open_reader(card({"1": "liver", "2": "spleen"}), tmp_path)
    train = SplitVolumes([reader], Subset.TRAIN)
    val = SplitVolumes([reader], Subset.VAL)
    assert len(train) + len(val) == 10 and len(val) >= 1
    ids = {v.case_id for v in train} | {v.case_id for v in val}
    assert ids == {f"T1/case_{k}" for k in range(10)}
    first = next(v for v in (*train, *val) if v.case_id == "T1/case_0")
    assert first.image.dtype == np.float32 and first.image.shape == (16, 14, 8)
    assert set(first.masks) == {"liver"} and first.spacing == (0.5, 0.5, 3.0)
    assert [v.case_id for v in train[1:3]] == [train[1].case_id, train[2].case_id]
