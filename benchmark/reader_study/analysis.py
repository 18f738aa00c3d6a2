"""Analysing a reader's interaction times: per model median and IQR, and paired Wilcoxon signed-rank tests between
models on the same volumes, Holm-corrected over every pair of models.

A model is analysed when at least one of its cells is filled; a test between two models uses the volumes where both
are filled (benchmark.stats drops the other pairs, discards zero differences and returns a NaN p-value with the
reason below its minimum sample size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import BenchmarkError
from benchmark.reader_study.manifest import SECONDS_PREFIX, ReaderTimes, read_times
from benchmark.stats import MIN_SAMPLE_SIZE, PairwiseComparison, Summary, WilcoxonTest, pairwise_tests, summarize

__all__ = ["ModelTimes", "ReaderStudyAnalysis", "analyze_times", "analyze_file"]


@dataclass(frozen=True, kw_only=True)
class ModelTimes:
    """The interaction times of one model, seconds.

    Attributes:
        model: Model name (the column without its ``seconds_`` prefix).
        summary: n timed volumes, median, quartiles, IQR and mean.
    """

    model: str
    summary: Summary


@dataclass(frozen=True, kw_only=True)
class ReaderStudyAnalysis:
    """The analysis of one filled-in manifest.

    Attributes:
        source: The file analysed.
        n_volumes: Rows of the file.
        times: Models with at least one time, in column order.
        untimed: Models whose column is empty.
        comparisons: Signed-rank tests between every two timed models, Holm-adjusted.
    """

    source: Path
    n_volumes: int
    times: tuple[ModelTimes, ...]
    untimed: tuple[str, ...]
    comparisons: tuple[PairwiseComparison, ...]


def analyze_times(times: ReaderTimes, *, min_n: int = MIN_SAMPLE_SIZE) -> ReaderStudyAnalysis:
    """Summaries and Holm-corrected paired tests of the timed models.

    Args:
        times: Times read by :func:`benchmark.reader_study.manifest.read_times`.
        min_n: Fewest non-zero differences for a test's p-value (see benchmark.stats).

    Raises:
        BenchmarkError: Fewer than two models have any time filled in.
    """
    timed = [m for m in times.models if any(not math.isnan(v) for v in times.seconds[m])]
    if len(timed) < 2:
        filled = ", ".join(timed) or "none"
        raise BenchmarkError(f"{times.path}: times filled in for {len(timed)} model(s) ({filled}); the analysis "
                             f"compares models, expected at least 2 filled columns among "
                             f"{[SECONDS_PREFIX + m for m in times.models]}")
    comparisons = pairwise_tests({m: times.seconds[m] for m in timed}, test=WilcoxonTest.SIGNED_RANK, min_n=min_n)
    return ReaderStudyAnalysis(source=times.path, n_volumes=len(times.volumes),
                               times=tuple(ModelTimes(model=m, summary=summarize(times.seconds[m])) for m in timed),
                               untimed=tuple(m for m in times.models if m not in timed), comparisons=comparisons)


def analyze_file(path: Path, *, min_n: int = MIN_SAMPLE_SIZE) -> ReaderStudyAnalysis:
    """:func:`analyze_times` of the manifest at ``path``.

    Raises:
        BenchmarkError: See :func:`benchmark.reader_study.manifest.read_times` and :func:`analyze_times`.
    """
    return analyze_times(read_times(path), min_n=min_n)
