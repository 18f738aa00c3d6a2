"""``propbench datasets demo``: write the demo collection and install it into the data home.

The generated native folders are kept in ``--sources`` (default: ``<home>-demo-sources`` next to the data home, e.g.
``~/.local/share/propbench/home-demo-sources``), because the data home registers their files without copying them and
fetches content from there (see benchmark.home.data_home). Datasets already installed are left as they are.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmark.data.catalog import load_catalog
from benchmark.home.data_home import DataHome, InstallResult

__all__ = ["SOURCES_SUFFIX", "default_sources", "format_results", "register", "run_demo"]

#: Appended to the data home's folder name to name the default sources folder beside it.
SOURCES_SUFFIX = "-demo-sources"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``demo`` to ``propbench datasets``."""
    demo = commands.add_parser(
        "demo", help="write the synthetic demo collection and install it into the data home",
        description="Write the demo collection (four small synthetic datasets in native layouts: MSD, "
                    "TotalSegmentator, one folder per case, DICOM) and install each into the DataLad data home. "
                    "Datasets already installed are left as they are.")
    demo.add_argument("--sources", type=Path, default=None, metavar="DIR",
                      help="where the generated native folders are kept; the data home fetches content from there, "
                           f"so keep it (default: the data home's folder name plus '{SOURCES_SUFFIX}', beside it)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the phantoms (default 0)")
    demo.set_defaults(func=run_demo)


def default_sources(home: DataHome) -> Path:
    """``<parent of home>/<home name>-demo-sources``: beside the data home, never inside it."""
    return home.path.parent / f"{home.path.name}{SOURCES_SUFFIX}"


def run_demo(args: argparse.Namespace) -> int:
    """Build the demo collection into the data home of ``args.home`` and print what was installed."""
    from benchmark.demo.collection import build_demo

    home = DataHome.resolve(getattr(args, "home", None))
    sources = args.sources if args.sources is not None else default_sources(home)
    catalog = load_catalog(getattr(args, "cards", None))
    start = time.perf_counter()
    results = build_demo(home, Path(sources), seed=args.seed, catalog=catalog)
    print(format_results(results, home, Path(sources), time.perf_counter() - start))
    return 0


def format_results(results: tuple[InstallResult, ...], home: DataHome, sources: Path, seconds: float) -> str:
    """One line per dataset (ID, what was done, commit, path), then the data home, and the sources folder when
    something was installed from it."""
    lines = []
    for result in results:
        action = "already installed, left as it is" if result.already_installed else "installed"
        lines.append(f"{result.dataset_id:<11} {action:<33} {result.commit[:12]}  {result.path}")
    new = sum(not r.already_installed for r in results)
    lines.append(f"data home: {home.path}")
    if new:
        lines.append(f"demo sources (keep: content is fetched from there): {Path(sources).expanduser().resolve()}")
    lines.append(f"{new} dataset(s) installed, {len(results) - new} already present, in {seconds:.1f} s")
    return "\n".join(lines)
