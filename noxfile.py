#!/usr/bin/env -S uv run --script
# /// script
# dependencies = ["nox>=2024.4.15"]
# ///
"""Sessions of PropSAM Bench.

Default sessions: ``tests`` and ``lint``. Others: ``benchmark`` (the main job, on the demo collection unless a
config names real data) and ``perf`` (the pytest-benchmark suite). Use ``nox -R`` to rerun without reinstalling.

Torch: every session that needs it installs ``$PROPBENCH_TORCH`` first (default ``torch==2.13.0``, which on the
project's CPU machines is a CPU build). With a GPU, set it to the build you want, for example
``PROPBENCH_TORCH="torch==2.6.0 --index-url <your CUDA index>"``, or to ``none`` to keep the torch that the
virtual environment already has.
"""

from __future__ import annotations

import os
import shlex

import nox

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "virtualenv"
nox.options.sessions = ["tests", "lint"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
DEFAULT_TORCH = "torch==2.13.0"


def _install_torch(session: nox.Session) -> None:
    spec = os.environ.get("PROPBENCH_TORCH", DEFAULT_TORCH).strip()
    if spec.lower() != "none":
        session.install(*shlex.split(spec))


def _install_project(session: nox.Session, *groups: str, extras: str = "propsam") -> None:
    _install_torch(session)
    session.install("-e", f".[{extras}]")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (benchmarks disabled). Extra arguments go to pytest. MedSAM's extra is installed so its
    adapter is tested; SegVol's tests build a stand-in of its model folder and need no extra."""
    _install_project(session, "test", extras="propsam,medsam")
    session.run("pytest", "--benchmark-disable", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy, and the import contracts of pyproject.toml (import-linter: layers, package boundaries, no cycles)."""
    _install_project(session, "lint", extras="propsam,medsam")
    session.run("ruff", "check", "benchmark", "propsam", "baselines", "tests", "noxfile.py")
    session.run("mypy", "benchmark", "propsam", "baselines")
    session.run("lint-imports")


@nox.session(default=False)
def benchmark(session: nox.Session) -> None:
    """The main job, on the demo collection: data home, catalog, fingerprints, PropSAM demo weights and checks.

    Data go to the data home ($PROPBENCH_HOME, default ~/.local/share/propbench/home), caches and demo weights to
    $PROPBENCH_CACHE (default ~/.cache/propbench), tables to reports/. Everything is reused on a second run.
    """
    _install_project(session)
    session.run("propbench", "datasets", "demo")
    session.run("propbench", "datasets", "list")
    session.run("propbench", "datasets", "status")
    session.run("propbench", "datasets", "verify")
    session.run("propbench", "datasets", "fingerprint")
    session.run("propbench", "datasets", "characteristics")
    session.run("propbench", "models", "list")
    for model, prompt in (("PropSAM-2DMask", "mask2d"), ("PropSAM-2DBox", "box2d")):
        session.run("propbench", "models", "check", model, "--prompt", prompt)
    session.log("Not built yet: the evaluation harness (prompt protocols, surface metrics, timing, results store, "
                "distributed runs), the MedSAM and SegVol adapters, and report tables S5 to S9.")


@nox.session(default=False)
def perf(session: nox.Session) -> None:
    """The pytest-benchmark suite (speed and memory targets, ratios measured side by side)."""
    _install_project(session, "test", extras="propsam,medsam")
    session.run("pytest", "tests/perf", "--benchmark-enable", "--benchmark-only", "-p", "no:cacheprovider",
                *session.posargs)


if __name__ == "__main__":
    nox.main()
