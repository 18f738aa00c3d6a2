"""Crash safety of the data home (benchmark/home/transactions.py): a real ``propbench`` subprocess is SIGKILLed at
several points of ``install``, ``remove`` and the home's creation, and the next command must work with the home.

The process is stopped deterministically where it is killed: at the suite's named pause points
(``$PROPBENCH_PAUSE_AT``), or inside git itself by a hook that blocks while git holds its locks (the superdataset's
``reference-transaction`` hook in state ``prepared``, with ``index.lock`` and the ref locks taken), or at the end of
a clone's checkout (``post-checkout``, through ``GIT_TEMPLATE_DIR``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmark.cli.main import main
from benchmark.home import datalad_ops as ops
from benchmark.home import git_ops, transactions
from benchmark.home.data_home import DataHome
from tests.benchmark.home.processes import marker_hook, start_propbench
from tests.benchmark.home.toy import make_card, write_cases
from tests.cards import write_card

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Crash:
    """Where an install is killed: a pause step, or a git hook (``hook``) that blocks."""

    name: str
    step: str = ""
    hook: str = ""
    kind: str = "folder"


CRASHES = [
    Crash("late in a clone's checkout", hook="post-checkout", kind="datalad"),
    Crash("staged, before the move", step="install:staged"),
    Crash("moved into the home, not registered", step="install:moved"),
    Crash("inside git's commit, locks held", hook="reference-transaction"),
    Crash("after the commit", step="install:committed"),
]


@pytest.fixture(scope="module")
def template(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Cards U1 and U2, a home with U1 installed from a folder (copied for each test), and two sources for U2 (a
    folder and a dataset), shared and never changed."""
    root = tmp_path_factory.mktemp("sources")
    cards = root / "cards"
    for dataset_id in ("U1", "U2"):
        write_card(cards, dataset_id, {"1": "blob", "2": "dot"})
    dataset = root / "d2-dataset"
    ops.create(dataset)
    write_cases(dataset, n_cases=1, seed=6)
    ops.save(dataset, message="cases")
    home = DataHome(root / "template-home")
    first = home.install(make_card("U1"), write_cases(root / "d1-folder", n_cases=1))
    return SimpleNamespace(home=home, cards=cards, folder=write_cases(root / "d2-folder", n_cases=2, seed=5),
                           dataset=dataset, first=first)


@pytest.fixture
def setup(template: SimpleNamespace, git_identity: Path, tmp_path: Path) -> SimpleNamespace:
    """A fresh copy of the template's home (a git-annex repository works wherever it is moved or copied)."""
    home = DataHome(tmp_path / "datahome")
    shutil.copytree(template.home.path, home.path, symlinks=True)
    return SimpleNamespace(home=home, cards=template.cards, folder=template.folder, dataset=template.dataset,
                           first=template.first, tmp=tmp_path, head=git_ops.head(home.path),
                           prefix=["datasets", "--cards", str(template.cards), "--home", str(home.path)])


def _kill_at(crash: Crash, setup: SimpleNamespace, argv: list[str],
             while_paused: Callable[[], None] | None = None) -> None:
    env = dict(os.environ)
    marker = setup.tmp / "reached"
    if crash.step:
        env[transactions.PAUSE_ENV] = crash.step
    elif crash.hook == "reference-transaction":
        marker_hook(setup.home.path / ".git" / "hooks" / crash.hook, marker, when="prepared")
    else:
        marker_hook(setup.tmp / "template" / "hooks" / crash.hook, marker)
        env["GIT_TEMPLATE_DIR"] = str(setup.tmp / "template")
    running = start_propbench(argv, env)
    try:
        if crash.step:
            running.wait_for_pause(crash.step)
        else:
            running.wait_until(marker.exists, f"the {crash.hook} hook")
        if while_paused is not None:
            while_paused()
    finally:
        running.kill()
    if crash.hook:  # the next commands must not block in it
        (setup.home.path / ".git" / "hooks" / crash.hook).unlink(missing_ok=True)


