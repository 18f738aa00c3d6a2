"""``propbench datasets fingerprint`` and ``propbench datasets characteristics``.

Exit status: 0 when every case of every dataset was read; 1 when a case was excluded (it failed to load) or a
discovery error concerns no single case; the tables are written either way, every excluded case is listed with its
error, and the last line says how many cases were excluded of how many (on stderr with ``--json``, whose stdout stays
JSON). 2 for errors of the command itself (an unknown or bad card, a dataset not installed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.cli.catalog_commands import report_problems
from benchmark.data.cards import DatasetCard
from benchmark.data.catalog import load_catalog
from benchmark.data.geometry import Plane
from benchmark.errors import BenchmarkError
from benchmark.fingerprint.cache import default_cache_dir
from benchmark.fingerprint.characteristics import Definition, TaskCounting

if TYPE_CHECKING:
    from benchmark.fingerprint.api import DatasetResult
    from benchmark.home.data_home import DataHome

__all__ = ["register", "exclusion_line"]


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``fingerprint`` and ``characteristics`` to ``propbench datasets``."""
    fingerprint = commands.add_parser("fingerprint", help="Table S4: per-dataset fingerprints, and splits",
                                      description="Fingerprint datasets (Table S4) and write their splits. Exit "
                                                  "status 1 when cases were excluded (the last line counts them).")
    _common(fingerprint)
    fingerprint.add_argument("--header-only", action="store_true",
                             help="read headers only (shape, spacing); no label or intensity statistics")
    fingerprint.set_defaults(func=run_fingerprint)
    chars = commands.add_parser("characteristics", help="Tables S2 and S3: Box2Mask samples and PropMask tasks",
                                description="Count Box2Mask samples (Table S2) and PropMask tasks (Table S3). Exit "
                                            "status 1 when cases were excluded (the last line counts them).")
    _common(chars)
    chars.add_argument("--planes", default="axial", help="comma-separated planes samples come from (default axial)")
    chars.add_argument("--min-area", type=int, default=100, help="pixels a slice's mask must exceed (default 100)")
    chars.add_argument("--augmentation-factor", type=int, default=1,
                       help="multiply Box2Mask samples (the paper augments offline five times; default 1)")
    chars.add_argument("--window-mm", type=float, default=20.0, help="PropMask window in mm (default 20)")
    chars.add_argument("--max-slices", type=int, default=20, help="PropMask window in slices at most (default 20)")
    chars.add_argument("--task-counting", choices=[t.value for t in TaskCounting], default=TaskCounting.WINDOWS.value,
                       help="how tasks are counted (see benchmark.fingerprint.characteristics.TaskCounting)")
    chars.set_defaults(func=run_characteristics)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID", help="dataset IDs (default: the installed demo datasets)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default reports/)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="per-case cache folder (default $PROPBENCH_CACHE or ~/.cache/propbench)")
    parser.add_argument("--no-cache", action="store_true", help="read every case again")
    parser.add_argument("--workers", type=int, default=None, help="parallel threads or processes (default: CPU count)")
    parser.add_argument("--processes", action="store_true",
                        help="run cases in worker processes instead of threads (numpy-heavy full passes)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the intensity sampling")
    parser.add_argument("--validation-fraction", type=float, default=0.2, help="internal datasets (default 0.2)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")


def _select(args: argparse.Namespace, home: DataHome) -> list[DatasetCard]:
    from benchmark.home.selection import selected_cards

    catalog = load_catalog(args.cards)
    report_problems([p for p in catalog.problems if p.dataset_id not in args.ids], level="warning")
    return selected_cards(home, catalog, args.ids, option="dataset IDs as arguments")


def _progress(enabled: bool):  # type: ignore[no-untyped-def]
    def show(dataset_id: str, done: int, total: int) -> None:
        if enabled:
            end = "\n" if done == total else ""
            print(f"\r{dataset_id}: {done}/{total} cases", end=end, file=sys.stderr, flush=True)

    return show


