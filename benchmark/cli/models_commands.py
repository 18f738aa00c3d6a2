"""``propbench models list|demo-weights|check``: the model registry, demo weights, and a quick model check."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from pathlib import Path

from benchmark.data.catalog import load_catalog
from benchmark.errors import BenchmarkError
from benchmark.fingerprint.cache import default_cache_dir
from benchmark.models.registry import available_models, get_spec, load_model
from benchmark.reports.tables import Table, write_table

__all__ = ["register", "DEFAULT_BUDGET_S"]

#: Training budget of demo weights, s (2 CPU cores).
DEFAULT_BUDGET_S = 300.0


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``models`` group to ``propbench``."""
    models = groups.add_parser("models", help="the model registry, demo weights and model checks")
    models.add_argument("--cards", type=Path, default=None, help="folder of dataset cards")
    models.add_argument("--home", type=Path, default=None, help="the DataLad data home")
    commands = models.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="models the suite can load")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    weights = commands.add_parser("demo-weights", help="train (or find cached) demo weights of a model")
    weights.add_argument("model")
    _training_args(weights)
    weights.set_defaults(func=run_demo_weights)
    check = commands.add_parser("check", help="Dice of a model against naive propagation on a split subset")
    check.add_argument("model")
    check.add_argument("ids", nargs="*", metavar="ID", help="dataset IDs (default: the installed demo datasets)")
    check.add_argument("--checkpoint", type=Path, default=None,
                       help="the model's checkpoint (default for models with a demo trainer: their demo weights)")
    check.add_argument("--subset", choices=["train", "val", "test"], default="val")
    check.add_argument("--prompt", choices=["mask2d", "box2d"], default="mask2d")
    check.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default reports/)")
    check.add_argument("--json", action="store_true")
    _training_args(check)
    check.set_defaults(func=run_check)


def _training_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, help="demo training budget, s")
    parser.add_argument("--cache", type=Path, default=None, help="cache folder (default $PROPBENCH_CACHE)")
    parser.add_argument("--seed", type=int, default=0, help="split seed")


def run_list(args: argparse.Namespace) -> int:
    models = available_models()
    if args.json:
        print(json.dumps([asdict(spec) for spec in models.values()], indent=1))
        return 0
    for spec in models.values():
        extra = f"; needs {spec.needs}" if spec.needs else ""
        demo = "; demo weights available" if spec.demo_trainer else ""
        print(f"{spec.name:<20} {spec.factory} ({spec.origin}{extra}{demo})")
    return 0


def _demo_context(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from benchmark.home.data_home import DataHome

    home = DataHome.resolve(args.home)
    catalog = load_catalog(args.cards)
    cards = [card for card in catalog.demo if home.is_installed(card.id)]
    if not cards:
        raise BenchmarkError(f"no demo dataset installed in {home.path}; run 'propbench datasets demo' first")
    return home, catalog, cards


def _weights(args: argparse.Namespace, name: str) -> Path:
    from benchmark.training.demo_weights import demo_weights

    home, _, cards = _demo_context(args)
    return demo_weights(get_spec(name), home, cards, args.cache or default_cache_dir(), budget_s=args.budget,
                        seed=args.seed)


def run_demo_weights(args: argparse.Namespace) -> int:
    print(_weights(args, args.model))
    return 0


def run_check(args: argparse.Namespace) -> int:
    from benchmark.home.data_home import DataHome
    from benchmark.runner.model_check import check_model, summarize

    spec = get_spec(args.model)
    checkpoint = args.checkpoint
    if checkpoint is None and spec.demo_trainer:
        checkpoint = _weights(args, args.model)
    model = load_model(args.model, None if checkpoint is None else str(checkpoint))
    home = DataHome.resolve(args.home)
    catalog = load_catalog(args.cards)
    cards = [catalog.get(i) for i in args.ids] if args.ids else list(_demo_context(args)[2])
    rows, errors = check_model(model, [home.open_reader(card) for card in cards], subset=args.subset,
                               prompt=args.prompt, seed=args.seed)
    summary = summarize(spec.name, rows, errors)
    table = Table(f"Model check: {spec.name}, {args.prompt} prompts, {args.subset} cases",
                  ("dataset", "case", "object", "slice", "dice", "naive_dice", "cross_section_change", "seconds"),
                  tuple((r.dataset_id, r.case_id, r.object, r.slice_index, r.dice, r.naive_dice,
                         r.cross_section_change, r.seconds) for r in rows),
                  (f"checkpoint: {checkpoint}", *(str(e) for e in errors)))
    stem = f"{spec.name}-{args.prompt}-{args.subset}".replace("/", "_")
    write_table(table, args.out / "models", stem)
    if args.json:
        print(json.dumps(asdict(summary), indent=1))
    else:
        print(_format(summary))
    return 0 if not math.isnan(summary.mean_dice) else 1


def _format(summary) -> str:  # type: ignore[no-untyped-def]
    return (f"{summary.model}: mean Dice {summary.mean_dice:.3f} over {summary.n_objects} objects "
            f"(naive propagation {summary.mean_naive_dice:.3f}); on {summary.n_changing} objects whose cross-section "
            f"changes: {summary.changing_mean_dice:.3f} (naive {summary.changing_mean_naive_dice:.3f}); "
            f"{summary.n_errors} error(s)")