def _assert_consistent(setup: SimpleNamespace, installed: tuple[str, ...], *, verify: bool = True) -> None:
    home = setup.home
    gitdir = home.path / ".git"
    assert not transactions.needs_recovery(home.path)
    assert not list(gitdir.glob("*.lock")) and not list((gitdir / "refs").rglob("*.lock"))
    assert home.installed_ids() == installed
    assert all(s.state == "clean" for s in ops.file_states(home.path))
    assert home.commit("U1") == setup.first.commit and (not verify or home.verify("U1").ok)


@pytest.mark.parametrize("crash", CRASHES, ids=[c.name for c in CRASHES])
def test_a_killed_install_leaves_a_home_the_next_commands_work_with(crash: Crash, setup: SimpleNamespace,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    source = setup.dataset if crash.kind == "datalad" else setup.folder

    def read_meanwhile() -> None:  # a reader never waits for a live install, nor disturbs it
        assert "U1" in setup.home.installed_ids() and transactions.needs_recovery(setup.home.path)

    _kill_at(crash, setup, [*setup.prefix, "install", "U2", "--from", str(source)], read_meanwhile)
    home = setup.home.path
    staged = list((transactions.private_dir(home) / "staging").glob("U2.*"))
    # the kill really hit the step named
    if crash.step == "install:staged" or crash.hook == "post-checkout":
        assert len(staged) == 1 and (staged[0] / ".git").is_dir() and not (home / "U2").exists()
    elif crash.step == "install:moved":
        assert (home / "U2" / ".git").is_dir() and git_ops.registered_id(home, "U2") is None
    elif crash.hook == "reference-transaction":
        assert (home / ".git" / "index.lock").exists()
    else:
        assert git_ops.registered_id(home, "U2") == "U2"

    assert main([*setup.prefix, "status"]) == 0  # the next command finishes or undoes the install
    committed = crash.step == "install:committed"
    _assert_consistent(setup, ("U1", "U2") if committed else ("U1",), verify=False)
    assert (git_ops.head(home) == setup.head) is not committed
    capsys.readouterr()
    assert main([*setup.prefix, "install", "U2", "--from", str(source)]) == 0
    assert ("already installed" in capsys.readouterr().out) is committed
    _assert_consistent(setup, ("U1", "U2"))
    assert setup.home.verify("U2").ok and setup.home.status("U2")[0].n_files == (2 if crash.kind == "datalad" else 4)


def test_a_killed_remove_is_completed_by_the_next_command(setup: SimpleNamespace) -> None:
    setup.home.install(make_card("U2"), setup.folder)
    _kill_at(Crash("remove", step="remove:aside"), setup, [*setup.prefix, "remove", "U2"])
    home = setup.home.path
    assert not (home / "U2").exists() and git_ops.registered_id(home, "U2") == "U2"
    assert main([*setup.prefix, "status"]) == 0
    _assert_consistent(setup, ("U1",), verify=False)
    assert git_ops.registered_id(home, "U2") is None and "U2" not in (home / ".gitmodules").read_text()
    assert not (transactions.private_dir(home) / "removing" / "U2").exists()
    assert main([*setup.prefix, "install", "U2", "--from", str(setup.folder)]) == 0
    _assert_consistent(setup, ("U1", "U2"))


def test_a_kill_while_the_home_is_created_leaves_no_half_made_home(git_identity: Path, tmp_path: Path) -> None:
    write_card(tmp_path / "cards", "U1", {"1": "blob", "2": "dot"})
    source = write_cases(tmp_path / "download", n_cases=1)
    home = tmp_path / "fresh" / "datahome"
    argv = ["datasets", "--cards", str(tmp_path / "cards"), "--home", str(home), "install", "U1", "--from",
            str(source)]
    running = start_propbench(argv, {**os.environ, transactions.PAUSE_ENV: "create-home"})
    try:
        running.wait_for_pause("create-home")
    finally:
        running.kill()
    assert not home.exists() and len(list(home.parent.glob(".datahome.creating-*"))) == 1
    assert main(argv) == 0
    assert DataHome(home).installed_ids() == ("U1",) and DataHome(home).verify("U1").ok
    assert sorted(p.name for p in home.parent.iterdir()) == ["datahome"]
