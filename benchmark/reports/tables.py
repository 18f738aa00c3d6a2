"""A small table model rendered to CSV, Markdown, LaTeX (booktabs) and HTML. Rendering only: no numbers are computed
here.

CSV keeps every column as a plain value (pandas reads it back as numbers; an empty cell is a missing value). The
formats people read (Markdown, LaTeX, HTML) may, per table:

- print a change column in parentheses after its value column, as the paper prints its ablation deltas
  (``0.867 (-0.006)``; :attr:`Table.bracketed`);
- print a text in place of a missing value of a column (``n/p``: the paper has no value; :attr:`Table.placeholders`);
- print a column with a fixed number format (``.3f`` for Dice, as the paper; :attr:`Table.formats`);
- set a cell in bold or underlined (the fastest and second fastest model of Table S6; :attr:`Table.emphasis`).
"""

from __future__ import annotations

import csv
import functools
import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

__all__ = ["Cell", "Emphasis", "Table", "format_cell", "to_csv", "to_markdown", "to_latex", "to_html", "write_table",
           "TABLE_FORMATS"]

Cell = str | int | float | None


class Emphasis(str, Enum):
    BOLD = "bold"
    UNDERLINE = "underline"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Table:
    """Columns, rows and notes (printed under the table: protocol, excluded cases, definitions, sources).

    Attributes:
        title: The caption's first sentence.
        columns: Column names (CSV header).
        rows: One tuple of cells per row, as long as ``columns``.
        notes: The rest of the caption, one sentence or paragraph each.
        emphasis: ``(row index, column, emphasis)`` of emphasised cells.
        bracketed: ``(value column, change column)``: people's formats print the change in parentheses after the
            value and leave the change column out.
        placeholders: ``(column, text)``: people's formats print ``text`` for a missing value of ``column``.
        formats: ``(column, format spec)``: people's formats print the column's numbers with ``format(value, spec)``.
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...] = ()
    emphasis: tuple[tuple[int, str, Emphasis], ...] = ()
    bracketed: tuple[tuple[str, str], ...] = ()
    placeholders: tuple[tuple[str, str], ...] = ()
    formats: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for index, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.title!r}: row {index} has {len(row)} cells, "
                                 f"expected {len(self.columns)} ({', '.join(self.columns)})")
        named = [c for _, c, _ in self.emphasis] + [c for pair in self.bracketed for c in pair]
        named += [c for c, _ in self.placeholders] + [c for c, _ in self.formats]
        unknown = sorted(set(named) - set(self.columns))
        if unknown:
            raise ValueError(f"table {self.title!r}: emphasis, bracketed, placeholders or formats name column(s) "
                             f"{unknown}, which are not among the columns ({', '.join(self.columns)})")
        bad_rows = [r for r, _, _ in self.emphasis if not 0 <= r < len(self.rows)]
        if bad_rows:
            raise ValueError(f"table {self.title!r}: emphasis on row(s) {bad_rows}; the table has {len(self.rows)} "
                             f"rows")

    def column(self, name: str) -> tuple[Cell, ...]:
        """The cells of one column, in row order.

        Raises:
            KeyError: No such column (the message lists the columns).
        """
        if name not in self.columns:
            raise KeyError(f"table {self.title!r} has no column {name!r}; columns: {', '.join(self.columns)}")
        index = self.columns.index(name)
        return tuple(row[index] for row in self.rows)

    def emphasis_of(self, row: int, column: str) -> Emphasis | None:
        return next((e for r, c, e in self.emphasis if r == row and c == column), None)

    @property
    def shown_columns(self) -> tuple[str, ...]:
        """The columns people's formats print (change columns of ``bracketed`` are printed inside their value's)."""
        hidden = {change for _, change in self.bracketed}
        return tuple(c for c in self.columns if c not in hidden)

    @functools.cached_property
    def _styles(self) -> tuple[dict[str, int], dict[str, str], dict[str, str], dict[str, str]]:
        """Column positions, formats, placeholders and change columns, looked up once per table."""
        return ({c: i for i, c in enumerate(self.columns)}, dict(self.formats), dict(self.placeholders),
                dict(self.bracketed))

    def shown_cell(self, row: int, column: str) -> str:
        """The text people's formats print in one cell (unescaped, without emphasis)."""
        positions, formats, placeholders, bracketed = self._styles
        values = self.rows[row]
        value = values[positions[column]]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return placeholders.get(column, "")
        text = _formatted(value, formats.get(column))
        change = bracketed.get(column)
        if change is not None and text:
            change_value = values[positions[change]]
            change_text = "" if change_value is None else _formatted(change_value, formats.get(change))
            if change_text:
                text = f"{text} ({change_text})"
        return text


