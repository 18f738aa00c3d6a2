"""``propbench models list|demo-weights|check``: the model registry with each model's status, demo weights, and the
conformance kit followed by a quick Dice check against naive propagation."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from pathlib import Path

from benchmark.data.catalog import load_catalog
from benchmark.errors import BenchmarkError
from benchmark.fingerprint.cache import default_cache_dir
from benchmark.models.registry import available_models, get_spec, load_model, model_status
from benchmark.reports.tables import Table, write_table
from benchmark.runner.config import load_config

__all__ = ["register"]


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``models`` group to ``propbench``."""
    models = groups.add_parser("models", help="the model registry, demo weights and model checks")
    models.add_argument("--cards", type=Path, default=None, help="folder of dataset cards")
    models.add_argument("--home", type=Path, default=None, help="the DataLad data home")
    commands = models.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="models the suite can load, and whether each can run now")
    listing.add_argument("--config", type=Path, default=None, help="run configuration naming checkpoints")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    weights = commands.add_parser("demo-weights", help="train (or find cached) demo weights of a model")
    weights.add_argument("model")
    _training_args(weights)
    weights.set_defaults(func=run_demo_weights)
    check = commands.add_parser("check", help="the conformance kit, then Dice against naive propagation on a "
                                              "split subset of installed data")
    check.add_argument("model", help="a registered name or package.module:factory")
    check.add_argument("ids", nargs="*", metavar="ID", help="dataset IDs (default: the installed demo datasets)")
    check.add_argument("--checkpoint", type=Path, default=None,
                       help="the model's checkpoint (default for models with a demo trainer: their demo weights)")
    check.add_argument("--conformance-only", action="store_true", help="skip the Dice check on data")
    check.add_argument("--subset", choices=["train", "val", "test"], default="val")
    check.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default reports/)")
    check.add_argument("--json", action="store_true")
    _training_args(check)
    check.set_defaults(func=run_check)


def _training_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", type=Path, default=None, help="cache folder (default $PROPBENCH_CACHE)")
    parser.add_argument("--seed", type=int, default=0, help="split seed")


def run_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    entries = {m.name: m for m in config.models}
    rows = []
    for spec in available_models().values():
        entry = entries.get(spec.name)
        status = model_status(spec, entry.checkpoint if entry else None, kwargs=entry.kwargs if entry else None,
                              demo_available=bool(spec.demo_trainer))
        rows.append((spec, status))
    if args.json:
        print(json.dumps([{**asdict(spec), "status": str(status.status), "detail": status.detail}
                          for spec, status in rows], indent=1, default=str))
        return 0
    for spec, status in rows:
        kinds = ",".join(k.value for k in spec.prompt_kinds) or "?"
        detail = f": {status.detail}" if status.detail else ""
        print(f"{spec.name:<20} {kinds:<7} {status.status}{detail} ({spec.origin})")
    return 0


def _demo_context(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from benchmark.home.data_home import DataHome
    from benchmark.home.selection import installed_demo_cards

    home = DataHome.resolve(args.home)
    catalog = load_catalog(args.cards)
    cards = installed_demo_cards(home, catalog)
    if not cards:
        raise BenchmarkError(f"no demo dataset installed in {home.path}; run 'propbench datasets demo' first")
    return home, catalog, cards


def _weights(args: argparse.Namespace, name: str) -> Path:
    from benchmark.training.demo_weights import demo_weights

    home, _, cards = _demo_context(args)
    return demo_weights(get_spec(name), home, cards, args.cache or default_cache_dir(), seed=args.seed)


def run_demo_weights(args: argparse.Namespace) -> int:
    print(_weights(args, args.model))
    return 0


def _conformance(name: str, checkpoint: Path | None) -> bool:
    from benchmark.models.conformance import check_conformance

    spec = get_spec(name)
    model = load_model(spec, None if checkpoint is None else str(checkpoint))
    report = check_conformance(model, receives_extent=spec.receives_extent)
    print(report.summary())
    return report.ok


def run_check(args: argparse.Namespace) -> int:
    from benchmark.home.data_home import DataHome
    from benchmark.runner.model_check import check_model, summarize

    spec = get_spec(args.model)
    checkpoint = args.checkpoint
    if checkpoint is None and spec.demo_trainer:
        checkpoint = _weights(args, args.model)
    if not _conformance(args.model, checkpoint):
        return 1
    if args.conformance_only:
        return 0
    home = DataHome.resolve(args.home)
    catalog = load_catalog(args.cards)
    cards = [catalog.get(i) for i in args.ids] if args.ids else list(_demo_context(args)[2])
    rows, errors = check_model(args.model, None if checkpoint is None else str(checkpoint),
                               [home.open_reader(card) for card in cards], subset=args.subset, split_seed=args.seed)
    summary = summarize(spec.name, rows, errors)
    table = Table(f"Model check: {spec.name}, {args.subset} cases",
                  ("dataset", "case", "object", "slice", "dice", "naive_dice", "cross_section_change", "seconds"),
                  tuple((r.dataset_id, r.case_id, r.object, r.slice_index, r.dice, r.naive_dice,
                         r.cross_section_change, r.seconds) for r in rows),
                  (f"checkpoint: {checkpoint}", *(str(e) for e in errors)))
    write_table(table, args.out / "models", f"{spec.name}-{args.subset}".replace("/", "_").replace(":", "_"))
    if args.json:
        print(json.dumps(asdict(summary), indent=1))
    else:
        print(f"{summary.model}: mean Dice {summary.mean_dice:.3f} over {summary.n_objects} objects "
              f"(naive propagation {summary.mean_naive_dice:.3f}); on {summary.n_changing} objects whose "
              f"cross-section changes: {summary.changing_mean_dice:.3f} (naive {summary.changing_mean_naive_dice:.3f});"
              f" {summary.n_errors} object(s) or case(s) not evaluated (skipped by the protocol or failed: see "
              f"{args.out / 'models'})")
    return 0 if not math.isnan(summary.mean_dice) else 1
