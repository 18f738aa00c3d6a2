"""Folder sources checked by content (benchmark/home/folder_source.py, through DataHome): a byte changed with its
time restored is caught and blocks ``drop``; an identical copy of a file (new inode) stays valid; nothing drops the
only good copy of a file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmark.errors import DataLadError
from benchmark.home import datalad_ops as ops
from benchmark.home import folder_source, git_ops
from benchmark.home.data_home import SOURCE_REMOTE, DataHome
from tests.benchmark.home.toy import IMAGE, make_card, snapshot, write_cases

#: A file whose content no other file of the toy dataset has (the two labels happen to be identical).
SECOND = Path("imagesTr/case_001.nii.gz")


@pytest.fixture(scope="module")
def installed(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("folder")
    source = write_cases(root / "download", n_cases=2)
    home = DataHome(root / "datahome")
    home.install(make_card("D1"), source)
    return SimpleNamespace(home=home, source=source, files=snapshot(source), dataset=home.path / "D1")


def _flip_a_byte_keeping_the_time(path: Path) -> os.stat_result:
    """Bit rot, or a restore that kept the time: one byte differs, size, time and inode do not."""
    before = path.stat()
    with path.open("r+b") as stream:
        stream.seek(100)
        byte = stream.read(1)
        stream.seek(100)
        stream.write(bytes([byte[0] ^ 0x01]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    return before


def _restore(path: Path, data: bytes, before: os.stat_result) -> None:
    with path.open("r+b") as stream:
        stream.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_changed_byte_with_its_time_restored_is_caught_and_blocks_drop(installed: SimpleNamespace) -> None:
    home, source = installed.home, installed.source / IMAGE
    home.get("D1", [IMAGE])
    before = _flip_a_byte_keeping_the_time(source)
    try:
        # git-annex alone still believes the folder holds it (same size, time and inode)
        assert git_ops.checkpresent(installed.dataset, SOURCE_REMOTE, [git_ops.annexed_keys(
            installed.dataset, [IMAGE])[0][1]]) == (True,)
        report = home.verify("D1")
        assert not report.ok and any(IMAGE.as_posix() in p and "other content" in p for p in report.problems)
        with pytest.raises(DataLadError, match="refusing to drop 1 file") as err:
            home.drop("D1", [IMAGE])
        assert IMAGE.as_posix() in str(err.value) and "checksum" in str(err.value)
        # the only good copy is still here and readable
        assert (installed.dataset / IMAGE).read_bytes() == installed.files[IMAGE.as_posix()]
        with pytest.raises(DataLadError, match="refusing to drop"):
            home.drop("D1")  # the whole dataset: nothing at all is dropped
        assert (installed.dataset / IMAGE).exists()
        assert home.verify("D1", checksum_source=False).ok  # what --fast trusts: size, time and inode
    finally:
        _restore(source, installed.files[IMAGE.as_posix()], before)
    assert home.verify("D1").ok
    home.drop("D1", [IMAGE])
    assert not (installed.dataset / IMAGE).exists()


def test_an_identical_copy_of_a_source_file_stays_valid(installed: SimpleNamespace) -> None:
    home, source = installed.home, installed.source / SECOND
    home.get("D1", [SECOND])
    inode = source.stat().st_ino
    shutil.copy(source, source.with_name("copy"))
    source.unlink()
    source.with_name("copy").rename(source)  # same bytes, new inode and time (a restore, a sync tool)
    assert source.stat().st_ino != inode
    assert home.verify("D1").ok and home.verify("D1", checksum_source=False).ok
    head = home.commit("D1")
    home.drop("D1", [SECOND])  # content equality decides
    assert not (installed.dataset / SECOND).exists()
    home.get("D1", [SECOND])  # and git-annex fetches it again
    assert (installed.dataset / SECOND).read_bytes() == installed.files[SECOND.as_posix()]
    assert home.commit("D1") == head and home.verify("D1").ok
    home.drop("D1")


def test_get_fetches_a_file_replaced_by_an_identical_copy_without_a_drop_first(installed: SimpleNamespace) -> None:
    source = installed.source / IMAGE
    data = source.read_bytes()
    source.unlink()
    source.write_bytes(data)
    installed.home.get("D1", [IMAGE])
    assert (installed.dataset / IMAGE).read_bytes() == data
    installed.home.drop("D1")


def test_a_missing_source_file_is_reported_and_not_dropped(installed: SimpleNamespace) -> None:
    home, source = installed.home, installed.source / SECOND
    home.get("D1", [SECOND])
    aside = source.with_name("aside")
    source.rename(aside)
    try:
        assert any(SECOND.as_posix() in p and "missing" in p for p in home.verify("D1").problems)
        with pytest.raises(DataLadError, match="refusing to drop"):
            home.drop("D1", [SECOND])
        assert (installed.dataset / SECOND).exists()
    finally:
        aside.rename(source)
    home.drop("D1")


def test_check_source_hashes_only_what_changed_when_asked(installed: SimpleNamespace) -> None:
    check = folder_source.check_source(installed.dataset, installed.source, SOURCE_REMOTE, checksum_all=False)
    assert check.changed == () and len(check.verified) == 4
    moved = folder_source.check_source(installed.dataset, installed.source / "nowhere", SOURCE_REMOTE)
    assert len(moved.changed) == 4 and all("does not exist" in why for _, why in moved.changed)


def test_drop_without_checks_is_refused_for_the_whole_dataset(installed: SimpleNamespace) -> None:
    with pytest.raises(DataLadError, match="verified_elsewhere needs the verified files"):
        ops.drop(installed.dataset, None, verified_elsewhere=True)


def test_drop_never_drops_the_only_copy_of_a_cloned_file(git_identity: Path, tmp_path: Path) -> None:
    # A dataset cloned from another whose copy of a file was lost: git-annex's own check must refuse the drop.
    # Guards against skipping that check (DataLad's reckless="availability") for any source but a checked folder.
    upstream = tmp_path / "upstream"
    ops.create(upstream)
    write_cases(upstream, n_cases=1)
    ops.save(upstream, message="cases")
    home = DataHome(tmp_path / "datahome")
    home.install(make_card("D3"), upstream)
    home.get("D3", [IMAGE])
    original = (upstream / IMAGE).read_bytes()
    subprocess.run(["git", "-C", str(upstream), "annex", "drop", "--force", IMAGE.as_posix()], check=True,
                   capture_output=True)  # upstream loses its copy: the one in the data home is the only one
    with pytest.raises(DataLadError, match="drop"):
        home.drop("D3", [IMAGE])
    assert (home.path / "D3" / IMAGE).read_bytes() == original  # still here and readable
