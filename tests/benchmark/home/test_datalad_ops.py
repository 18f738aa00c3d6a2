"""The DataLad layer with real DataLad and git-annex: result records checked, exceptions converted, downloads
recorded for a later get, subdataset properties, worktree states."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from benchmark.errors import DataLadError
from benchmark.home import datalad_ops as ops
from benchmark.home import git_ops
from tests.synthetic import labelled_phantom, write_nifti

if TYPE_CHECKING:
    from tests.conftest import HttpServer


@pytest.fixture(scope="module")
def dataset(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset with one annexed NIfTI file, shape (12, 10, 6)."""
    root = tmp_path_factory.mktemp("ops") / "ds"
    ops.create(root, description="ops tests")
    write_nifti(root / "image.nii.gz", labelled_phantom((12, 10, 6))[0])
    ops.save(root, message="one image")
    return root


def test_create_and_save_give_a_clean_dataset_with_annexed_content(dataset: Path) -> None:
    assert ops.is_dataset(dataset) and not ops.is_dataset(dataset / "image.nii.gz")
    assert len(ops.head_commit(dataset)) == 40
    (image,) = [s for s in ops.file_states(dataset) if s.path == Path("image.nii.gz")]
    assert (image.state, image.annexed, image.present, image.kind) == ("clean", True, True, "file")
    assert ops.fsck_present(dataset) == ()


def test_a_failed_record_names_action_path_and_message(dataset: Path) -> None:
    with pytest.raises(DataLadError) as err:
        ops.get(dataset, [dataset / "missing.nii.gz"])
    message = str(err.value)
    assert "datalad get" in message and "missing.nii.gz" in message and "status 'impossible'" in message


def test_exceptions_from_datalad_become_datalad_errors(tmp_path: Path, git_identity: Path) -> None:
    with pytest.raises(DataLadError, match="create failed for .*ValueError") as err:
        ops.create(tmp_path / "ds", annex=False, description="a description needs an annex")
    assert str(tmp_path / "ds") in str(err.value)
    with pytest.raises(DataLadError, match="is not installed") as err:
        ops.head_commit(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_download_records_the_url_so_get_works_after_drop(dataset: Path, http_server: HttpServer) -> None:
    served = shutil.copy(dataset / "image.nii.gz", http_server.root / "single.nii.gz")
    ops.set_config(dataset, "annex.security.allowed-ip-addresses", "127.0.0.1")
    target = ops.download(dataset, f"{http_server.url}/single.nii.gz", Path("single.nii.gz"))
    assert target == dataset / "single.nii.gz" and target.read_bytes() == Path(served).read_bytes()
    ops.drop(dataset, [target])  # the web remote counts as a copy
    assert not target.exists()
    ops.get(dataset, [target])
    assert target.read_bytes() == Path(served).read_bytes()


def test_download_of_a_missing_url_names_it(dataset: Path, http_server: HttpServer) -> None:
    with pytest.raises(DataLadError, match="download") as err:
        ops.download(dataset, f"{http_server.url}/absent.zip", Path("absent.zip"))
    assert f"{http_server.url}/absent.zip" in str(err.value)


def test_file_states_report_untracked_files(dataset: Path) -> None:
    extra = dataset / "notes.txt"
    extra.write_text("scratch", encoding="utf-8")
    try:
        states = {s.path: s.state for s in ops.file_states(dataset)}
        assert states[Path("notes.txt")] == "untracked"
    finally:
        extra.unlink()


def test_subdatasets_report_properties_and_recorded_commit(git_identity: Path, tmp_path: Path) -> None:
    superds, subds = tmp_path / "super", tmp_path / "super" / "D1"
    ops.create(superds, annex=False)
    ops.create(subds)
    git_ops.register_subdataset(superds, "D1", {"path": "D1", "url": "./D1", "propbench-id": "D1",
                                                "propbench-source": "/data/d1"}, message="register")
    (record,) = ops.subdatasets(superds)
    assert record.path == subds and record.installed and record.recorded_commit == ops.head_commit(subds)
    assert record.properties["propbench-id"] == "D1" and record.properties["propbench-source"] == "/data/d1"
    assert all(s.state == "clean" for s in ops.file_states(superds))


def test_ensure_annex_available_finds_the_interpreters_bin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          git_annex_available: bool) -> None:
    if not git_annex_available or not (Path(sys.executable).parent / "git-annex").is_file():
        pytest.skip("git-annex is not installed next to the interpreter")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    ops.ensure_annex_available()
    assert os.environ["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(DataLadError, match="git-annex was not found"):
        ops.ensure_annex_available()


def test_configure_logging_quiets_datalad_unless_verbose() -> None:
    logger = logging.getLogger("datalad")
    level = logger.level
    try:
        ops.configure_logging(verbose=False)
        assert logger.level == logging.WARNING
        ops.configure_logging(verbose=True)
        assert logger.level == logging.INFO
    finally:
        logger.setLevel(level)
