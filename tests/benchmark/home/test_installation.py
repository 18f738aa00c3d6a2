"""Before the data home changes (benchmark/home/installation.py): a newcomer without a git identity, a data home
left half-made by a failed create, and a source that is not the dataset's root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.errors import InstallError
from benchmark.home import datalad_ops as ops
from benchmark.home import git_ops
from benchmark.home.data_home import DataHome
from tests.benchmark.home.processes import SMALL_DEMO, run_propbench
from tests.benchmark.home.toy import make_card, write_cases
from tests.cards import write_card

IDENTITY_LINE = "repository-local identity"


def _authors(repo: Path) -> set[str]:
    """Every author and committer of the current branch of ``repo``."""
    done = subprocess.run(["git", "-C", str(repo), "log", "--format=%an <%ae>|%cn <%ce>"], capture_output=True,
                          text=True, check=True)
    return {who for line in done.stdout.splitlines() for who in line.split("|")}


@pytest.mark.slow
def test_a_newcomer_without_git_identity_runs_the_demo_and_an_install(no_git_identity: Path,
                                                                     tmp_path: Path) -> None:
    assert not git_ops.has_identity(None)  # as on a fresh machine: git would refuse to commit
    home = tmp_path / "datahome"
    env = {**os.environ, "PROPBENCH_HOME": str(home), "PROPBENCH_CACHE": str(tmp_path / "cache")}
    demo = run_propbench(["datasets", "demo"], env, code=SMALL_DEMO)
    assert demo.returncode == 0, demo.stderr
    said = [line for line in demo.stderr.splitlines() if IDENTITY_LINE in line]
    assert len(said) == 1 and str(git_ops.FALLBACK_IDENTITY) in said[0] and str(home / ".git" / "config") in said[0]
    assert "INFO" not in demo.stderr  # DataLad's line per file stays hidden without --verbose
    assert "highly recommended to configure Git" not in demo.stderr  # replaced by the line above
    assert git_ops.local_identity(home) == git_ops.FALLBACK_IDENTITY
    installed = DataHome(home).installed_ids()
    assert len(installed) == 4
    for repo in (home, *(home / dataset_id for dataset_id in installed)):
        assert _authors(repo) == {str(git_ops.FALLBACK_IDENTITY)}

    write_card(tmp_path / "cards", "U1", {"1": "blob", "2": "dot"})
    source = write_cases(tmp_path / "download", n_cases=1)
    install = run_propbench(["datasets", "--cards", str(tmp_path / "cards"), "install", "U1", "--from", str(source)],
                            env)
    assert install.returncode == 0, install.stderr
    assert IDENTITY_LINE not in install.stderr  # said once, when the data home got it
    assert _authors(home / "U1") == {str(git_ops.FALLBACK_IDENTITY)}
    reports = DataHome(home).verify_all()
    assert len(reports) == 5 and all(r.ok for r in reports), reports


def test_a_users_own_identity_is_used_when_there_is_one(git_identity: Path, tmp_path: Path) -> None:
    home = DataHome(tmp_path / "datahome")
    home.install(make_card("U1"), write_cases(tmp_path / "download", n_cases=1))
    assert git_ops.local_identity(home.path) is None and git_ops.local_identity(home.path / "U1") is None
    assert _authors(home.path) == {"PropSAM Bench Tests <tests@propbench.invalid>"}


@pytest.mark.parametrize("first_call", ["install", "ensure"])  # ensure: the demo command's first step
def test_a_home_left_half_made_by_a_failed_create_is_made_again(no_git_identity: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               first_call: str) -> None:
    home = tmp_path / "datahome"
    # What a release without the identity fallback left: DataLad's create of the home and of a dataset in it, both
    # failing for want of an identity (a real DataLad run, in its own process).
    script = ("import sys, datalad.api as dl\n"
              "for kw in (dict(path=sys.argv[1], annex=False), dict(path=sys.argv[1] + '/U1', dataset=sys.argv[1])):\n"
              "    try:\n"
              "        dl.create(result_renderer='disabled', on_failure='ignore', **kw)\n"
              "    except Exception as err:\n"
              "        print(type(err).__name__)\n")
    failed = subprocess.run([sys.executable, "-c", script, str(home)], capture_output=True, text=True, check=True)
    assert "CommandError" in failed.stdout and git_ops.head(home) is None and (home / "U1" / ".git").is_dir()
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Later")  # the user sets an identity and runs again
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "later@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Later")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "later@example.invalid")
    if first_call == "ensure":
        DataHome(home).ensure()
        assert git_ops.head(home) is not None and not (home / "U1").exists()
    result = DataHome(home).install(make_card("U1"), write_cases(tmp_path / "download", n_cases=1))
    assert result.path == home / "U1" and DataHome(home).installed_ids() == ("U1",)
    assert all(s.state == "clean" for s in ops.file_states(home)) and DataHome(home).verify("U1").ok


def test_a_half_made_home_holding_other_files_is_not_touched(git_identity: Path, tmp_path: Path) -> None:
    home = tmp_path / "datahome"
    subprocess.run(["git", "init", "-q", str(home)], check=True)
    (home / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InstallError, match=r"half-made .* holds \['notes.txt'\]"):
        DataHome(home).ensure()
    assert (home / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("kind", ["a folder inside it", "a dataset one level up", "unpaired files"])
def test_a_source_that_is_not_the_dataset_root_is_refused(git_identity: Path, tmp_path: Path, kind: str) -> None:
    dataset = write_cases(tmp_path / "Task01", n_cases=2)
    if kind == "a dataset one level up":
        ops.create(tmp_path / "wrong", description="")
        write_cases(tmp_path / "wrong" / "case_000", n_cases=1)
        ops.save(tmp_path / "wrong", message="nested")
        wrong, expected = tmp_path / "wrong", "imagesTr"
    elif kind == "unpaired files":  # the layout's folders, but no image has its label
        wrong = tmp_path / "unpaired"
        (wrong / "labelsTr").mkdir(parents=True)
        (wrong / "imagesTr").mkdir()
        (dataset / "imagesTr" / "case_000.nii.gz").rename(wrong / "imagesTr" / "case_000.nii.gz")
        expected = "case_000"
    else:
        wrong, expected = dataset / "imagesTr", "imagesTr"
    home = DataHome(tmp_path / "datahome")
    home.install(make_card("U1"), write_cases(tmp_path / "other", n_cases=1))
    head = git_ops.head(home.path)
    with pytest.raises(InstallError, match="holds no case of U2 in layout F1") as err:
        home.install(make_card("U2"), wrong)
    assert str(wrong) in str(err.value) and expected in str(err.value)  # the discovery's own errors are given
    assert git_ops.head(home.path) == head and home.installed_ids() == ("U1",) and not (home.path / "U2").exists()
    assert not any((home.path / ".git" / "propbench" / "staging").iterdir())


def test_a_folder_whose_labels_disagree_with_the_card_is_refused(git_identity: Path, tmp_path: Path) -> None:
    source = write_cases(tmp_path / "download", n_cases=1)
    (source / "dataset.json").write_text('{"labels": {"0": "background", "1": "liver"}}', encoding="utf-8")
    home = DataHome(tmp_path / "datahome")
    with pytest.raises(InstallError, match="does not fit the card of U1") as err:
        home.install(make_card("U1"), source)
    assert "dataset.json" in str(err.value) and not home.path.exists()
