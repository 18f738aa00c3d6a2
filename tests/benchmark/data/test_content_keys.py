"""Content keys of files and folders (benchmark/data/content_keys.py)."""

from __future__ import annotations

from pathlib import Path

from benchmark.data.content_keys import file_key


def test_a_folder_key_follows_its_files_and_survives_a_link_loop(tmp_path: Path) -> None:
    series = tmp_path / "study" / "series"
    series.mkdir(parents=True)
    (series / "1.dcm").write_bytes(b"one")
    (series / "2.dcm").write_bytes(b"two")
    (series / "again").symlink_to(tmp_path / "study")  # a loop: study/series/again -> study
    first = file_key(tmp_path / "study")

    assert file_key(tmp_path / "study") == first  # the walk ends, and deterministically
    (series / "2.dcm").write_bytes(b"changed")
    assert file_key(tmp_path / "study") != first


def test_an_annexed_file_is_keyed_by_its_annex_key_without_content(tmp_path: Path) -> None:
    link = tmp_path / "image.nii.gz"
    key = "MD5E-s10--abc.nii.gz"
    link.symlink_to(tmp_path / ".git" / "annex" / "objects" / "Xx" / "Yy" / key / key)
    assert file_key(link) == "annex:MD5E-s10--abc.nii.gz"
