"""``propbench run`` and ``propbench prompts export``: evaluate models on datasets into the results store, and write
the prompts of a run configuration."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from benchmark.data.catalog import load_catalog
from benchmark.fingerprint.cache import default_cache_dir
from benchmark.protocol.settings import Setting
from benchmark.runner.config import EvalSubset, RunConfig, load_config

__all__ = ["register", "FAILED_ROWS_STATUS"]

#: Exit status of a run that finished with failed rows (stored, with their errors); 1 stays Python's own status
#: for a crash, so a script can tell the two apart.
FAILED_ROWS_STATUS = 3


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, help="run configuration (TOML; see the README)")
    parser.add_argument("--datasets", nargs="+", default=None, metavar="ID",
                        help="dataset IDs (default: the installed demo datasets)")
    parser.add_argument("--subset", choices=[s.value for s in EvalSubset], default=None,
                        help="cases: eval (the paper's: validation of internal datasets, all of external ones), "
                             "val, test, train or all")
    parser.add_argument("--setting", nargs="+", choices=[s.value for s in Setting], default=None,
                        help="settings to run (default: default)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the prompt draws")
    parser.add_argument("--home", type=Path, default=None, help="the DataLad data home")
    parser.add_argument("--cards", type=Path, default=None, help="folder of dataset cards")


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``run`` and the ``prompts`` group to ``propbench``."""
    run = groups.add_parser("run", help="evaluate models on datasets into the results store (exit status 3 when "
                                          "some rows failed)")
    _selection(run)
    run.add_argument("--models", nargs="+", default=None, metavar="NAME",
                     help="registered names or package.module:factory (default: the config's, else every model)")
    run.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ...")
    run.add_argument("--workers", type=int, default=None, help="Dask LocalCluster workers (default 0: this process)")
    run.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    run.add_argument("--store", type=Path, default=None, help="results store (default reports/results.sqlite)")
    run.add_argument("--run", dest="run_name", default=None, help="the run's name in the store (default 'default')")
    run.add_argument("--save-masks", type=Path, default=None, help="write predicted masks (NIfTI) under this folder")
    run.add_argument("--prompts", type=Path, default=None, help="replay a prompt manifest")
    run.add_argument("--retry-failed", action="store_true", help="run failed rows of a resumed run again")
    run.add_argument("--cache", type=Path, default=None, help="cache folder (demo weights; default $PROPBENCH_CACHE)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(func=run_run)
    prompts = groups.add_parser("prompts", help="prompt manifests")
    commands = prompts.add_subparsers(dest="command", required=True, metavar="COMMAND")
    export = commands.add_parser("export", help="write the prompts of a run configuration (JSON lines)")
    _selection(export)
    export.add_argument("--out", type=Path, required=True, help="manifest file to write")
    export.set_defaults(func=run_export)


def _config(args: argparse.Namespace) -> RunConfig:
    config = load_config(args.config)
    overrides = {"datasets": tuple(args.datasets or ()), "subset": args.subset, "settings": tuple(args.setting or ()),
                 "seed": args.seed}
    for name, attribute in (("models", "models"), ("device", "device"), ("workers", "workers"),
                            ("scheduler", "scheduler"), ("store", "store"), ("run", "run_name"),
                            ("save_masks", "save_masks"), ("prompts", "prompts")):
        value = getattr(args, attribute, None)
        overrides[name] = tuple(value) if isinstance(value, list) else value
    return config.with_overrides(**overrides)


def run_run(args: argparse.Namespace) -> int:
    from benchmark.home.data_home import DataHome
    from benchmark.runner.run import run_benchmark

    config = _config(args)
    summary = run_benchmark(config, home=DataHome.resolve(args.home), catalog=load_catalog(args.cards),
                            cache_dir=args.cache or default_cache_dir(), progress=sys.stderr.isatty(),
                            retry_failed=args.retry_failed)
    failed = sum(c.get("failed", 0) for c in summary.written.values())
    if args.json:
        print(json.dumps({**asdict(summary), "store": str(summary.store)}, indent=1))
        return FAILED_ROWS_STATUS if failed else 0
    for warning in summary.warnings:
        print(f"warning: {warning}")
    for name, reason in summary.skipped_models.items():
        print(f"{name}: skipped ({reason})")
    for name, counts in sorted(summary.written.items()):
        print(f"{name}: {counts.get('ok', 0)} done, {counts.get('skipped', 0)} skipped, "
              f"{counts.get('failed', 0)} failed")
    print(f"run {summary.run_id!r}: {summary.cases_run} case(s) run, {summary.cases_done_before} already done; "
          f"store {summary.store} holds {sum(summary.totals.values())} row(s) of this run "
          f"({', '.join(f'{n} {s}' for s, n in sorted(summary.totals.items())) or 'none'})")
    return FAILED_ROWS_STATUS if failed else 0


def run_export(args: argparse.Namespace) -> int:
    from benchmark.home.data_home import DataHome
    from benchmark.runner.prompt_export import export_prompts

    path, count = export_prompts(_config(args), home=DataHome.resolve(args.home), catalog=load_catalog(args.cards),
                                 out=args.out)
    print(f"wrote {count} prompt entries to {path}")
    return 0
