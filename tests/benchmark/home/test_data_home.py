"""The DataLad data home with real DataLad and git-annex: install from a folder, a DataLad dataset and a URL (file and
.zip archive), get/drop round trips, status, verify, and every error a user can meet."""

from __future__ import annotations

import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from benchmark.data.case import Case, CaseEntry
from benchmark.data.enums import LayoutFamily
from benchmark.data.readers import registry
from benchmark.data.readers.base import Discovery, LayoutReader
from benchmark.errors import DataLadError, DatasetNotInstalledError, InstallError, LayoutError, UnknownDatasetError
from benchmark.home import datalad_ops as ops
from benchmark.home.data_home import HOME_ENV, DataHome
from benchmark.home.sources import SourceKind, resolve_source
from tests.benchmark.home.toy import IMAGE, make_card, snapshot, write_cases

if TYPE_CHECKING:
    from tests.conftest import HttpServer

def home_is_clean(home: DataHome) -> bool:
    return all(state.state == "clean" for state in ops.file_states(home.path))


def archive_members_refetchable() -> bool:
    """DataLad's archive special remote extracts with 7z when present, else with patool, which runs file(1) under the
    MAGIC database set by the git-annex wheel's launcher; file(1) 5.44 cannot read that database."""
    if shutil.which("7z"):
        return True
    spec = importlib.util.find_spec("git_annex")
    magic = Path(spec.origin).parent / "magic.mgc" if spec is not None and spec.origin else None
    if magic is None or not magic.is_file():
        return True
    try:
        probe = subprocess.run(["file", "--brief", "--mime-type", sys.executable], capture_output=True, check=False,
                               env={**os.environ, "MAGIC": str(magic)})
    except FileNotFoundError:  # no file(1): patool guesses from the file name
        return True
    return probe.returncode == 0


@dataclass(frozen=True)
class _NoOptions:
    pass


class StubReader(LayoutReader):
    """A reader for these tests only: discovers imagesTr/*.nii.gz, never decodes."""

    family = LayoutFamily.PAIRED_FOLDERS
    options_type = _NoOptions

    def discover(self) -> Discovery:
        images = sorted((self.root / "imagesTr").iterdir())
        return Discovery(tuple(CaseEntry(p.name.split(".")[0], (p,), ()) for p in images))

    def open_case(self, entry: CaseEntry) -> Case:
        raise NotImplementedError("the data-home tests only discover and fetch")


# --- fixtures: one data home per module, each source installed once -------------------------------------------------