def format_cell(value: Cell) -> str:
    """Integers as is, floats with 4 significant digits (scientific above 1e5), None and NaN as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.4e}"
        return f"{value:.4g}"
    return str(value)


def _formatted(value: Cell, spec: str | None) -> str:
    if spec is None or not isinstance(value, float) or isinstance(value, bool) or not math.isfinite(value):
        return format_cell(value)
    return format(value, spec)  # "-0.000" for a small negative change, as the paper prints it


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def _emphasised(text: str, emphasis: Emphasis | None, bold: str, underline: str) -> str:
    if not text or emphasis is None:
        return text
    return (bold if emphasis is Emphasis.BOLD else underline).format(text)


def to_markdown(table: Table) -> str:
    shown = table.shown_columns
    lines = [f"### {table.title}", "", "| " + " | ".join(shown) + " |", "|" + "|".join("---" for _ in shown) + "|"]
    for index in range(len(table.rows)):
        cells = [_emphasised(table.shown_cell(index, c).replace("|", "\\|"), table.emphasis_of(index, c),
                             "**{}**", "<u>{}</u>") for c in shown]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [f"- {note}" for note in table.notes]
    return "\n".join(lines).rstrip() + "\n"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def _latex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(table: Table) -> str:
    shown = table.shown_columns
    align = "l" + "r" * (len(shown) - 1)
    lines = [r"\begin{table}[htbp]", r"\centering", rf"\caption{{{_latex(table.title)}}}",
             rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(_latex(c) for c in shown) + r" \\", r"\midrule"]
    for index in range(len(table.rows)):
        cells = [_emphasised(_latex(table.shown_cell(index, c)), table.emphasis_of(index, c),
                             r"\textbf{{{}}}", r"\underline{{{}}}") for c in shown]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.notes:
        lines.append(r"\par\footnotesize " + " ".join(_latex(n) for n in table.notes))
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_html(table: Table, *, table_id: str = "") -> str:
    """The table as an HTML fragment: a ``<table>`` with its ``<caption>`` (the title) and the notes after it."""
    shown = table.shown_columns
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    lines = [f'<div class="table-block"{ident}>', '<div class="table-scroll"><table>',
             f"<caption>{html.escape(table.title)}</caption>",
             "<thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in shown) + "</tr></thead>", "<tbody>"]
    for index in range(len(table.rows)):
        cells = [_emphasised(html.escape(table.shown_cell(index, c)), table.emphasis_of(index, c),
                             "<b>{}</b>", "<u>{}</u>") for c in shown]
        lines.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    lines += ["</tbody></table></div>"]
    if table.notes:
        lines += ['<ul class="notes">'] + [f"<li>{html.escape(note)}</li>" for note in table.notes] + ["</ul>"]
    lines.append("</div>")
    return "\n".join(lines) + "\n"


#: File formats :func:`write_table` writes (HTML tables go into the report page instead).
TABLE_FORMATS = ("csv", "md", "tex")


def write_table(table: Table, out_dir: Path, stem: str,
                formats: Sequence[str] = TABLE_FORMATS) -> tuple[Path, ...]:
    """Write ``table`` as ``<out_dir>/<stem>.<fmt>`` for each format; returns the paths."""
    renderers = {"csv": to_csv, "md": to_markdown, "tex": to_latex, "html": to_html}
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        if fmt not in renderers:
            raise ValueError(f"unknown table format {fmt!r}; expected one of {sorted(renderers)}")
        path = out_dir / f"{stem}.{fmt}"
        path.write_text(renderers[fmt](table), encoding="utf-8")
        paths.append(path)
    return tuple(paths)
