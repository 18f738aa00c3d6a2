"""Shared fixtures: an isolated git identity for tests that run DataLad (or none, as on a newcomer's machine), and
a local HTTP server.

DataLad tests opt in with the ``git_identity`` fixture (or ``git_identity_module`` for module-scoped fixtures), or
with ``no_git_identity``. They are skipped, with the reason, when git-annex is found neither on ``PATH`` nor next to
the Python interpreter (where the PyPI ``git-annex`` wheel installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["HttpServer"]

_VENV_BIN = Path(sys.executable).parent
_DATALAD_FIXTURES = ("git_identity", "git_identity_module", "no_git_identity")
_NAME = "PropSAM Bench Tests"
_EMAIL = "tests@propbench.invalid"
_NO_ANNEX = ("git-annex was found neither on PATH nor in {bin}; DataLad tests need it "
             "(pip install git-annex, or put its folder on PATH)")


def _path_with_venv() -> str:
    return f"{_VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture(scope="session")
def git_annex_available() -> bool:
    """True when git-annex can be run (on PATH, or in the interpreter's bin folder)."""
    return shutil.which("git-annex", path=_path_with_venv()) is not None


@pytest.fixture(autouse=True)
def _skip_datalad_tests_without_git_annex(request: pytest.FixtureRequest, git_annex_available: bool) -> None:
    if not git_annex_available and any(name in request.fixturenames for name in _DATALAD_FIXTURES):
        pytest.skip(_NO_ANNEX.format(bin=_VENV_BIN))


def _isolate(patch: pytest.MonkeyPatch, home: Path, *, identity: bool = True) -> Path:
    """Point HOME at ``home``, keep system and user git config out, put git-annex on PATH; with ``identity``, give
    git a user name and email, else make sure git has none (no ~/.gitconfig, no GIT_AUTHOR_* or EMAIL, and
    ``user.useConfigOnly`` so that git does not guess one from the host name, as it can where that is a full
    domain name)."""
    if shutil.which("git-annex", path=_path_with_venv()) is None:
        pytest.skip(_NO_ANNEX.format(bin=_VENV_BIN))
    home.mkdir(parents=True, exist_ok=True)
    patch.setenv("HOME", str(home))
    patch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    patch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for variable in ("GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "EMAIL"):
        patch.delenv(variable, raising=False)
    for role in ("AUTHOR", "COMMITTER"):
        for part, value in (("NAME", _NAME), ("EMAIL", _EMAIL)):
            if identity:
                patch.setenv(f"GIT_{role}_{part}", value)
            else:
                patch.delenv(f"GIT_{role}_{part}", raising=False)
    if identity:
        (home / ".gitconfig").write_text(f"[user]\n\tname = {_NAME}\n\temail = {_EMAIL}\n"
                                         f"[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    else:
        patch.setenv("GIT_CONFIG_COUNT", "1")
        patch.setenv("GIT_CONFIG_KEY_0", "user.useConfigOnly")
        patch.setenv("GIT_CONFIG_VALUE_0", "true")
    patch.setenv("PATH", _path_with_venv())
    patch.delenv("PROPBENCH_HOME", raising=False)
    patch.delenv("PROPBENCH_PAUSE_AT", raising=False)
    return home


@pytest.fixture
def git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated HOME (returned) with git user.name/user.email set, and git-annex on PATH, for one test."""
    return _isolate(monkeypatch, tmp_path / "home")


@pytest.fixture
def no_git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated HOME (returned, without ~/.gitconfig) in which git has no user identity, as on a newcomer's
    machine, and git-annex on PATH, for one test."""
    return _isolate(monkeypatch, tmp_path / "newcomer", identity=False)


@pytest.fixture(scope="module")
def git_identity_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``git_identity`` for module-scoped fixtures (datasets built once and shared by a module's tests)."""
    with pytest.MonkeyPatch.context() as patch:
        yield _isolate(patch, tmp_path_factory.mktemp("home"))


@dataclass(frozen=True)
class HttpServer:
    """A ``python -m http.server`` bound to 127.0.0.1.

    Attributes:
        root: The folder it serves.
        url: Its base URL, e.g. ``http://127.0.0.1:40123``.
    """

    root: Path
    url: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"http.server on 127.0.0.1:{port} exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"http.server on 127.0.0.1:{port} did not accept connections within {timeout_s} s")


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """Serve an empty folder (fill ``root`` in the test) over HTTP on 127.0.0.1 only; stopped at module end."""
    root = tmp_path_factory.mktemp("www")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(root), str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_listening(port, process)
        yield HttpServer(root, f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
