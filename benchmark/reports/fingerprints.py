"""Table S4 (data fingerprints) in the paper's row order with the paper's values beside ours, and the per-dataset
fingerprint and split files behind it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmark.data.cards import DatasetCard
from benchmark.fingerprint.api import DatasetResult
from benchmark.fingerprint.case import INTENSITY_SAMPLES
from benchmark.fingerprint.summary import EXACT, DatasetFingerprint
from benchmark.reports.paper import difference, matches, paper_number, paper_order, read_rows
from benchmark.reports.tables import Cell, Table, write_table

__all__ = ["table_s4", "write_fingerprints"]

S4_FILE = "table_s4_fingerprints.csv"


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
            reported = paper_number(paper_row.get(f"{name}_median"))
            return (quart.median, quart.q1, quart.q3, reported, difference(quart.median, reported))

        scans_paper = paper_number(paper.get("n_scans"))
        types_paper = paper_number(paper.get("object_types"))
        rows.append((card.id, card.name, fp.modality, fp.n_scans, scans_paper, difference(fp.n_scans, scans_paper),
                     *trio("voxels", "voxels"),
                     *trio("size_anisotropy", "size_anisotropy"),
                     *trio("spacing_anisotropy", "spacing_anisotropy"),
                     fp.object_types, types_paper, difference(fp.object_types, types_paper), fp.n_excluded))
        notes.extend(_dataset_notes(card, fp))
    notes.append("Size anisotropy: smallest over largest dimension; spacing anisotropy: smallest over largest "
                 "spacing (the paper's definitions). Paper values: PropSAM supplementary Table S4.")
    notes.append(f"Foreground intensity statistics (mean, std, 0.5th and 99.5th percentiles, in each dataset's "
                 f"fingerprint JSON) are pooled over every finite foreground voxel of every case: exact for channels "
                 f"of whole-number values; otherwise the percentiles are estimated from {INTENSITY_SAMPLES} voxels "
                 f"per case drawn with replacement and weighted by the case's foreground size (the channel's "
                 f"'method' says which).")
    return Table("Table S4: data fingerprints", columns, tuple(rows), tuple(notes))


def _dataset_notes(card: DatasetCard, fp: DatasetFingerprint) -> list[str]:
    """Notes of one dataset: excluded cases, errors tied to no case, absent objects, non-finite voxels, estimates."""
    notes = []
    if fp.n_excluded:
        notes.append(f"{card.id}: {fp.n_excluded} of {fp.n_cases} case(s) failed to load and are excluded from the "
                     f"statistics (see the dataset's fingerprint JSON for each error).")
    if fp.n_problems:
        notes.append(f"{card.id}: {fp.n_problems} error(s) concern no single case (see the fingerprint JSON).")
    if fp.absent_objects:
        notes.append(f"{card.id}: object(s) on the card but in no case: {', '.join(fp.absent_objects)}.")
    if fp.nonfinite:
        cases = sorted({bad.case_id for bad in fp.nonfinite})
        voxels = sum(bad.voxels for bad in fp.nonfinite)
        notes.append(f"{card.id}: {len(cases)} case(s) hold NaN or infinite image voxels ({voxels} in all; "
                     f"{', '.join(cases[:5])}{', ...' if len(cases) > 5 else ''}), kept out of the intensity "
                     f"statistics.")
    estimated = [c.channel for c in fp.intensities if c.method != EXACT]
    if estimated:
        notes.append(f"{card.id}: intensity percentiles of channel(s) {', '.join(estimated)} are estimated (values "
                     f"are not whole numbers); means and standard deviations are exact.")
    return notes


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def write_fingerprints(results: Sequence[DatasetResult], out_dir: Path) -> tuple[Path, ...]:
    """Table S4 (CSV, Markdown, LaTeX), one JSON fingerprint and one split file per dataset."""
    paths = list(write_table(table_s4([(r.card, r.fingerprint) for r in results]), out_dir, "table_s4_fingerprints"))
    for result in results:
        document = _jsonable(asdict(result.fingerprint))
        path = out_dir / "fingerprints" / f"{result.card.id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        paths.append(path)
        paths.append(result.split.write(out_dir / "splits" / f"{result.card.id}.json"))
    return tuple(paths)
