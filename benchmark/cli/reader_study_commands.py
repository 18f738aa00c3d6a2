"""``propbench reader-study sample|analyze``: sample the reader study's volumes, and analyse a reader's times."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.data.catalog import load_catalog
from benchmark.errors import BenchmarkError
from benchmark.reader_study.manifest import PAPER_MODELS

if TYPE_CHECKING:
    from benchmark.data.readers.base import LayoutReader
    from benchmark.reader_study.analysis import ReaderStudyAnalysis
    from benchmark.reports.tables import Table

__all__ = ["register", "DEFAULT_VOLUMES", "analysis_tables"]

#: Volumes of the paper's reader study.
DEFAULT_VOLUMES = 50


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``reader-study`` group to ``propbench``."""
    study = groups.add_parser("reader-study", help="sample volumes for a reader study and analyse the times")
    commands = study.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sample = commands.add_parser("sample", help="n volumes, each assigned an object no other volume is assigned")
    sample.add_argument("--n", type=int, default=DEFAULT_VOLUMES,
                        help=f"volumes, and so distinct objects (default {DEFAULT_VOLUMES}, as in the paper)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the sample and of the boxes (default 0)")
    sample.add_argument("--datasets", nargs="+", metavar="ID", default=None,
                        help="dataset IDs (default: the installed demo datasets)")
    sample.add_argument("--models", nargs="+", metavar="MODEL", default=list(PAPER_MODELS),
                        help=f"one seconds_<MODEL> column each (default: {' '.join(PAPER_MODELS)})")
    sample.add_argument("--cards", type=Path, default=None, help="folder of dataset cards")
    sample.add_argument("--home", type=Path, default=None, help="the DataLad data home")
    sample.add_argument("--out", type=Path, required=True, help="the manifest to write (CSV)")
    sample.add_argument("--force", action="store_true", help="overwrite an existing manifest")
    sample.set_defaults(func=run_sample)
    analyze = commands.add_parser("analyze", help="per model median and IQR, paired Wilcoxon tests (Holm)")
    analyze.add_argument("file", type=Path, help="a manifest with the seconds filled in")
    analyze.add_argument("--out", type=Path, default=Path("reports"),
                         help="output folder; tables go to <out>/reader_study/ (default reports/)")
    analyze.set_defaults(func=run_analyze)


def _readers(args: argparse.Namespace) -> list[LayoutReader]:
    from benchmark.home.data_home import DataHome
    from benchmark.home.selection import selected_cards

    home = DataHome.resolve(args.home)
    catalog = load_catalog(args.cards)
    cards = selected_cards(home, catalog, args.datasets or (), option="--datasets")
    return [home.open_reader(card) for card in cards]


def _progress(enabled: bool):  # type: ignore[no-untyped-def]
    def show(done: int, total: int) -> None:
        if enabled:
            print(f"\rread {done}/{total} volumes", end="", file=sys.stderr, flush=True)

    return show


def run_sample(args: argparse.Namespace) -> int:
    from benchmark.reader_study.manifest import check_models, write_manifest
    from benchmark.reader_study.sampling import sample_volumes

    if args.n < 1:
        raise BenchmarkError(f"argument --n: {args.n}; expected a number of volumes of at least 1")
    if args.out.exists() and not args.force:
        raise BenchmarkError(f"argument --out: {args.out} already exists and may hold a reader's times; expected a "
                             f"new file (or pass --force to overwrite it)")
    try:
        check_models(args.models)
    except ValueError as err:
        raise BenchmarkError(f"argument --models: {err}") from None
    readers = _readers(args)
    show = sys.stderr.isatty()
    sample = sample_volumes(readers, n=args.n, seed=args.seed, progress=_progress(show))
    if show:
        print(file=sys.stderr)
    write_manifest(args.out, sample, args.models, overwrite=args.force)
    objects = sorted(item.object_name for item in sample.assignments)
    print(f"wrote {args.out}: {len(sample.assignments)} volumes with distinct objects ({', '.join(objects)}); "
          f"read {sample.cases_read} of {sample.cases_total} volumes (seed {sample.seed})")
    for error in sample.errors:
        print(f"  skipped: {error}")
    return 0


def analysis_tables(analysis: ReaderStudyAnalysis) -> tuple[Table, Table]:
    """The analysis as two tables: times per model, and the pairwise tests."""
    from benchmark.reports.tables import Table

    times = Table(f"Reader study: interaction time per volume, seconds ({analysis.n_volumes} volumes)",
                  ("model", "n", "median_s", "q1_s", "q3_s", "iqr_s", "mean_s"),
                  tuple((t.model, t.summary.n, t.summary.median, t.summary.q1, t.summary.q3, t.summary.iqr,
                         t.summary.mean) for t in analysis.times),
                  (f"source: {analysis.source}",
                   *((f"not timed: {', '.join(analysis.untimed)}",) if analysis.untimed else ())))
    tests = Table("Reader study: paired Wilcoxon signed-rank tests of interaction time, Holm-corrected",
                  ("model_a", "model_b", "pairs", "zero_differences", "statistic", "p_value", "p_holm", "note"),
                  tuple((c.group_a, c.group_b, c.result.n_a, c.result.n_zero, c.statistic, c.p_value, c.p_adjusted,
                         c.result.reason) for c in analysis.comparisons),
                  ("pairs: volumes timed with both models; zero differences are discarded before ranking",
                   "p_holm: Holm's step-down adjustment over every computed pair"))
    return times, tests


def _number(value: float) -> str:
    from benchmark.reports.tables import format_cell

    return format_cell(value) or "n/a"


def run_analyze(args: argparse.Namespace) -> int:
    from benchmark.reader_study.analysis import analyze_file
    from benchmark.reports.tables import write_table

    analysis = analyze_file(args.file)
    times, tests = analysis_tables(analysis)
    folder = args.out / "reader_study"
    paths = write_table(times, folder, "interaction_times") + write_table(tests, folder, "interaction_wilcoxon")
    print(f"{analysis.source}: {analysis.n_volumes} volumes")
    for item in analysis.times:
        s = item.summary
        print(f"  {item.model}: {s.n} timed, median {_number(s.median)} s, IQR {_number(s.iqr)} s "
              f"(q1 {_number(s.q1)}, q3 {_number(s.q3)})")
    if analysis.untimed:
        print(f"  not timed: {', '.join(analysis.untimed)}")
    print("Wilcoxon signed-rank tests on the same volumes, Holm-corrected:")
    for c in analysis.comparisons:
        detail = f"p {_number(c.p_value)}, Holm {_number(c.p_adjusted)}" if not c.result.reason else c.result.reason
        print(f"  {c.group_a} vs {c.group_b}: {c.result.n_a} pairs, {detail}")
    print(f"wrote {len(paths)} files under {folder}")
    return 0
