"""``propbench datasets demo`` (benchmark/cli/demo_command.py), run through ``benchmark.cli.main.main``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from benchmark.cli.demo_command import default_sources, run_demo
from benchmark.cli.main import build_parser, main
from benchmark.demo import collection
from benchmark.home.data_home import HOME_ENV, DataHome, InstallResult
from benchmark.home.sources import SourceKind
from tests.benchmark.home.processes import run_propbench, small_demo

IDS = [dataset.id for dataset in collection.DEMO_DATASETS]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def fake_build(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace build_demo by a recorder that reports the first two datasets installed and the others present."""
    calls: list[dict[str, Any]] = []

    def build(home: DataHome, sources: Path, seed: int = 0, *, catalog: Any = None) -> tuple[InstallResult, ...]:
        calls.append({"home": home, "sources": sources, "seed": seed, "catalog": catalog})
        return tuple(InstallResult(dataset_id, home.path / dataset_id, f"{i:040x}", str(sources / dataset_id),
                                   SourceKind.FOLDER, already_installed=i >= 2) for i, dataset_id in enumerate(IDS))

    monkeypatch.setattr(collection, "build_demo", build)
    return calls


def test_parser_reads_sources_and_seed() -> None:
    args = build_parser().parse_args(["datasets", "demo", "--sources", "kept", "--seed", "3"])
    assert args.func is run_demo
    assert (args.sources, args.seed) == (Path("kept"), 3)
    defaults = build_parser().parse_args(["datasets", "demo"])
    assert (defaults.sources, defaults.seed) == (None, 0)


def test_default_sources_lie_beside_the_home(tmp_path: Path) -> None:
    assert default_sources(DataHome(tmp_path / "home")) == tmp_path / "home-demo-sources"


def test_prints_what_was_installed_and_the_home(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                fake_build: list[dict[str, Any]]) -> None:
    home = tmp_path / "home"
    status, out, err = _run(capsys, "datasets", "--home", str(home), "demo", "--seed", "5")
    assert (status, err) == (0, "")
    call = fake_build[0]
    assert call["home"] == DataHome(home) and call["seed"] == 5
    assert call["sources"] == tmp_path / "home-demo-sources"
    assert {card.id for card in call["catalog"].demo} == set(IDS)
    lines = out.splitlines()
    assert lines[0].startswith(IDS[0]) and " installed " in lines[0] and str(home / IDS[0]) in lines[0]
    assert lines[3].startswith(IDS[3]) and "already installed, left as it is" in lines[3]
    assert f"data home: {home}" in out
    assert f"demo sources (keep: content is fetched from there): {tmp_path / 'home-demo-sources'}" in out
    assert "2 dataset(s) installed, 2 already present" in out


def test_home_from_the_environment_and_explicit_sources(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        fake_build: list[dict[str, Any]]) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "env-home"))
    status, out, _ = _run(capsys, "datasets", "demo", "--sources", str(tmp_path / "kept"))
    assert status == 0
    assert fake_build[0]["home"] == DataHome(tmp_path / "env-home")
    assert fake_build[0]["sources"] == tmp_path / "kept"
    assert f"data home: {tmp_path / 'env-home'}" in out


def test_sources_inside_the_home_are_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home = tmp_path / "home"
    status, out, err = _run(capsys, "datasets", "--home", str(home), "demo", "--sources", str(home / "src"))
    assert status == 2 and out == ""
    assert f"argument sources: {home / 'src'} overlaps the data home {home}" in err


@pytest.mark.slow
def test_real_run_installs_once_and_quietly(git_identity: Path, tmp_path: Path) -> None:
    # A real propbench process (DataLad sets up its logging once per process): two datasets of one case each keep
    # it short; the full build is tested with the collection (tests/benchmark/demo/test_collection.py).
    code = small_demo(["DEMO-CASE", "DEMO-TS"])
    home = tmp_path / "datahome"
    done = run_propbench(["datasets", "--home", str(home), "demo"], code=code)
    assert done.returncode == 0, done.stderr
    assert "INFO" not in done.stderr  # DataLad's line per fetched file only with --verbose
    assert "2 dataset(s) installed, 0 already present" in done.stdout
    assert sorted(p.name for p in (tmp_path / "datahome-demo-sources").iterdir()) == ["DEMO-CASE", "DEMO-TS"]
    assert DataHome(home).installed_ids() == ("DEMO-CASE", "DEMO-TS")
    again = run_propbench(["datasets", "--home", str(home), "demo", "--seed", "9"], code=code)
    assert again.returncode == 0 and again.stdout.count("already installed, left as it is") == 2
    assert "0 dataset(s) installed, 2 already present" in again.stdout and "demo sources" not in again.stdout
    assert run_propbench(["datasets", "--home", str(home), "drop", "DEMO-CASE"]).returncode == 0
    verbose = run_propbench(["-v", "datasets", "--home", str(home), "get", "DEMO-CASE"])
    assert verbose.returncode == 0 and "INFO" in verbose.stderr  # shown when asked for

def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_failed_write_leaves_the_previous_sources_folder_as_it_was(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A data home fetches content from the sources folder: a write that fails midway (disk full, a kill) must not
    # leave it half-written. The demo command's writes go through collection.write_dataset.
    dataset = replace(collection.demo_dataset("DEMO-CASE"), cases=1)
    root = collection.write_dataset(dataset, tmp_path / "DEMO-CASE")
    before = _files(root)
    (tmp_path / ".DEMO-CASE.partial-999999999").mkdir()  # left by a writer that was killed

    def fail_midway(folder: Path, *args: Any) -> None:
        (folder / "case_00000").mkdir()
        (folder / "case_00000" / "imaging.nii.gz").write_bytes(b"half written")
        raise OSError("No space left on device")

    monkeypatch.setitem(collection._WRITERS, dataset.family, fail_midway)
    with pytest.raises(OSError, match="No space left"):
        collection.write_dataset(dataset, root, seed=1)
    assert _files(root) == before and sorted(p.name for p in tmp_path.iterdir()) == ["DEMO-CASE"]
    monkeypatch.undo()
    rewritten = collection.write_dataset(dataset, root, seed=1)
    assert _files(rewritten) != before and sorted(p.name for p in tmp_path.iterdir()) == ["DEMO-CASE"]
