"""Fingerprints, splits and data characteristics of installed datasets, written into ``reports/``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmark.data.cards import DatasetCard
from benchmark.data.home import DataHome
from benchmark.fingerprint.case import CaseFingerprint
from benchmark.fingerprint.characteristics import CountRow, Definition, characteristics
from benchmark.fingerprint.runner import CasePass, run_cases
from benchmark.fingerprint.summary import DatasetFingerprint, summarize
from benchmark.fingerprint.tables import table_counts, table_s4
from benchmark.reports.tables import write_table
from benchmark.splits import Split, make_split

__all__ = ["DatasetResult", "fingerprint_datasets", "characterize_datasets", "write_fingerprints",
           "write_characteristics"]

#: Called with (dataset ID, cases done, cases in all).
DatasetProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DatasetResult:
    """One dataset's fingerprint, with its per-case pass and split."""

    card: DatasetCard
    fingerprint: DatasetFingerprint
    cases: CasePass
    split: Split


def fingerprint_datasets(home: DataHome, cards: Sequence[DatasetCard], *, full: bool = True,
                         cache_dir: Path | None = None, workers: int | None = None, seed: int = 0,
                         validation_fraction: float = 0.2, progress: DatasetProgress | None = None,
                         ) -> tuple[DatasetResult, ...]:
    """Fingerprint and split each dataset (installed in ``home``; raises DatasetNotInstalledError otherwise)."""
    results = []
    for card in cards:
        reader = home.open_reader(card)

        def report(done: int, total: int, dataset_id: str = card.id) -> None:
            if progress is not None:
                progress(dataset_id, done, total)

        case_pass = run_cases(reader, full=full, cache_dir=cache_dir, workers=workers, seed=seed, progress=report)
        summary = summarize(card, case_pass.fingerprints, case_pass.errors, data_version=reader.data_version)
        split = make_split(card, [c.case_id for c in case_pass.fingerprints], seed=seed,
                           validation_fraction=validation_fraction, data_version=reader.data_version)
        results.append(DatasetResult(card, summary, case_pass, split))
    return tuple(results)


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


def characterize_datasets(results: Sequence[DatasetResult], definition: Definition,
                          ) -> tuple[tuple[DatasetCard, tuple[CountRow, ...], tuple[CountRow, ...]], ...]:
    """Tables S2 and S3 rows per dataset, from full fingerprints and their splits."""
    out = []
    for result in results:
        cases: Sequence[CaseFingerprint] = result.cases.fingerprints
        samples, tasks = characteristics(cases, result.split, result.card.objects().names, definition)
        out.append((result.card, samples, tasks))
    return tuple(out)


def write_characteristics(rows: Sequence[tuple[DatasetCard, tuple[CountRow, ...], tuple[CountRow, ...]]],
                          definition: Definition, out_dir: Path) -> tuple[Path, ...]:
    """Tables S2 and S3 as CSV, Markdown and LaTeX."""
    s2 = table_counts("S2", [(card, samples) for card, samples, _ in rows], definition)
    s3 = table_counts("S3", [(card, tasks) for card, _, tasks in rows], definition)
    return write_table(s2, out_dir, "table_s2_box2mask_samples") + write_table(s3, out_dir, "table_s3_propmask_tasks")
