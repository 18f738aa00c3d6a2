"""Fingerprints, splits and data characteristics of installed datasets (computed here, rendered by
benchmark.reports)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from benchmark.data.cards import DatasetCard
from benchmark.fingerprint.case import CaseFingerprint
from benchmark.fingerprint.characteristics import CountRow, Definition, characteristics
from benchmark.fingerprint.runner import CasePass, run_cases
from benchmark.fingerprint.summary import DatasetFingerprint, summarize
from benchmark.home.data_home import DataHome
from benchmark.splits import Split, make_split

__all__ = ["DatasetResult", "fingerprint_datasets", "characterize_datasets"]

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
                         cache_dir: Path | None = None, workers: int | None = None,
                         executor: Executor | None = None, seed: int = 0,
                         validation_fraction: float = 0.2, progress: DatasetProgress | None = None,
                         ) -> tuple[DatasetResult, ...]:
    """Fingerprint and split each dataset (installed in ``home``; raises DatasetNotInstalledError otherwise).

    ``workers`` threads run the cases unless an ``executor`` is given (see benchmark.fingerprint.runner.run_cases).
    """
    results = []
    for card in cards:
        reader = home.open_reader(card)

        def report(done: int, total: int, dataset_id: str = card.id) -> None:
            if progress is not None:
                progress(dataset_id, done, total)

        case_pass = run_cases(reader, full=full, cache_dir=cache_dir, workers=workers, executor=executor, seed=seed,
                              progress=report)
        summary = summarize(card, case_pass.fingerprints, case_pass.errors, data_version=reader.data_version)
        split = make_split(card, [c.case_id for c in case_pass.fingerprints], seed=seed,
                           validation_fraction=validation_fraction, data_version=reader.data_version)
        results.append(DatasetResult(card, summary, case_pass, split))
    return tuple(results)


def characterize_datasets(results: Sequence[DatasetResult], definition: Definition,
                          ) -> tuple[tuple[DatasetCard, tuple[CountRow, ...], tuple[CountRow, ...]], ...]:
    """Tables S2 and S3 rows per dataset, from full fingerprints and their splits."""
    out = []
    for result in results:
        cases: Sequence[CaseFingerprint] = result.cases.fingerprints
        samples, tasks = characteristics(cases, result.split, result.card.objects().names, definition)
        out.append((result.card, samples, tasks))
    return tuple(out)
