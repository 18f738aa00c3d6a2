from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.cli.main import main
from tests.cards import write_card
from tests.synthetic import labelled_phantom, write_nifti


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "--json"]) == 0
    names = [m["name"] for m in json.loads(capsys.readouterr().out)]
    assert "PropSAM-2DMask" in names and "Naive-Propagation" in names


def test_check_naive_writes_a_table(git_identity: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cards = tmp_path / "cards"
    write_card(cards, "T1", {"1": "liver", "2": "spleen"})
    for k in range(6):
        image, label = labelled_phantom((16, 14, 8), seed=k)
        write_nifti(tmp_path / "src" / "imagesTr" / f"c{k}.nii.gz", image)
        write_nifti(tmp_path / "src" / "labelsTr" / f"c{k}.nii.gz", label)
    home = ["--cards", str(cards), "--home", str(tmp_path / "data-home")]
    assert main(["datasets", *home, "install", "T1", "--from", str(tmp_path / "src")]) == 0
    capsys.readouterr()
    assert main(["models", *home, "check", "Naive-Propagation", "T1", "--subset", "train",
                 "--out", str(tmp_path / "reports"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "Naive-Propagation" and summary["mean_dice"] == summary["mean_naive_dice"]
    assert (tmp_path / "reports" / "models" / "Naive-Propagation-mask2d-train.csv").is_file()


def test_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "check", "Nope"]) == 2
    assert "unknown model 'Nope'" in capsys.readouterr().err