def _run(args: argparse.Namespace, *, full: bool):  # type: ignore[no-untyped-def]
    # Imported here so that 'propbench datasets list' does not load DataLad.
    from benchmark.fingerprint.api import fingerprint_datasets
    from benchmark.home.data_home import DataHome

    home = DataHome.resolve(args.home)
    cards = _select(args, home)
    cache_dir = None if args.no_cache else (args.cache or default_cache_dir()) / "fingerprints"
    with contextlib.ExitStack() as stack:
        executor = None
        if args.processes:
            executor = stack.enter_context(ProcessPoolExecutor(max_workers=args.workers or os.cpu_count(),
                                                               mp_context=get_context("spawn")))
        return fingerprint_datasets(home, cards, full=full, cache_dir=cache_dir, workers=args.workers,
                                    executor=executor, seed=args.seed, validation_fraction=args.validation_fraction,
                                    progress=_progress(not args.json and sys.stderr.isatty()))


def run_fingerprint(args: argparse.Namespace) -> int:
    from benchmark.reports.fingerprints import write_fingerprints

    results = _run(args, full=not args.header_only)
    paths = write_fingerprints(results, args.out)
    if args.json:
        print(json.dumps([json.loads(json.dumps(asdict(r.fingerprint), default=str)) for r in results], indent=1))
        return _finish(results, to_stderr=True)
    for result in results:
        fp = result.fingerprint
        print(f"{fp.dataset_id}: {fp.n_scans} scans ({fp.n_excluded} excluded, {result.cases.from_cache} from cache), "
              f"median voxels {fp.voxels.median:.4g}, object types {fp.object_types}")
        for error in fp.errors:
            print(f"  {'excluded' if error.case_id else 'problem'}: {error}")
        for bad in fp.nonfinite:
            print(f"  non-finite voxels: {fp.dataset_id}/{bad.case_id} channel {bad.channel}: {bad.voxels} NaN or "
                  f"infinite voxel(s), {bad.foreground} in the foreground, kept out of the intensity statistics")
    print(f"wrote {len(paths)} files under {args.out}")
    return _finish(results)


def exclusion_line(results: Sequence[DatasetResult]) -> str:
    """The last line of a run: cases excluded of cases found, per dataset, and the exit status it gives."""
    excluded = sum(r.fingerprint.n_excluded for r in results)
    problems = sum(r.fingerprint.n_problems for r in results)
    total = sum(r.fingerprint.n_cases for r in results)
    if not excluded and not problems:
        return f"all {total} case(s) read; exit status 0"
    per = ", ".join(f"{r.card.id}: {r.fingerprint.n_excluded} of {r.fingerprint.n_cases}" for r in results
                    if r.fingerprint.n_excluded or r.fingerprint.n_problems)
    other = f", {problems} error(s) tied to no case" if problems else ""
    return f"{excluded} of {total} case(s) excluded ({per}){other}; exit status 1"


def _finish(results: Sequence[DatasetResult], *, to_stderr: bool = False) -> int:
    line = exclusion_line(results)
    print(line, file=sys.stderr if to_stderr else sys.stdout)
    return 0 if line.endswith("exit status 0") else 1


def run_characteristics(args: argparse.Namespace) -> int:
    from benchmark.fingerprint.api import characterize_datasets
    from benchmark.reports.characteristics import write_characteristics

    try:
        planes = tuple(Plane(p.strip()) for p in args.planes.split(","))
    except ValueError:
        raise BenchmarkError(f"--planes {args.planes!r}: expected a comma-separated list of "
                             f"{[p.value for p in Plane]}") from None
    definition = Definition(min_area=args.min_area, planes=planes, augmentation_factor=args.augmentation_factor,
                            window_mm=args.window_mm, max_slices=args.max_slices,
                            task_counting=TaskCounting(args.task_counting))
    results = _run(args, full=True)
    rows = characterize_datasets(results, definition)
    paths = write_characteristics(rows, definition, args.out)
    for result in results:
        result.split.write(args.out / "splits" / f"{result.card.id}.json")
    if args.json:
        print(json.dumps([{"dataset": card.id, "samples": [asdict(r) for r in samples],
                           "tasks": [asdict(r) for r in tasks]} for card, samples, tasks in rows], indent=1))
        return _finish(results, to_stderr=True)
    for card, samples, tasks in rows:
        print(f"{card.id}: {samples[0].all} Box2Mask samples, {tasks[0].all} PropMask tasks "
              f"(train {samples[0].train}/{tasks[0].train}, val {samples[0].val}/{tasks[0].val})")
    for result in results:
        for error in result.fingerprint.errors:
            print(f"  {'excluded' if error.case_id else 'problem'}: {error}")
    print(f"wrote {len(paths)} files under {args.out}")
    return _finish(results)
