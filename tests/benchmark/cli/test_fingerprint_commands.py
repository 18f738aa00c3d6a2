"""``propbench datasets fingerprint|characteristics`` end to end: a real data home (DataLad), a real F1 reader."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmark.cli.main import main
from tests.cards import write_card
from tests.synthetic import labelled_phantom, ras_affine, write_nifti

# Named like a paper dataset, so the tables show the paper's values beside ours (a user card takes a new ID: the
# catalog's D1 is built in).
OBJECTS = {"1": "liver", "2": "kidneys", "3": "pancreas"}

@pytest.fixture(scope="module")
def home(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("fp")
    cards = root / "cards"
    write_card(cards, "U1", OBJECTS, name="AbdomenCT-1K")
    source = root / "download"
    for k in range(5):
        image, label = labelled_phantom((24, 20, 12), seed=k)
        write_nifti(source / "imagesTr" / f"case_{k:03d}.nii.gz", image, ras_affine((0.8, 0.8, 2.5)))
        write_nifti(source / "labelsTr" / f"case_{k:03d}.nii.gz", label, ras_affine((0.8, 0.8, 2.5)))
    prefix = ["datasets", "--cards", str(cards), "--home", str(root / "home")]
    assert main([*prefix, "install", "U1", "--from", str(source)]) == 0
    return SimpleNamespace(root=root, prefix=prefix, cache=root / "cache")


def test_fingerprint_writes_table_s4_with_paper_values(home: SimpleNamespace, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    status = main([*home.prefix, "fingerprint", "U1", "--out", str(tmp_path), "--cache", str(home.cache)])
    assert status == 0
    out = capsys.readouterr().out
    assert "U1: 5 scans (0 excluded" in out and out.splitlines()[-1] == "all 5 case(s) read; exit status 0"
    with open(tmp_path / "table_s4_fingerprints.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["scans"] == "5" and row["scans_paper"] == "1000.0" and row["scans_diff"] == "-995.0"
    assert float(row["voxels_median"]) == 24 * 20 * 12
    assert float(row["spacing_anisotropy_median"]) == pytest.approx(0.8 / 2.5)
    assert row["object_types"] == "2" and row["object_types_paper"] == "4.0"
    assert {p.name for p in tmp_path.iterdir()} >= {"table_s4_fingerprints.md", "table_s4_fingerprints.tex",
                                                    "fingerprints", "splits"}
    note = (tmp_path / "table_s4_fingerprints.md").read_text()
    assert "object(s) on the card but in no case: pancreas" in note


def test_second_run_comes_from_the_cache(home: SimpleNamespace, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    args = [*home.prefix, "fingerprint", "U1", "--out", str(tmp_path), "--cache", str(home.cache / "again")]
    main(args)
    capsys.readouterr()
    main(args)
    assert "5 from cache" in capsys.readouterr().out


def test_characteristics_json_and_splits(home: SimpleNamespace, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    status = main([*home.prefix, "characteristics", "U1", "--out", str(tmp_path), "--cache", str(home.cache),
                   "--json", "--task-counting", "guides"])
    assert status == 0
    (result,) = json.loads(capsys.readouterr().out)
    total = result["samples"][0]
    assert total["object"] == "" and total["all"] == total["train"] + total["val"]
    split = json.loads((tmp_path / "splits" / "U1.json").read_text())
    assert sorted(split["train"] + split["val"]) == [f"case_{k:03d}" for k in range(5)]
    assert (tmp_path / "table_s3_propmask_tasks.tex").read_text().count(r"\toprule") == 1


def test_dataset_not_installed_names_the_install_command(home: SimpleNamespace, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    cards = Path(home.prefix[2])
    write_card(cards, "U2", OBJECTS, name="AbdomenCT-1K")
    try:
        status = main([*home.prefix, "fingerprint", "U2", "--out", str(tmp_path), "--no-cache"])
    finally:
        (cards / "U2.toml").unlink()
    assert status == 2
    assert "propbench datasets install U2 --from" in capsys.readouterr().err


def test_no_ids_and_no_demo_installed(home: SimpleNamespace, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*home.prefix, "fingerprint", "--out", str(tmp_path)]) == 2
    assert "propbench datasets demo" in capsys.readouterr().err


def test_bad_plane_option(home: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*home.prefix, "characteristics", "U1", "--planes", "axial,oblique", "--out", str(tmp_path)]) == 2
    assert "--planes 'axial,oblique'" in capsys.readouterr().err


def test_processes_give_the_thread_pass_numbers(home: SimpleNamespace, tmp_path: Path) -> None:
    for name, extra in (("threads", []), ("processes", ["--processes", "--workers", "2"])):
        assert main([*home.prefix, "fingerprint", "U1", "--out", str(tmp_path / name), "--no-cache", *extra]) == 0
    assert ((tmp_path / "processes" / "fingerprints" / "U1.json").read_text()
            == (tmp_path / "threads" / "fingerprints" / "U1.json").read_text())


@pytest.fixture(scope="module")
def broken_home(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A data home with U3 installed: 5 cases, of which 3 have a label file that is not an image."""
    root = tmp_path_factory.mktemp("fp-broken")
    cards = root / "cards"
    write_card(cards, "U3", OBJECTS, name="AbdomenCT-1K")
    source = root / "download"
    for k in range(5):
        image, label = labelled_phantom((24, 20, 12), seed=k)
        write_nifti(source / "imagesTr" / f"case_{k:03d}.nii.gz", image, ras_affine((0.8, 0.8, 2.5)))
        target = source / "labelsTr" / f"case_{k:03d}.nii.gz"
        if k < 3:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"not a NIfTI file")
        else:
            write_nifti(target, label, ras_affine((0.8, 0.8, 2.5)))
    prefix = ["datasets", "--cards", str(cards), "--home", str(root / "home")]
    assert main([*prefix, "install", "U3", "--from", str(source)]) == 0
    return SimpleNamespace(root=root, prefix=prefix)


