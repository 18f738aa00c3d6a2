"""Reading tables cell by cell in the report tests."""

from __future__ import annotations

from benchmark.reports.tables import Cell, Table

__all__ = ["cell", "row_index", "notes_text"]


def row_index(table: Table, **match: Cell) -> int:
    """The index of the only row whose columns equal ``match``."""
    found = [i for i, row in enumerate(table.rows)
             if all(row[table.columns.index(k)] == v for k, v in match.items())]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} rows of {table.title!r} match {match}")
    return found[0]


def cell(table: Table, column: str, **match: Cell) -> Cell:
    """The value of ``column`` in the only row matching ``match``."""
    return table.rows[row_index(table, **match)][table.columns.index(column)]


def notes_text(table: Table) -> str:
    return "\n".join(table.notes)
