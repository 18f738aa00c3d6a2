"""Symbolic links of a folder source (benchmark/home/source_links.py, and install): links inside the dataset are
followed, links leaving it are reported, loops are detected; none is dropped silently."""

from __future__ import annotations

import os
from pathlib import Path

from benchmark.home.data_home import DataHome
from benchmark.home.source_links import LinkVerdict, scan_links
from tests.benchmark.home.toy import IMAGE, make_card, write_cases


def _linked_source(tmp_path: Path) -> Path:
    """An F1 folder with every kind of link: to a file inside, to a folder inside, outward, broken, a loop of links,
    and a folder link to its own parent."""
    root = write_cases(tmp_path / "download", n_cases=2)
    outside = write_cases(tmp_path / "elsewhere", n_cases=1)
    (root / "imagesTr" / "case_002.nii.gz").symlink_to("case_000.nii.gz")  # a file inside
    (root / "labelsTr" / "case_002.nii.gz").symlink_to("../labelsTr/case_000.nii.gz")
    (root / "imagesTs").symlink_to("imagesTr")  # a folder inside
    (root / "imagesTr" / "case_009.nii.gz").symlink_to(outside / IMAGE)  # outward
    (root / "extra").symlink_to(outside)  # an outward folder
    (root / "broken.nii.gz").symlink_to("nothing-here.nii.gz")
    (root / "loop_a").symlink_to("loop_b")
    (root / "loop_b").symlink_to("loop_a")
    (root / "labelsTr" / "up").symlink_to("..")  # a folder link to its own ancestor
    return root


def test_scan_sorts_every_link(tmp_path: Path) -> None:
    scan = scan_links(_linked_source(tmp_path))
    verdicts = {link.path.as_posix(): link.verdict for link in scan.links}
    assert verdicts["imagesTr/case_002.nii.gz"] is LinkVerdict.FOLLOWED
    assert verdicts["imagesTs"] is LinkVerdict.FOLLOWED
    assert verdicts["imagesTr/case_009.nii.gz"] is LinkVerdict.OUTSIDE and verdicts["extra"] is LinkVerdict.OUTSIDE
    assert verdicts["broken.nii.gz"] is LinkVerdict.BROKEN
    assert verdicts["loop_a"] is LinkVerdict.LOOP and verdicts["loop_b"] is LinkVerdict.LOOP
    assert verdicts["labelsTr/up"] is LinkVerdict.LOOP
    aliases = {alias.as_posix(): real.as_posix() for alias, real in scan.aliases}
    assert aliases["imagesTr/case_002.nii.gz"] == "imagesTr/case_000.nii.gz"
    assert aliases["imagesTs/case_001.nii.gz"] == "imagesTr/case_001.nii.gz"
    assert aliases["imagesTs/case_002.nii.gz"] == "imagesTr/case_000.nii.gz"  # a link inside a linked folder
    assert "imagesTs/case_009.nii.gz" not in aliases and not any(a.startswith("labelsTr/up") for a in aliases)
    assert {link.path.as_posix() for link in scan.reported} >= {"extra", "broken.nii.gz", "loop_a", "labelsTr/up"}


def test_a_folder_without_links_has_nothing_to_report(tmp_path: Path) -> None:
    scan = scan_links(write_cases(tmp_path / "plain", n_cases=1))
    assert scan.links == () and scan.aliases == ()


def test_install_follows_links_inside_and_reports_the_others(git_identity: Path, tmp_path: Path) -> None:
    source = _linked_source(tmp_path)
    home = DataHome(tmp_path / "datahome")
    result = home.install(make_card("D1"), source)
    dataset = home.path / "D1"
    # followed: the link's path shows its target's content, fetched from the folder like any file
    home.get("D1", [Path("imagesTr/case_002.nii.gz"), Path("imagesTs/case_001.nii.gz")])
    assert (dataset / "imagesTr/case_002.nii.gz").read_bytes() == (source / "imagesTr/case_000.nii.gz").read_bytes()
    assert (dataset / "imagesTs/case_001.nii.gz").read_bytes() == (source / "imagesTr/case_001.nii.gz").read_bytes()
    # left out, and said so, link by link
    reported = {link.path.as_posix(): link.describe() for link in result.links if link.verdict is not
                LinkVerdict.FOLLOWED}
    assert "outside the dataset folder" in reported["imagesTr/case_009.nii.gz"]
    assert "does not exist" in reported["broken.nii.gz"] and "loop" in reported["labelsTr/up"]
    for left_out in ("imagesTr/case_009.nii.gz", "extra", "broken.nii.gz", "loop_a", "labelsTr/up"):
        assert not os.path.lexists(dataset / left_out)
    # three cases through imagesTr (case_002 a link); the source folder is untouched by the install
    from benchmark.data.dataset import load_cases

    report = load_cases(home.open_reader(make_card("D1")), load_image=False)
    assert [c.case_id for c in report.cases] == ["case_000", "case_001", "case_002"]
    assert home.verify("D1").ok
    home.drop("D1")
    assert (source / "imagesTr" / "case_002.nii.gz").is_symlink()


def test_a_source_given_through_a_link_is_its_target(git_identity: Path, tmp_path: Path) -> None:
    real = write_cases(tmp_path / "real", n_cases=1)
    (tmp_path / "shortcut").symlink_to(real)
    result = DataHome(tmp_path / "datahome").install(make_card("D1"), tmp_path / "shortcut")
    assert result.source == str(real) and result.links == ()
