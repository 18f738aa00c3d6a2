"""``propbench datasets install|get|drop|status|verify`` (benchmark/cli/home_commands.py), run through
``benchmark.cli.main.main`` with real DataLad."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmark.cli.main import main
from benchmark.home import datalad_ops
from tests.cards import write_card
from tests.synthetic import labelled_phantom, write_nifti

IMAGE = "imagesTr/case_000.nii.gz"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def setup(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Cards for U1 and U2, a user folder of two F1 cases, and a data home with U1 installed from it via the CLI."""
    root = tmp_path_factory.mktemp("cli")
    cards = root / "cards"
    cards.mkdir()
    for dataset_id in ("U1", "U2"):
        write_card(cards, dataset_id, {"1": "blob", "2": "dot"})
    source = root / "download"
    for k in range(2):
        image, label = labelled_phantom((12, 10, 6), seed=k)
        write_nifti(source / "imagesTr" / f"case_{k:03d}.nii.gz", image)
        write_nifti(source / "labelsTr" / f"case_{k:03d}.nii.gz", label)
    home = root / "home"
    prefix = ("datasets", "--cards", str(cards), "--home", str(home))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main([*prefix, "install", "U1", "--from", str(source)])
    return SimpleNamespace(cards=cards, source=source, home=home, prefix=prefix, status=status, out=out.getvalue())


def test_install_from_a_folder(setup: SimpleNamespace) -> None:
    assert setup.status == 0
    assert setup.out.startswith("U1: installed at ") and f"folder source {setup.source}" in setup.out
    assert (setup.home / "U1" / ".datalad").is_dir()


def test_install_again_from_the_same_source_is_not_needed(capsys: pytest.CaptureFixture[str],
                                                          setup: SimpleNamespace) -> None:
    status, out, err = _run(capsys, *setup.prefix, "install", "U1", "--from", str(setup.source))
    assert status == 0 and out.startswith("U1: already installed") and err == ""


def test_status_table_and_json(capsys: pytest.CaptureFixture[str], setup: SimpleNamespace) -> None:
    status, out, _ = _run(capsys, *setup.prefix, "status")
    assert status == 0
    header, _, row = out.splitlines()
    assert header.split() == ["ID", "commit", "state", "present", "source"]
    assert row.split()[0] == "U1" and "clean" in row and "0/4" in row and str(setup.source) in row
    status, out, _ = _run(capsys, *setup.prefix, "status", "U1", "--json")
    (entry,) = json.loads(out)
    assert status == 0 and entry["dataset_id"] == "U1" and entry["clean"] is True
    assert (entry["n_files"], entry["n_present"]) == (4, 0) and entry["source_kind"] == "folder"
    assert entry["path"] == str(setup.home / "U1") and len(entry["commit"]) == 40


def test_get_and_drop_paths(capsys: pytest.CaptureFixture[str], setup: SimpleNamespace) -> None:
    target = setup.home / "U1" / IMAGE
    status, out, _ = _run(capsys, *setup.prefix, "get", "U1", IMAGE)
    assert status == 0 and out == "U1: 1 path(s) present\n" and target.exists()
    status, out, _ = _run(capsys, *setup.prefix, "drop", "U1")
    assert status == 0 and out == "U1: all files dropped\n" and not target.exists()


def test_verify_ok_then_a_problem_exits_1(capsys: pytest.CaptureFixture[str], setup: SimpleNamespace) -> None:
    status, out, _ = _run(capsys, *setup.prefix, "verify", "U1")
    assert status == 0 and out == "U1: ok\n"
    stray = setup.home / "U1" / "stray.txt"
    stray.write_text("not part of the dataset", encoding="utf-8")
    try:
        status, out, _ = _run(capsys, *setup.prefix, "verify", "U1")
    finally:
        stray.unlink()
    assert status == 1 and out.startswith("U1: 1 problem(s)") and "stray.txt: untracked" in out


def test_verify_without_id_checks_every_installed_dataset(capsys: pytest.CaptureFixture[str],
                                                          setup: SimpleNamespace) -> None:
    status, out, _ = _run(capsys, *setup.prefix, "verify")
    assert status == 0 and out == "U1: ok\n"


def test_unknown_dataset_id(capsys: pytest.CaptureFixture[str], setup: SimpleNamespace) -> None:
    status, out, err = _run(capsys, *setup.prefix, "install", "D77", "--from", str(setup.source))
    assert status == 2 and out == "" and "unknown dataset ID 'D77'" in err
    status, _, err = _run(capsys, *setup.prefix, "get", "D77")
    assert status == 2 and "unknown dataset ID 'D77'" in err


