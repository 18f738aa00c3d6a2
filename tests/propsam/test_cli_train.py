"""Tests of ``propsam train`` (propsam.cli_train) on a two-case NIfTI folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from propsam.checkpoint import load_checkpoint
from propsam.cli import main
from tests.synthetic import labelled_phantom, ras_affine, write_nifti

_TINY_RUN = ["--config", "tiny", "--epochs", "2", "--samples-per-epoch", "8", "--batch-size", "4", "--val-every", "1",
             "--val-samples", "4", "--min-area", "20"]


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    """images/case{0,1}.nii.gz and labels/case{0,1}.nii.gz: (24, 20, 12) phantoms, spacing (1, 1, 3) mm."""
    for i in range(2):
        image, label = labelled_phantom(seed=i)
        write_nifti(tmp_path / "data" / "images" / f"case{i}.nii.gz", image, ras_affine((1.0, 1.0, 3.0)))
        write_nifti(tmp_path / "data" / "labels" / f"case{i}.nii.gz", label, ras_affine((1.0, 1.0, 3.0)))
    return tmp_path / "data"


@pytest.mark.parametrize("network", ["box2mask", "propmask"])
def test_train_writes_checkpoints_and_curves(network: str, data_dir: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", network, "--data", str(data_dir), "--out", str(out), *_TINY_RUN]) == 0
    printed = capsys.readouterr().out
    assert "2 cases" in printed and "1 for training, 1 for validation" in printed and "sha256" in printed
    assert load_checkpoint(out / "best.pt", kind=network).config.name == "tiny"
    assert len((out / "curves.csv").read_text().splitlines()) == 3  # header + 2 epochs


def test_resume_and_refusal_to_overwrite(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    run = ["train", "box2mask", "--data", str(data_dir), "--out", str(out), *_TINY_RUN]
    assert main(run) == 0
    assert main(run) == 2
    assert "already holds a training run" in capsys.readouterr().err
    assert main([*run[:-len(_TINY_RUN)], *_TINY_RUN[:3], "3", *_TINY_RUN[4:], "--resume"]) == 0
    assert len((out / "curves.csv").read_text().splitlines()) == 4


def test_bad_data_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "propmask", "--data", str(tmp_path), "--out", str(tmp_path / "o"), *_TINY_RUN]) == 2
    assert "expected sub-folders images/ and labels/" in capsys.readouterr().err