@pytest.fixture(scope="module")
def home(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> DataHome:
    data_home = DataHome(tmp_path_factory.mktemp("data") / "home")
    data_home.ensure()
    return data_home


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = write_cases(tmp_path_factory.mktemp("user") / "Toy")
    return SimpleNamespace(root=root, files=snapshot(root))


@pytest.fixture(scope="module")
def folder_install(home: DataHome, folder: SimpleNamespace) -> Any:
    return home.install(make_card("D1"), folder.root)


@pytest.fixture(scope="module")
def datalad_source(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("upstream") / "ds"
    ops.create(root)
    write_cases(root, n_cases=1, seed=7)
    (root / "dataset.json").write_text('{"labels": {"0": "background", "1": "blob", "2": "dot"}}\n', encoding="utf-8")
    ops.save(root, paths=[root / "dataset.json"], message="labels", to_git=True)
    ops.save(root, message="cases")
    return root


@pytest.fixture(scope="module")
def clone_install(home: DataHome, datalad_source: Path) -> Any:
    return home.install(make_card("D3"), datalad_source)


@pytest.fixture(scope="module")
def url_install(home: DataHome, http_server: HttpServer, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """D5 from a .zip served over HTTP (a single downloaded file is covered by test_datalad_ops)."""
    staging = write_cases(tmp_path_factory.mktemp("zip") / "Task99_Toy", n_cases=1, seed=3)
    shutil.make_archive(str(http_server.root / "Task99_Toy"), "zip", staging.parent, staging.name)
    result = home.install(make_card("D5"), f"{http_server.url}/Task99_Toy.zip")
    return SimpleNamespace(result=result, members=snapshot(staging))


# --- install from a local folder --------------------------------------------------------------------------------------

def test_install_from_folder_registers_files_without_touching_them(home: DataHome, folder: SimpleNamespace,
                                                                  folder_install: Any) -> None:
    assert snapshot(folder.root) == folder.files
    assert folder_install.path == home.path / "D1" and folder_install.source == str(folder.root)
    assert folder_install.source_kind is SourceKind.FOLDER and not folder_install.already_installed
    assert len(folder_install.commit) == 40 and folder_install.commit == home.commit("D1")
    assert home.is_installed("D1") and home_is_clean(home)
    # registered only: content stays in the user's folder until fetched
    assert os.path.islink(home.path / "D1" / IMAGE) and not (home.path / "D1" / IMAGE).exists()


def test_folder_drop_then_get_round_trips_a_file(home: DataHome, folder: SimpleNamespace, folder_install: Any) -> None:
    target = home.path / "D1" / IMAGE
    home.get("D1", [IMAGE])
    assert target.read_bytes() == folder.files[IMAGE.as_posix()]
    home.drop("D1", [IMAGE])
    assert not target.exists()
    home.get("D1", [target])  # absolute paths inside the dataset work too
    assert target.read_bytes() == folder.files[IMAGE.as_posix()]
    home.drop("D1")
    assert not target.exists() and snapshot(folder.root) == folder.files and home_is_clean(home)


def test_fetcher_gets_missing_files_and_is_picklable(home: DataHome, folder_install: Any) -> None:
    fetch = home.fetcher("D1")
    target = home.path / "D1" / IMAGE
    fetch([target])
    fetch([target])  # present already: no DataLad call
    home.drop("D1", [])  # an empty selection is not the whole dataset
    assert target.exists()
    assert pickle.loads(pickle.dumps(fetch)) == fetch
    home.drop("D1", [IMAGE])


def test_open_reader_stamps_the_commit_and_fetches_on_demand(monkeypatch: pytest.MonkeyPatch, home: DataHome,
                                                            folder_install: Any) -> None:
    monkeypatch.setitem(registry.READERS, LayoutFamily.PAIRED_FOLDERS, StubReader)
    reader = home.open_reader(make_card("D1"))
    assert reader.data_version == folder_install.commit and reader.root == home.path / "D1"
    entry = reader.discover().entries[0]
    reader.fetch(entry.files)
    assert entry.files[0].exists()
    home.drop("D1")


def test_cases_load_through_the_f1_reader_fetching_content(home: DataHome, folder_install: Any) -> None:
    pytest.importorskip("benchmark.data.readers.paired_folders")
    from benchmark.data.dataset import load_cases

    home.drop("D1")
    report = load_cases(home.open_reader(make_card("D1")))
    assert report.errors == () and [c.case_id for c in report.cases] == ["case_000", "case_001"]
    assert all(c.data_version == folder_install.commit and c.image.shape == (1, 12, 10, 6) for c in report.cases)
    assert home.status("D1")[0].n_present == 4
    home.drop("D1")


def test_status_reports_files_presence_and_source(home: DataHome, folder: SimpleNamespace,
                                                  folder_install: Any) -> None:
    home.get("D1", [IMAGE])
    (status,) = home.status("D1")
    assert (status.dataset_id, status.path, status.commit) == ("D1", home.path / "D1", folder_install.commit)
    assert status.clean and status.n_files == 4 and status.n_present == 1
    assert status.source == str(folder.root) and status.source_kind is SourceKind.FOLDER
    assert "D1" in [s.dataset_id for s in home.status()]
    home.drop("D1")


def test_verify_catches_corrupt_content(home: DataHome, folder_install: Any) -> None:
    home.get("D1", [IMAGE])
    content = (home.path / "D1" / IMAGE).resolve()
    content.chmod(0o644)
    content.write_bytes(b"not the image any more")
    report = home.verify("D1")
    assert not report.ok and any(IMAGE.as_posix() in p and "fsck" in p for p in report.problems)
    home.get("D1", [IMAGE])  # fsck moved the bad copy aside: fetch a good one again
    assert home.verify("D1").ok
    home.drop("D1")


def test_changed_source_folder_is_reported_and_blocks_drop(home: DataHome, folder: SimpleNamespace,
                                                           folder_install: Any) -> None:
    source = folder.root / IMAGE
    before, original = source.stat(), source.read_bytes()
    home.get("D1", [IMAGE])
    try:
        with source.open("r+b") as stream:  # the user edits their copy in place
            stream.write(b"edited")
        report = home.verify("D1")
        assert not report.ok and any(IMAGE.as_posix() in p and str(folder.root) in p for p in report.problems)
        with pytest.raises(DataLadError, match="refusing to drop") as err:
            home.drop("D1", [IMAGE])
        assert IMAGE.as_posix() in str(err.value) and (home.path / "D1" / IMAGE).exists()
    finally:  # same bytes, inode and mtime: git-annex sees the file as it was imported
        with source.open("r+b") as stream:
            stream.write(original)
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert home.verify("D1").ok
    home.drop("D1")


def test_install_twice(home: DataHome, folder: SimpleNamespace, folder_install: Any, tmp_path: Path) -> None:
    again = home.install(make_card("D1"), folder.root)
    assert again.already_installed and again.commit == folder_install.commit
    other = write_cases(tmp_path / "other", n_cases=1)
    with pytest.raises(InstallError, match="already installed") as err:
        home.install(make_card("D1"), other)
    assert "D1" in str(err.value) and str(folder.root) in str(err.value) and str(other) in str(err.value)
    assert "propbench datasets remove D1" in str(err.value)


def test_install_refuses_a_folder_overlapping_the_home(home: DataHome) -> None:
    with pytest.raises(InstallError, match="overlaps the data home"):
        home.install(make_card("D8"), home.path.parent)


# --- install from an existing DataLad dataset -------------------------------------------------------------------------

def test_install_from_datalad_dataset_clones_it(home: DataHome, datalad_source: Path, clone_install: Any) -> None:
    assert clone_install.source_kind is SourceKind.DATALAD
    assert clone_install.commit == ops.head_commit(datalad_source)  # the upstream commit is the data version
    target = home.path / "D3" / IMAGE
    home.get("D3", [IMAGE])
    assert target.read_bytes() == (datalad_source / IMAGE).read_bytes()
    home.drop("D3", [IMAGE])
    assert not target.exists()
    home.get("D3", [IMAGE])
    assert target.exists() and home_is_clean(home)


def test_verify_reports_a_modified_worktree_file(home: DataHome, clone_install: Any) -> None:
    tracked = home.path / "D3" / "dataset.json"
    original = tracked.read_text(encoding="utf-8")
    tracked.write_text('{"labels": {}}\n', encoding="utf-8")
    try:
        report = home.verify("D3")
        assert not report.ok and any("dataset.json" in p and "modified" in p for p in report.problems)
        assert not home.status("D3")[0].clean
    finally:
        tracked.write_text(original, encoding="utf-8")
    assert home.verify("D3").ok


# --- install from a URL ---------------------------------------------------------------------------------------------

def test_install_from_url_extracts_the_archive_and_keeps_it(home: DataHome, http_server: HttpServer,
                                                            url_install: SimpleNamespace) -> None:
    assert url_install.result.source_kind is SourceKind.URL
    assert url_install.result.source == f"{http_server.url}/Task99_Toy.zip"
    extracted = home.path / "D5"
    for name, data in url_install.members.items():  # leading folder stripped: the archive's top is the root
        assert (extracted / name).read_bytes() == data
    kept = extracted / ".propbench" / "archives" / "Task99_Toy.zip"
    assert os.path.islink(kept) and not kept.exists()  # kept as provenance, content dropped (URL recorded)
    assert home_is_clean(home) and home.verify("D5").ok
    (status,) = home.status("D5")
    assert status.n_files == 2 and status.n_present == 2  # the kept archive is hidden, not counted


def test_archive_round_trips_through_the_web_remote(home: DataHome, url_install: SimpleNamespace) -> None:
    archive = Path(".propbench/archives/Task99_Toy.zip")
    home.get("D5", [archive])
    assert (home.path / "D5" / archive).exists()
    home.drop("D5", [archive])
    assert not (home.path / "D5" / archive).exists()


@pytest.mark.skipif(not archive_members_refetchable(),
                    reason="DataLad cannot extract archives under git-annex here: no 7z, and file(1) cannot read the "
                           "git-annex wheel's magic.mgc (install p7zip-full)")
def test_archive_member_round_trips_through_the_archive(home: DataHome, url_install: SimpleNamespace) -> None:
    target = home.path / "D5" / IMAGE
    home.drop("D5", [IMAGE])
    assert not target.exists()
    home.get("D5", [IMAGE])
    assert target.read_bytes() == url_install.members[IMAGE.as_posix()]


def test_failed_download_names_the_url_and_leaves_no_trace(home: DataHome, http_server: HttpServer) -> None:
    url = f"{http_server.url}/missing.nii.gz"
    with pytest.raises(DataLadError, match="missing.nii.gz"):
        home.install(make_card("D9"), url)
    assert not home.is_installed("D9") and not (home.path / "D9").exists() and home_is_clean(home)


# --- errors and resolution, no DataLad needed ------------------------------------------------------------------------

def test_get_of_a_dataset_not_installed_names_it(home: DataHome) -> None:
    with pytest.raises(DatasetNotInstalledError, match="'D99' is not installed") as err:
        home.get("D99")
    assert "propbench datasets install D99 --from <SRC>" in str(err.value)


def test_open_reader_of_a_dataset_not_installed_gives_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotInstalledError) as err:
        DataHome(tmp_path / "home").open_reader(make_card("D7"))
    message = str(err.value)
    assert "propbench datasets install D7 --from <SRC>" in message and "https://example.org/toy" in message


def test_install_source_that_does_not_exist_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(InstallError, match="does not exist") as err:
        DataHome(tmp_path / "home").install(make_card("D1"), missing)
    assert str(missing) in str(err.value) and not (tmp_path / "home").exists()


def test_install_refuses_to_overwrite_a_leftover_folder(tmp_path: Path) -> None:
    source = write_cases(tmp_path / "download", n_cases=1)
    (tmp_path / "home" / "D1").mkdir(parents=True)
    with pytest.raises(InstallError, match="exists and is not an installed dataset") as err:
        DataHome(tmp_path / "home").install(make_card("D1"), source)
    assert str(tmp_path / "home" / "D1") in str(err.value)


def test_paths_outside_the_dataset_are_refused(home: DataHome, folder_install: Any) -> None:
    with pytest.raises(LayoutError, match="outside the dataset"):
        home.get("D1", [Path("../D3/dataset.json")])


@pytest.mark.parametrize("bad_id", ["", "..", ".hidden", "D1/x"])
def test_dataset_path_refuses_ids_that_are_not_folder_names(bad_id: str, tmp_path: Path) -> None:
    with pytest.raises(UnknownDatasetError, match="dataset_id"):
        DataHome(tmp_path).dataset_path(bad_id)


@pytest.mark.parametrize(("source", "kind"), [
    ("https://example.org/data/Task03_Liver.tar", SourceKind.URL),
    ("http://example.org/get?id=1&f=x.zip", SourceKind.DATALAD),  # no suffix in the path: pass kind to override
    ("https://github.com/OpenNeuroDatasets/ds000001", SourceKind.DATALAD),
    ("https://example.org/ds.git", SourceKind.DATALAD),
    ("ssh://host/data/ds", SourceKind.DATALAD),
    ("git@github.com:org/ds.git", SourceKind.DATALAD),
    ("///openneuro/ds000001", SourceKind.DATALAD),
])
def test_resolve_source_kinds_of_remote_sources(source: str, kind: SourceKind) -> None:
    assert resolve_source(source) == (source, kind)


def test_resolve_source_local_kinds_and_mismatches(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert resolve_source(plain) == (str(plain), SourceKind.FOLDER)
    assert resolve_source(f"file://{repo}") == (str(repo), SourceKind.DATALAD)
    assert resolve_source("http://x.org/get", kind="url") == ("http://x.org/get", SourceKind.URL)
    with pytest.raises(InstallError, match="not datalad"):
        resolve_source(plain, kind=SourceKind.DATALAD)
    with pytest.raises(InstallError, match="cannot be a url source"):
        resolve_source("ssh://host/ds", kind="url")
    with pytest.raises(InstallError, match="argument kind is 'zip'"):
        resolve_source("https://x.org/a.zip", kind="zip")
    (plain / "a.zip").write_bytes(b"PK")
    with pytest.raises(InstallError, match="is a file"):
        resolve_source(plain / "a.zip")


def test_resolve_home_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv(HOME_ENV, raising=False)
    assert DataHome.resolve().path == tmp_path / "user" / ".local" / "share" / "propbench" / "home"
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "env"))
    assert DataHome.resolve().path == tmp_path / "env"
    assert DataHome.resolve(tmp_path / "arg").path == tmp_path / "arg"


def test_ensure_refuses_a_folder_that_is_not_a_dataset(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InstallError, match="not a DataLad dataset"):
        DataHome(tmp_path / "home").ensure()


# --- sources that are refused or ambiguous ---------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["the home", "a dataset of it", "a folder inside a dataset"])
def test_the_data_home_or_anything_inside_it_is_refused_as_a_source(home: DataHome, folder_install: Any,
                                                                    where: str) -> None:
    source = {"the home": home.path, "a dataset of it": home.path / "D1",
              "a folder inside a dataset": home.path / "D1" / "imagesTr"}[where]
    head = ops.head_commit(home.path)
    with pytest.raises(InstallError, match="overlaps the data home") as err:
        home.install(make_card("D8"), source)
    assert str(source) in str(err.value) and not home.is_installed("D8") and ops.head_commit(home.path) == head


def _git_clone_with_ignored_images(root: Path) -> Path:
    """A git repository whose images are git-ignored (as code repositories ship data): git tracks the rest."""
    write_cases(root, n_cases=2)
    (root / ".gitignore").write_text("*.nii.gz\n", encoding="utf-8")
    (root / "README.md").write_text("data\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", ".gitignore", "README.md"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", "code"], check=True)
    return root


def test_a_git_repository_with_untracked_files_asks_for_a_kind(git_identity: Path, tmp_path: Path) -> None:
    repo = _git_clone_with_ignored_images(tmp_path / "clone")
    with pytest.raises(InstallError, match="git does not track 4 of its files") as err:
        resolve_source(repo)
    assert "imagesTr/case_000.nii.gz" in str(err.value) and "--kind" in str(err.value)
    assert "'folder' registers every file" in str(err.value)
    assert resolve_source(repo, kind="folder") == (str(repo), SourceKind.FOLDER)
    assert resolve_source(repo, kind="datalad") == (str(repo), SourceKind.DATALAD)
    home = DataHome(tmp_path / "datahome")
    with pytest.raises(InstallError, match="git does not track"):
        home.install(make_card("D1"), repo)
    result = home.install(make_card("D1"), repo, kind="folder")  # every file of the folder, .git left out
    (status,) = home.status("D1")
    assert result.source_kind is SourceKind.FOLDER and status.n_files == 5  # 4 images and labels, README.md
    home.get("D1", [IMAGE])
    assert (home.path / "D1" / IMAGE).read_bytes() == (repo / IMAGE).read_bytes()


def test_a_git_repository_that_tracks_every_file_is_cloned(git_identity: Path, tmp_path: Path) -> None:
    repo = write_cases(tmp_path / "tracked", n_cases=1)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "all"], check=True)
    assert resolve_source(repo) == (str(repo), SourceKind.DATALAD)