@pytest.mark.parametrize("command", ["fingerprint", "characteristics"])
def test_excluded_cases_give_exit_status_1_and_the_count_last(broken_home: SimpleNamespace, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str], command: str) -> None:
    status = main([*broken_home.prefix, command, "U3", "--out", str(tmp_path), "--no-cache"])

    out = capsys.readouterr().out
    assert status == 1
    assert out.splitlines()[-1] == "3 of 5 case(s) excluded (U3: 3 of 5); exit status 1"
    assert out.count("  excluded: U3/case_00") == 3
    assert (tmp_path / ("table_s4_fingerprints.csv" if command == "fingerprint" else "table_s2_box2mask_samples.csv")
            ).is_file()  # the tables are written all the same


def test_json_output_stays_json_and_the_count_goes_to_stderr(broken_home: SimpleNamespace, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    status = main([*broken_home.prefix, "fingerprint", "U3", "--out", str(tmp_path), "--no-cache", "--json"])

    captured = capsys.readouterr()
    (result,) = json.loads(captured.out)
    assert status == 1 and result["n_scans"] == 2 and result["n_excluded"] == 3
    assert captured.err.splitlines()[-1] == "3 of 5 case(s) excluded (U3: 3 of 5); exit status 1"


def test_a_bad_card_elsewhere_is_a_warning_and_the_run_goes_on(home: SimpleNamespace, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    cards = Path(home.prefix[2])
    bad = cards / "U9.toml"
    bad.write_text('schema_version = 1\nid = "U9"\n', encoding="utf-8")
    try:
        status = main([*home.prefix, "fingerprint", "U1", "--out", str(tmp_path), "--no-cache"])
    finally:
        bad.unlink()
    captured = capsys.readouterr()
    assert status == 0 and "U1: 5 scans" in captured.out
    assert f"propbench: warning: {bad}" in captured.err
