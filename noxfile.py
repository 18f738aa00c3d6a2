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
import sys
from pathlib import Path

import nox

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "virtualenv"
nox.options.sessions = ["tests", "lint"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
DEFAULT_TORCH = "torch==2.13.0"
DEMO_CONFIG = Path("configs/demo.toml")


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


def _run_config(posargs: list[str]) -> tuple[Path, dict[str, object]]:
    """The run configuration named by ``-- --config FILE`` (default: the demo's) and its parsed content."""
    path = Path(posargs[posargs.index("--config") + 1]) if "--config" in posargs else DEMO_CONFIG
    with open(path, "rb") as handle:
        return path, tomllib.load(handle)


@nox.session(default=False, reuse_venv=True)
def benchmark(session: nox.Session) -> None:
    """The main job: data, fingerprints (Tables S2 to S4), every model that can run in the default setting and both
    ablations, a reader-study sample, and the report (Tables S5 to S9, figures, reports/index.html).

    Without arguments it runs on the demo collection (built and installed first) with configs/demo.toml. With
    ``nox -s benchmark -- --config run.toml`` it runs that configuration on the installed datasets it names (the
    paper's protocol: configs/paper.toml). Data go to the data home ($PROPBENCH_HOME, default
    ~/.local/share/propbench/home), caches and demo weights to $PROPBENCH_CACHE (default ~/.cache/propbench), results
    to the config's store and everything else to reports/. A second run reuses all of it.
    """
    _install_project(session, extras="propsam,medsam,distributed")
    config_path, config = _run_config(list(session.posargs))
    datasets = [str(d) for d in config.get("datasets", [])]  # type: ignore[union-attr]
    if not datasets:
        session.run("propbench", "datasets", "demo")
    session.run("propbench", "datasets", "list")
    session.run("propbench", "datasets", "verify")
    session.run("propbench", "datasets", "fingerprint", *datasets)
    session.run("propbench", "datasets", "characteristics", *datasets)
    session.run("propbench", "models", "list", "--config", str(config_path))
    session.run("propbench", "run", "--config", str(config_path), success_codes=[0, 3])  # 3: some rows failed
    session.run("propbench", "reader-study", "sample", "--n", "50" if datasets else "2", *(["--datasets", *datasets]
                if datasets else []), "--out", "reports/reader_study/sample.csv", "--force")
    store = str(config.get("store", "reports/results.sqlite"))
    session.run("propbench", "report", "--store", store, "--out", "reports")
    session.log(f"report: {Path('reports/index.html').resolve()}")


@nox.session(default=False)
def perf(session: nox.Session) -> None:
    """The pytest-benchmark suite (speed and memory targets, ratios measured side by side)."""
    _install_project(session, "test", extras="propsam,medsam")
    session.run("pytest", "tests/perf", "--benchmark-enable", "--benchmark-only", "-p", "no:cacheprovider",
                *session.posargs)


if __name__ == "__main__":
    nox.main()
