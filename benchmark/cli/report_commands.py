"""``propbench report``: every table, figure and the HTML page from a results store (benchmark.reports.report)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from benchmark.results.store import DEFAULT_STORE

__all__ = ["register", "run_report", "command_line"]


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``report`` command to ``propbench``."""
    report = groups.add_parser("report", help="tables S5 to S9, statistics, figures and an HTML page from a store")
    report.add_argument("--store", type=Path, default=DEFAULT_STORE, help="results store (default %(default)s)")
    report.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default %(default)s)")
    report.add_argument("--run", action="append", default=None, metavar="RUN",
                        help="report only this run (repeat for several; default: every run of the store)")
    report.add_argument("--home", type=Path, default=None,
                        help="the DataLad data home, to compare data versions and draw qualitative panels (default: "
                             "$PROPBENCH_HOME or ~/.local/share/propbench/home, when it exists)")
    report.add_argument("--cards", type=Path, default=None, help="folder of dataset cards")
    report.add_argument("--training", type=Path, action="append", default=None, metavar="DIR",
                        help="a PropSAM training run folder (curves.csv) for the loss-curve figure (repeatable)")
    report.add_argument("--seed", type=int, default=0, help="seed of the bootstrap intervals (default 0)")
    report.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    report.set_defaults(func=run_report)


def command_line(args: argparse.Namespace) -> str:
    """The command as a user would type it (for the page's "how this was produced")."""
    parts = ["propbench", "report", "--store", str(args.store), "--out", str(args.out)]
    for run in args.run or ():
        parts += ["--run", run]
    for name in ("home", "cards"):
        if getattr(args, name) is not None:
            parts += [f"--{name}", str(getattr(args, name))]
    for folder in args.training or ():
        parts += ["--training", str(folder)]
    parts += ["--seed", str(args.seed), "--resamples", str(args.resamples)]
    return shlex.join(parts)


def run_report(args: argparse.Namespace) -> int:
    from benchmark.data.catalog import load_catalog
    from benchmark.home.data_home import DataHome
    from benchmark.reports.report import report_from_store

    resolved = DataHome.resolve(args.home)
    home = resolved if resolved.path.is_dir() else None
    if home is None:
        print(f"no data home at {resolved.path}: data versions are not compared and qualitative panels are not "
              f"drawn")
    result = report_from_store(args.store, args.out, runs=args.run, catalog=load_catalog(args.cards), home=home,
                               training_dirs=args.training or (), seed=args.seed, resamples=args.resamples,
                               command=command_line(args))
    drawn = [f for f in result.figures if f.png is not None]
    for figure in (f for f in result.figures if f.png is None):
        print(f"figure not drawn: {figure.title}: {figure.skipped}")
    print(f"wrote {len(result.tables)} tables (CSV, Markdown, LaTeX) and {len(drawn)} figures (PNG, PDF): "
          f"{len(result.files)} files under {result.out_dir}")
    print(f"report: {result.page}")
    return 0