# --- verify checks every dataset --------------------------------------------------------------------------------------

def test_verify_reports_every_dataset_whatever_one_of_them_does(git_identity: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"  # a DataLad dataset without git-annex: every file in git
    ops.create(plain, annex=False)
    write_cases(plain, n_cases=1)
    ops.save(plain, message="cases")
    home = DataHome(tmp_path / "datahome")
    home.install(make_card("D1"), plain)
    home.install(make_card("D2"), write_cases(tmp_path / "two", n_cases=1))
    home.install(make_card("D3"), write_cases(tmp_path / "three", n_cases=1))
    (home.path / "D2" / ".git" / "index").write_bytes(b"not an index")  # git cannot read D2's worktree state
    reports = {r.dataset_id: r for r in home.verify_all()}
    assert sorted(reports) == ["D1", "D2", "D3"]
    assert reports["D1"].ok and reports["D3"].ok
    assert not reports["D2"].ok and any("could not run" in p and "D2" in p for p in reports["D2"].problems)
    (home.path / "D1" / IMAGE).chmod(0o644)
    (home.path / "D1" / IMAGE).write_bytes(b"changed in git")
    assert any(IMAGE.as_posix() in p and "modified" in p for p in home.verify("D1").problems)


# --- remove ----------------------------------------------------------------------------------------------------------

def test_remove_takes_a_dataset_out_and_another_source_can_follow(git_identity: Path, tmp_path: Path) -> None:
    source = write_cases(tmp_path / "first", n_cases=1)
    files = snapshot(source)
    home = DataHome(tmp_path / "datahome")
    home.install(make_card("D1"), source)
    home.get("D1")
    home.remove("D1")
    assert not home.is_installed("D1") and not (home.path / "D1").exists() and home_is_clean(home)
    assert "D1" not in (home.path / ".gitmodules").read_text(encoding="utf-8") and snapshot(source) == files
    other = home.install(make_card("D1"), write_cases(tmp_path / "second", n_cases=2, seed=4))
    assert other.source == str(tmp_path / "second") and home.verify("D1").ok and home.status("D1")[0].n_files == 4


def test_remove_never_loses_the_only_good_copy(git_identity: Path, tmp_path: Path) -> None:
    source = write_cases(tmp_path / "first", n_cases=1)
    home = DataHome(tmp_path / "datahome")
    home.install(make_card("D1"), source)
    home.get("D1", [IMAGE])
    kept = (home.path / "D1" / IMAGE).read_bytes()
    (source / IMAGE).unlink()
    (source / IMAGE).write_bytes(b"another file now")
    with pytest.raises(DataLadError, match="refusing to drop"):
        home.remove("D1")
    assert home.is_installed("D1") and (home.path / "D1" / IMAGE).read_bytes() == kept
    (home.path / "D1" / "stray.txt").write_text("unsaved", encoding="utf-8")
    with pytest.raises(InstallError, match=r"cannot remove D1: 1 file\(s\) .* \(stray.txt \(untracked\)\)"):
        home.remove("D1")
