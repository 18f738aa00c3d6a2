"""Tables S2 (Box2Mask samples) and S3 (PropMask tasks) with the paper's counts beside ours."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from benchmark.data.cards import DatasetCard
from benchmark.fingerprint.characteristics import CountRow, Definition
from benchmark.reports.paper import difference, matches, paper_number, paper_order, read_rows
from benchmark.reports.tables import Cell, Table, write_table

__all__ = ["table_counts", "write_characteristics"]

S2_FILE = "table_s2_box2mask_samples.csv"
S3_FILE = "table_s3_propmask_tasks.csv"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def table_counts(which: str, per_dataset: Sequence[tuple[DatasetCard, Sequence[CountRow]]],
                 definition: Definition) -> Table:
    """Table S2 (``which="S2"``, Box2Mask samples) or S3 (``"S3"``, PropMask tasks) with the paper's counts."""
    filename = S2_FILE if which == "S2" else S3_FILE
    paper_rows = read_rows(filename)
    columns = ("id", "dataset", "object", "all", "train", "val", "test",
               "all_paper", "train_paper", "val_paper", "test_paper", "all_diff")
    rows: list[tuple[Cell, ...]] = []
    order = {card.id: i for i, card in enumerate(paper_order([c for c, _ in per_dataset], filename))}
    for card, counts in sorted(per_dataset, key=lambda p: order[p[0].id]):
        paper = list(matches(card, paper_rows))
        for row in counts:
            reported = next((p for p in paper if _norm(p.get("object", "")) == _norm(row.object)), {})
            values = [paper_number(reported.get(k)) for k in ("all", "train", "val", "test")]
            rows.append((card.id, card.name, row.object or "(all objects)", row.all, row.train, row.val, row.test,
                         *values, difference(row.all, values[0])))
    what = "Box2Mask samples" if which == "S2" else "PropMask tasks"
    notes = (f"Counting: minimum area {definition.min_area} pixels; planes "
             f"{', '.join(p.value for p in definition.planes)}; augmentation factor {definition.augmentation_factor}; "
             f"window {definition.window_mm:g} mm / at most {definition.max_slices} slices; tasks counted as "
             f"{definition.task_counting.value}.",
             f"Paper values: PropSAM supplementary Table {which[1:]}, whose counting rules are not fully stated.")
    return Table(f"Table {which}: {what}", columns, tuple(rows), notes)


def write_characteristics(rows: Sequence[tuple[DatasetCard, tuple[CountRow, ...], tuple[CountRow, ...]]],
                          definition: Definition, out_dir: Path) -> tuple[Path, ...]:
    """Tables S2 and S3 as CSV, Markdown and LaTeX."""
    s2 = table_counts("S2", [(card, samples) for card, samples, _ in rows], definition)
    s3 = table_counts("S3", [(card, tasks) for card, _, tasks in rows], definition)
    return write_table(s2, out_dir, "table_s2_box2mask_samples") + write_table(s3, out_dir, "table_s3_propmask_tasks")
