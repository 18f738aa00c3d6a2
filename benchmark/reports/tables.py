"""A small table model rendered to CSV, Markdown and LaTeX (booktabs). Rendering only: no numbers are computed here."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cell", "Table", "format_cell", "write_table"]

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    """Columns, rows and notes (printed under the table: excluded cases, definitions, sources)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for index, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.title!r}: row {index} has {len(row)} cells, "
                                 f"expected {len(self.columns)} ({', '.join(self.columns)})")


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
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.4e}"
        return f"{value:.4g}"
    return str(value)


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def to_markdown(table: Table) -> str:
    lines = [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |",
             "|" + "|".join("---" for _ in table.columns) + "|"]
    lines += ["| " + " | ".join(format_cell(v).replace("|", "\\|") for v in row) + " |" for row in table.rows]
    lines += [""] + [f"- {note}" for note in table.notes]
    return "\n".join(lines).rstrip() + "\n"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def _latex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(table: Table) -> str:
    align = "l" + "r" * (len(table.columns) - 1)
    lines = [r"\begin{table}[htbp]", r"\centering", rf"\caption{{{_latex(table.title)}}}",
             rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(_latex(c) for c in table.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(_latex(format_cell(v)) for v in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.notes:
        lines.append(r"\par\footnotesize " + " ".join(_latex(n) for n in table.notes))
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def write_table(table: Table, out_dir: Path, stem: str,
                formats: Sequence[str] = ("csv", "md", "tex")) -> tuple[Path, ...]:
    """Write ``table`` as ``<out_dir>/<stem>.<fmt>`` for each format; returns the paths."""
    renderers = {"csv": to_csv, "md": to_markdown, "tex": to_latex}
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        if fmt not in renderers:
            raise ValueError(f"unknown table format {fmt!r}; expected one of {sorted(renderers)}")
        path = out_dir / f"{stem}.{fmt}"
        path.write_text(renderers[fmt](table), encoding="utf-8")
        paths.append(path)
    return tuple(paths)
