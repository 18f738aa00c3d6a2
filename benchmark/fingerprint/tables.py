"""Tables S4, S2 and S3 built from our fingerprints, in the paper's row order, with the paper's values beside ours."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from benchmark.data.cards import DatasetCard
from benchmark.fingerprint.characteristics import CountRow, Definition
from benchmark.fingerprint.summary import DatasetFingerprint
from benchmark.reports.paper import matches, read_rows
from benchmark.reports.tables import Cell, Table

__all__ = ["table_s4", "table_counts", "paper_order"]

S4_FILE = "table_s4_fingerprints.csv"
S2_FILE = "table_s2_box2mask_samples.csv"
S3_FILE = "table_s3_propmask_tasks.csv"


def _number(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    return float(text.replace(",", ""))


def _diff(ours: float | None, paper: float | None) -> float | None:
    if ours is None or paper is None or (isinstance(ours, float) and math.isnan(ours)):
        return None
    return ours - paper


def paper_order(cards: Sequence[DatasetCard], filename: str) -> list[DatasetCard]:
    """Cards sorted by the row of their dataset in a paper table (cards the table lacks go last, in given order)."""
    rows = read_rows(filename)

    def position(card: DatasetCard) -> int:
        for index, row in enumerate(rows):
            if row in list(matches(card, rows)):
                return index
        return len(rows)

    return sorted(cards, key=position)


def table_s4(pairs: Sequence[tuple[DatasetCard, DatasetFingerprint]]) -> Table:
    """Table S4 (data fingerprints): ours (median, q1, q3) beside the paper's median, and the difference."""
    rows_paper = read_rows(S4_FILE)
    order = {card.id: i for i, card in enumerate(paper_order([c for c, _ in pairs], S4_FILE))}
    columns = ("id", "dataset", "modality", "scans", "scans_paper", "scans_diff",
               "voxels_median", "voxels_q1", "voxels_q3", "voxels_median_paper", "voxels_median_diff",
               "size_anisotropy_median", "size_anisotropy_q1", "size_anisotropy_q3", "size_anisotropy_median_paper",
               "size_anisotropy_median_diff", "spacing_anisotropy_median", "spacing_anisotropy_q1",
               "spacing_anisotropy_q3", "spacing_anisotropy_median_paper", "spacing_anisotropy_median_diff",
               "object_types", "object_types_paper", "object_types_diff", "excluded_cases")
    rows: list[tuple[Cell, ...]] = []
    notes: list[str] = []
    for card, fp in sorted(pairs, key=lambda p: order[p[0].id]):
        paper = next(iter(matches(card, rows_paper)), {})

        def trio(name: str, fp_key: str, fp: DatasetFingerprint = fp,
                 paper_row: dict[str, str] = paper) -> tuple[Cell, ...]:
            quart = getattr(fp, fp_key)
            reported = _number(paper_row.get(f"{name}_median"))
            return (quart.median, quart.q1, quart.q3, reported, _diff(quart.median, reported))

        scans_paper = _number(paper.get("n_scans"))
        types_paper = _number(paper.get("object_types"))
        rows.append((card.id, card.name, fp.modality, fp.n_scans, scans_paper, _diff(fp.n_scans, scans_paper),
                     *trio("voxels", "voxels"),
                     *trio("size_anisotropy", "size_anisotropy"),
                     *trio("spacing_anisotropy", "spacing_anisotropy"),
                     fp.object_types, types_paper, _diff(fp.object_types, types_paper), fp.n_excluded))
        if fp.n_excluded:
            notes.append(f"{card.id}: {fp.n_excluded} case(s) failed to load and are excluded from the statistics "
                         f"(see the dataset's fingerprint JSON for each error).")
        if fp.absent_objects:
            notes.append(f"{card.id}: object(s) on the card but in no case: {', '.join(fp.absent_objects)}.")
    notes.append("Size anisotropy: smallest over largest dimension; spacing anisotropy: smallest over largest "
                 "spacing (the paper's definitions). Paper values: PropSAM supplementary Table S4.")
    return Table("Table S4: data fingerprints", columns, tuple(rows), tuple(notes))


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
            values = [_number(reported.get(k)) for k in ("all", "train", "val", "test")]
            rows.append((card.id, card.name, row.object or "(all objects)", row.all, row.train, row.val, row.test,
                         *values, _diff(row.all, values[0])))
    what = "Box2Mask samples" if which == "S2" else "PropMask tasks"
    notes = (f"Counting: minimum area {definition.min_area} pixels; planes "
             f"{', '.join(p.value for p in definition.planes)}; augmentation factor {definition.augmentation_factor}; "
             f"window {definition.window_mm:g} mm / at most {definition.max_slices} slices; tasks counted as "
             f"{definition.task_counting.value}.",
             f"Paper values: PropSAM supplementary Table {which[1:]}, whose counting rules are not fully stated.")
    return Table(f"Table {which}: {what}", columns, tuple(rows), notes)
