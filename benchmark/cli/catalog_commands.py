"""``propbench datasets list``: the dataset catalog as a table or as JSON.

The table has one row per card: ID, name, modality, number of objects (of the card's default data version), role
(internal: split 80:20 for training and validation; external: test only), layout family, access, and the paper's
number of 3D scans. A layout the project has not confirmed against the real download is marked with ``?`` after its
family, and a footnote says what the user must provide before the dataset can be read.

The catalog holds the built-in cards and the user's own folders (``--cards DIR``, ``$PROPBENCH_CARDS``), every card
checked as it loads (schema and layout options). A card that fails is reported on stderr with its error and the others
are listed; the exit status is then 1 and the last line of stderr counts the bad card files, so ``list`` is the check
of a new card.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from benchmark.data.cards import DatasetCard
from benchmark.data.catalog import CardProblem, Catalog, load_catalog

__all__ = ["UNCONFIRMED_MARK", "CatalogRow", "catalog_rows", "format_table", "report_problems", "register",
           "run_list"]

#: Appended to the layout family of a card whose layout is not confirmed.
UNCONFIRMED_MARK = "?"
#: Longer names are shortened in the table (``--json`` keeps them whole).
NAME_WIDTH = 40
#: Width the footnotes are wrapped to.
TEXT_WIDTH = 118


@dataclass(frozen=True)
class CatalogRow:
    """One card as ``datasets list`` shows it.

    Attributes:
        id: Catalog ID, e.g. ``"D19"``.
        name: Our name of the dataset.
        paper_name: The paper's name when it differs from ``name``, else ``""``.
        modality: ``CT``, ``MR``, ``PET-CT`` or ``micro-CT``.
        channels: Channel names in reading order.
        default_version: The data version whose objects are counted.
        versions: Every data version the card declares.
        objects: Object names of the default version.
        role: ``internal`` or ``external``.
        layout_family: ``F1`` .. ``F6``.
        layout_confirmed: False when the layout is the most plausible guess, not checked against the data.
        user_must_provide: What the user must supply when the layout is not confirmed.
        access: ``direct``, ``registration``, ``tcia-manifest``, ``request`` or ``unknown``.
        licence: The licence as known, or ``unknown (verify)``.
        url: Where the data is published.
        paper_scan_count: The paper's number of 3D scans (Tables S1/S4), None when not given.
        demo: True for cards of the demo collection.
        card: Path of the card file.
    """

    id: str
    name: str
    paper_name: str
    modality: str
    channels: tuple[str, ...]
    default_version: str
    versions: tuple[str, ...]
    objects: tuple[str, ...]
    role: str
    layout_family: str
    layout_confirmed: bool
    user_must_provide: str
    access: str
    licence: str
    url: str
    paper_scan_count: int | None
    demo: bool
    card: str

    @classmethod
    def from_card(cls, card: DatasetCard) -> CatalogRow:
        return cls(
            id=card.id,
            name=card.name,
            paper_name=card.paper_name,
            modality=str(card.modality),
            channels=card.channels,
            default_version=card.default_version,
            versions=tuple(card.versions),
            objects=card.objects().names,
            role=str(card.role),
            layout_family=str(card.layout.family),
            layout_confirmed=card.layout.confirmed,
            user_must_provide=card.layout.user_must_provide,
            access=str(card.source.access),
            licence=card.source.licence,
            url=card.source.url,
            paper_scan_count=card.paper_scan_count,
            demo=card.demo,
            card=str(card.path),
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


def catalog_rows(catalog: Catalog) -> list[CatalogRow]:
    """One row per card, in catalog order (paper IDs numerically, then the demo collection)."""
    return [CatalogRow.from_card(card) for card in catalog]


_COLUMNS = ("ID", "name", "modality", "objects", "role", "layout", "access", "paper scans")


def _cells(row: CatalogRow) -> tuple[str, ...]:
    layout = row.layout_family + ("" if row.layout_confirmed else UNCONFIRMED_MARK)
    scans = "-" if row.paper_scan_count is None else str(row.paper_scan_count)
    role = f"{row.role} (demo)" if row.demo else row.role
    name = row.name if len(row.name) <= NAME_WIDTH else row.name[:NAME_WIDTH - 3] + "..."
    return (row.id, name, row.modality, str(len(row.objects)), role, layout, row.access, scans)


def _join(values: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)).rstrip()


def format_table(rows: Sequence[CatalogRow]) -> str:
    """A fixed-width text table of ``rows``, followed by one footnote per unconfirmed layout."""
    cells = [_COLUMNS] + [_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
    lines = [_join(line, widths) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    unconfirmed = [row for row in rows if not row.layout_confirmed]
    if unconfirmed:
        lines.append("")
        lines.extend(textwrap.wrap(
            f"{UNCONFIRMED_MARK} layout not confirmed against the real data; the family shown is the most plausible "
            f"one. Before these datasets can be read, you must provide:", TEXT_WIDTH))
        for row in unconfirmed:
            lines.extend(textwrap.wrap(f"{row.id} {row.name}: {row.user_must_provide}", TEXT_WIDTH,
                                       initial_indent="  ", subsequent_indent="    "))
    return "\n".join(lines)


def report_problems(problems: Sequence[CardProblem], err: TextIO | None = None, *, level: str = "error") -> None:
    """Print one line per bad card file to ``err`` (stderr), then a count."""
    stream = sys.stderr if err is None else err
    for problem in problems:
        stream.write(f"propbench: {level}: {problem}\n")
    if problems:
        files = len({problem.path for problem in problems})
        stream.write(f"propbench: {files} card file(s) could not be used; the other datasets are listed and usable\n")


def run_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the catalog (built-in cards and ``args.cards``) as a table, or as a JSON list of objects with
    ``args.json``; bad cards go to stderr.

    Returns:
        0 when every card loads, 1 when a card file could not be used (each named with its error on stderr, the last
        line counting them), 2 when a cards folder does not exist.
    """
    stream = sys.stdout if out is None else out
    try:
        catalog = load_catalog(args.cards)
    except FileNotFoundError as err:
        print(f"propbench: error: {err}", file=sys.stderr)
        return 2
    rows = catalog_rows(catalog)
    if args.json:
        json.dump([row.as_dict() for row in rows], stream, indent=2)
        stream.write("\n")
    else:
        stream.write(format_table(rows) + "\n")
    report_problems(catalog.problems)
    return 1 if catalog.problems else 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``list`` to ``propbench datasets``."""
    parser = commands.add_parser(
        "list", help="list the dataset catalog",
        description="List every dataset card: ID, name, modality, object count, role, layout family, access and "
                    "the paper's scan count. Layout families marked '?' are not confirmed. Cards that fail their "
                    "checks are reported on stderr and the exit status is 1.")
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects instead of a table")
    parser.set_defaults(func=run_list)
