"""``propbench``: the suite's command line. Each command group lives in its own module and registers itself here.

Every command module exposes ``register(subparsers)``, which adds its parsers and sets ``func`` to a function
``(args) -> int`` (the exit status). Errors of the suite print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmark import __version__
from benchmark.errors import BenchmarkError
from benchmark.home import datalad_ops

__all__ = ["build_parser", "main", "main_entry"]


def build_parser() -> argparse.ArgumentParser:
    from benchmark.cli import (
        catalog_commands,
        demo_command,
        fingerprint_commands,
        home_commands,
        models_commands,
        reader_study_commands,
        report_commands,
        results_commands,
        run_commands,
    )

    parser = argparse.ArgumentParser(prog="propbench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"propbench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and DataLad calls")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    datasets = groups.add_parser("datasets", help="the dataset catalog, the data home and the demo collection")
    datasets.add_argument("--cards", type=Path, default=None,
                          help="a folder of your own dataset cards, added to the built-in catalog (default: "
                               "$PROPBENCH_CARDS, if set)")
    datasets.add_argument("--home", type=Path, default=None,
                          help="the DataLad data home (default: $PROPBENCH_HOME or ~/.local/share/propbench/home)")
    commands = datasets.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (catalog_commands, home_commands, demo_command, fingerprint_commands):
        module.register(commands)
    models_commands.register(groups)
    run_commands.register(groups)
    results_commands.register(groups)
    reader_study_commands.register(groups)
    report_commands.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``propbench`` with ``argv`` and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(message)s")
    # DataLad logs one INFO line per file through its own handler, and resets its level when first imported
    datalad_ops.configure_logging(bool(args.verbose))
    try:
        status: int = args.func(args)
    except BenchmarkError as err:
        print(f"propbench: error: {err}", file=sys.stderr)
        return 2
    return status


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
