"""The report page: one static HTML file (no server, no script, no network) with every table, figure and caption,
links to each table's CSV, Markdown and LaTeX and each figure's PDF, and a "how this was produced" block (the
command, the runs' configurations, the code and package versions, the machines). Every link and image is relative
to the page, so the folder can be moved, zipped or opened from disk.
"""

from __future__ import annotations

import html
import json
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from benchmark.reports.figures.plotting import Figure
from benchmark.reports.source import RunInfo
from benchmark.reports.tables import Table, to_html

__all__ = ["TableEntry", "Provenance", "render_page", "write_page", "package_versions", "PAGE_NAME"]

PAGE_NAME = "index.html"
_PACKAGES = ("propsam-bench", "numpy", "scipy", "pandas", "matplotlib", "nibabel", "SimpleITK", "torch")
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; } nav li { margin: 0.15em 0; }
.table-scroll { overflow-x: auto; max-height: 40em; overflow-y: auto; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.8em; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 0.4em; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 0.2em 0.5em; text-align: right; white-space: nowrap; }
th { position: sticky; top: 0; background: #f4f4f4; }
td:nth-child(-n+3), th:nth-child(-n+3) { text-align: left; }
.notes { font-size: 0.82em; color: #444; } .files { font-size: 0.85em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; } .skipped { color: #8a4b00; font-style: italic; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.8em; }
"""


@dataclass(frozen=True)
class TableEntry:
    """A table of the page, its anchor and its files (CSV, Markdown, LaTeX)."""

    stem: str
    table: Table
    files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Provenance:
    """What the "how this was produced" block states.

    Attributes:
        command: The command that wrote the report.
        store: The results store read.
        schema_version: Its schema version.
        runs: The runs reported.
        machines: Machine ID to description (the store's machines table).
        total_rows: Rows of the reported runs.
    """

    command: str
    store: Path
    schema_version: int
    runs: tuple[RunInfo, ...]
    machines: Mapping[str, Mapping[str, Any]]
    total_rows: int


def package_versions() -> dict[str, str]:
    """Python and the installed versions of the packages the report and the runs depend on."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _link(path: Path, out_dir: Path) -> str:
    return Path(os.path.relpath(path, out_dir)).as_posix()


def _table_section(entry: TableEntry, out_dir: Path) -> str:
    links = " ".join(f'<a href="{html.escape(_link(p, out_dir))}">{html.escape(p.suffix[1:].upper())}</a>'
                     for p in entry.files)
    files = f'<p class="files">Files: {links}</p>\n' if links else ""
    return f'<section id="{html.escape(entry.stem)}">\n{to_html(entry.table)}{files}</section>\n'


def _figure_section(figure: Figure, out_dir: Path) -> str:
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in figure.notes)
    caption = f"<figcaption><b>{html.escape(figure.title)}</b><ul class=\"notes\">{notes}</ul></figcaption>"
    if figure.png is None:
        body = f'<p class="skipped">Not drawn: {html.escape(figure.skipped)}.</p>'
    else:
        pdf = (f' <a class="files" href="{html.escape(_link(figure.pdf, out_dir))}">PDF</a>'
               if figure.pdf is not None else "")
        body = f'<img src="{html.escape(_link(figure.png, out_dir))}" alt="{html.escape(figure.title)}">{pdf}'
    return f'<section id="{html.escape(figure.stem)}"><figure>{body}{caption}</figure></section>\n'


def _provenance_section(provenance: Provenance) -> str:
    runs = "".join(
        f"<h3>Run {html.escape(r.run_id)}</h3><p>started {html.escape(r.record.created_utc)}; propsam-bench "
        f"{html.escape(r.record.suite_version)} at commit {html.escape(r.record.git_commit or 'unknown')}"
        f"{' (uncommitted changes)' if r.record.git_dirty else ''}; seed {r.record.seed}</p>"
        f"<pre>{html.escape(json.dumps(r.config, indent=1, sort_keys=True))}</pre>" for r in provenance.runs)
    machines = "".join(f"<li>{html.escape(mid)}: {html.escape(json.dumps(info, sort_keys=True))}</li>"
                       for mid, info in sorted(provenance.machines.items()))
    versions = ", ".join(f"{html.escape(k)} {html.escape(v)}" for k, v in package_versions().items())
    return (f'<section id="how-this-was-produced"><h2>How this was produced</h2>'
            f"<p>Command: <code>{html.escape(provenance.command)}</code></p>"
            f"<p>Results store: <code>{html.escape(str(provenance.store))}</code> (schema version "
            f"{provenance.schema_version}); {provenance.total_rows} rows in the reported runs. The tables and "
            f"figures only render these rows: no metric was recomputed and no model was run to write this report."
            f"</p><p>Versions of this report's process: {versions}.</p><h3>Machines of the rows</h3>"
            f"<ul>{machines or '<li>none recorded</li>'}</ul>{runs}</section>\n")


def render_page(tables: Sequence[TableEntry], figures: Sequence[Figure], provenance: Provenance,
                out_dir: Path) -> str:
    """The report page as HTML text (links relative to ``out_dir``, where the page is written)."""
    toc = "".join(f'<li><a href="#{html.escape(e.stem)}">{html.escape(e.table.title)}</a></li>' for e in tables)
    toc += "".join(f'<li><a href="#{html.escape(f.stem)}">{html.escape(f.title)}</a></li>' for f in figures)
    body = "".join(_table_section(e, out_dir) for e in tables)
    pictures = "".join(_figure_section(f, out_dir) for f in figures)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>PropSAM Bench report</title>'
            f"<style>{_STYLE}</style></head><body>\n<h1>PropSAM Bench report</h1>\n"
            f"<p>Supplementary tables regenerated from the results store <code>"
            f"{html.escape(str(provenance.store))}</code>, with the PropSAM paper's values beside ours where they "
            f'apply. <a href="#how-this-was-produced">How this was produced</a>.</p>\n'
            f"<nav><ul>{toc}</ul></nav>\n<h2>Tables</h2>\n{body}<h2>Figures</h2>\n{pictures}"
            f"{_provenance_section(provenance)}</body></html>\n")


def write_page(tables: Sequence[TableEntry], figures: Sequence[Figure], provenance: Provenance,
               out_dir: Path) -> Path:
    """Write ``out_dir/index.html``; returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PAGE_NAME
    path.write_text(render_page(tables, figures, provenance, out_dir), encoding="utf-8")
    return path
