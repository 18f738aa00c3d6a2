"""``propbench results list|show|export``: what a results store holds."""

from __future__ import annotations

import argparse
import math
import statistics
from collections import defaultdict
from pathlib import Path

from benchmark.results.store import DEFAULT_STORE, ResultStore

__all__ = ["register"]


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``results`` group to ``propbench``."""
    results = groups.add_parser("results", help="the results store: runs, summaries, exports")
    results.add_argument("--store", type=Path, default=DEFAULT_STORE, help="results store (default %(default)s)")
    commands = results.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", help="the runs in the store").set_defaults(func=run_list)
    show = commands.add_parser("show", help="rows of a run by model and setting, and its failures")
    show.add_argument("run", nargs="?", default="default")
    show.set_defaults(func=run_show)
    export = commands.add_parser("export", help="every row (of a run) as CSV or Parquet")
    export.add_argument("--run", default=None, help="only this run")
    export.add_argument("--format", choices=["csv", "parquet"], default="csv")
    export.add_argument("--out", type=Path, required=True)
    export.set_defaults(func=run_export)


def run_list(args: argparse.Namespace) -> int:
    with ResultStore.open(args.store, create=False) as store:
        runs = store.runs()
        if not runs:
            print(f"{args.store}: no runs")
        for run in runs:
            counts = store.counts(run.run_id)
            dirty = " (uncommitted changes)" if run.git_dirty else ""
            print(f"{run.run_id}: started {run.created_utc}, propsam-bench {run.suite_version} "
                  f"{run.git_commit[:10]}{dirty}, seed {run.seed}; rows: "
                  f"{', '.join(f'{n} {s}' for s, n in sorted(counts.items())) or 'none'}")
    return 0


def _mean(values: list[float]) -> str:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return f"{statistics.fmean(finite):.3f}" if finite else "-"


def run_show(args: argparse.Namespace) -> int:
    groups: dict[tuple[str, str], list] = defaultdict(list)  # type: ignore[type-arg]
    with ResultStore.open(args.store, create=False) as store:
        if store.run(args.run) is None:
            print(f"{args.store}: no run {args.run!r}; runs: {[r.run_id for r in store.runs()]}")
            return 2
        rows = list(store.rows(args.run))
    for row in rows:
        groups[(row.model, row.setting)].append(row)
    print(f"{'model':<22} {'setting':<22} {'ok':>5} {'skip':>5} {'fail':>5} {'Dice':>6} {'NSD':>6} {'median s':>9}")
    for (model, setting), members in sorted(groups.items()):
        ok = [r for r in members if r.status == "ok"]
        seconds = [r.seconds for r in ok if r.seconds is not None]
        print(f"{model:<22} {setting:<22} {len(ok):>5} {sum(r.status == 'skipped' for r in members):>5} "
              f"{sum(r.status == 'failed' for r in members):>5} {_mean([r.dice for r in ok]):>6} "
              f"{_mean([r.nsd for r in ok]):>6} {statistics.median(seconds) if seconds else math.nan:>9.3f}")
    for row in (r for r in rows if r.status == "failed"):
        print(f"failed: {row.model} {row.setting} {row.dataset_id}/{row.case_id}/{row.object_name}: "
              f"{row.error_type}: {row.error_message}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from benchmark.results.export import export_rows

    with ResultStore.open(args.store, create=False) as store:
        path = export_rows(store, args.out, args.format, args.run)
    print(f"wrote {path}")
    return 0