def test_get_of_a_dataset_not_installed_gives_the_install_command(capsys: pytest.CaptureFixture[str],
                                                                  setup: SimpleNamespace) -> None:
    status, _, err = _run(capsys, *setup.prefix, "get", "U2")
    assert status == 2 and "propbench datasets install U2 --from <SRC>" in err
    assert "https://example.org/U2" in err and "installed: U1" in err


def test_install_from_a_source_that_does_not_exist(capsys: pytest.CaptureFixture[str], setup: SimpleNamespace,
                                                   tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    status, _, err = _run(capsys, *setup.prefix, "install", "U2", "--from", str(missing))
    assert status == 2 and f"install source {missing} does not exist" in err


def test_status_of_an_empty_home_and_a_missing_cards_folder(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    status, out, _ = _run(capsys, "datasets", "--home", str(tmp_path / "home"), "status")
    assert status == 0 and out == f"no dataset installed in {tmp_path / 'home'}\n"
    status, _, err = _run(capsys, "datasets", "--cards", str(tmp_path / "cards"), "--home", str(tmp_path / "home"),
                          "install", "U1", "--from", str(tmp_path))
    assert status == 2 and str(tmp_path / "cards") in err


def _cards_and_home(root: Path, *ids: str) -> tuple[str, ...]:
    for dataset_id in ids:
        write_card(root / "cards", dataset_id, {"1": "blob", "2": "dot"})
    return ("datasets", "--cards", str(root / "cards"), "--home", str(root / "datahome"))


def _cases(root: Path, n_cases: int = 1) -> Path:
    for k in range(n_cases):
        image, label = labelled_phantom((12, 10, 6), seed=k)
        write_nifti(root / "imagesTr" / f"case_{k:03d}.nii.gz", image)
        write_nifti(root / "labelsTr" / f"case_{k:03d}.nii.gz", label)
    return root


def test_remove_then_install_from_another_source(capsys: pytest.CaptureFixture[str], git_identity: Path,
                                                 tmp_path: Path) -> None:
    prefix = _cards_and_home(tmp_path, "U1")
    first, second = _cases(tmp_path / "first"), _cases(tmp_path / "second", n_cases=2)
    assert _run(capsys, *prefix, "install", "U1", "--from", str(first))[0] == 0
    status, _, err = _run(capsys, *prefix, "install", "U1", "--from", str(second))
    assert status == 2 and "propbench datasets remove U1" in err
    status, out, _ = _run(capsys, *prefix, "remove", "U1")
    assert status == 0 and out == f"U1: removed from {tmp_path / 'datahome'} (source {first} left as it is)\n"
    status, out, _ = _run(capsys, *prefix, "install", "U1", "--from", str(second))
    assert status == 0 and f"folder source {second}" in out
    status, _, err = _run(capsys, *prefix, "remove", "U2")
    assert status == 2 and "unknown dataset ID 'U2'" in err


def test_verify_reports_each_dataset_and_exits_1(capsys: pytest.CaptureFixture[str], git_identity: Path,
                                                 tmp_path: Path) -> None:
    prefix = _cards_and_home(tmp_path, "U1", "U2", "U3")
    plain = tmp_path / "plain"  # a DataLad dataset without git-annex (every file in git)
    datalad_ops.create(plain, annex=False)
    datalad_ops.save(_cases(plain), message="cases")
    sources = {"U1": plain, "U2": _cases(tmp_path / "two"), "U3": _cases(tmp_path / "three")}
    for dataset_id, source in sources.items():
        assert _run(capsys, *prefix, "install", dataset_id, "--from", str(source))[0] == 0
    (tmp_path / "datahome" / "U2" / ".git" / "index").write_bytes(b"broken")
    status, out, _ = _run(capsys, *prefix, "verify")
    lines = out.splitlines()
    assert status == 1 and lines[0] == "U1: ok" and lines[-1] == "U3: ok"
    assert lines[1].startswith("U2: ") and "problem(s)" in lines[1] and "could not run" in out
    status, out, _ = _run(capsys, *prefix, "verify", "U3", "--fast")
    assert (status, out) == (0, "U3: ok\n")


def test_install_prints_the_links_it_left_out(capsys: pytest.CaptureFixture[str], git_identity: Path,
                                              tmp_path: Path) -> None:
    prefix = _cards_and_home(tmp_path, "U1")
    source = _cases(tmp_path / "download")
    (source / "imagesTr" / "case_001.nii.gz").symlink_to("case_000.nii.gz")
    (source / "labelsTr" / "case_001.nii.gz").symlink_to(_cases(tmp_path / "outside") / "labelsTr/case_000.nii.gz")
    status, out, _ = _run(capsys, *prefix, "install", "U1", "--from", str(source))
    assert status == 0
    assert "U1: 1 link(s) inside the dataset followed" in out
    assert "U1: link labelsTr/case_001.nii.gz -> " in out and "outside the dataset folder" in out
