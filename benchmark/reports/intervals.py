"""Bootstrap 95 % confidence intervals of the mean Dice of each model on each dataset (beyond the paper), seeded
(benchmark.stats.bootstrap_mean_ci).

The interval is of the mean over every object of the dataset (each object of each case one value: the pooled mean,
which weighs objects by their number of cases), from the default setting's accuracy rows; Table S5's dataset rows
are means of object means instead, so the two can differ where objects have different numbers of cases.
"""

from __future__ import annotations

from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.reports.accuracy import S5_FILE
from benchmark.reports.captions import caption_notes
from benchmark.reports.cells import finite_values
from benchmark.reports.paper import model_order
from benchmark.reports.source import ReportData
from benchmark.reports.tables import Cell, Table
from benchmark.stats import bootstrap_mean_ci

__all__ = ["DEFAULT_RESAMPLES", "table_dice_intervals"]

#: Bootstrap resamples per interval.
DEFAULT_RESAMPLES = 10_000


def table_dice_intervals(data: ReportData, *, seed: int = 0, resamples: int = DEFAULT_RESAMPLES,
                         confidence: float = 0.95) -> Table:
    """One row per dataset and model: the pooled mean Dice, its percentile bootstrap interval and n.

    Args:
        data: The report data.
        seed: Seed of every interval's resampling (the same seed for each, so a report is reproducible).
        resamples: Bootstrap resamples per interval.
        confidence: Confidence level.
    """
    frame = data.accuracy.frame
    frame = frame[frame["setting"] == DEFAULT_POINT.key]
    models = model_order(list(frame["model"].unique()))
    values = finite_values(frame, "dice", ("dataset_id", "model"))
    rows: list[tuple[Cell, ...]] = []
    for info in data.ordered(frame["dataset_id"].unique(), S5_FILE):
        for model in models:
            sample = values.get((info.dataset_id, model))
            if sample is None:
                rows.append((info.dataset_id, info.label, model, None, None, None, 0, "no finite Dice"))
                continue
            interval = bootstrap_mean_ci(sample.tolist(), seed=seed, confidence=confidence, resamples=resamples)
            rows.append((info.dataset_id, info.label, model, interval.mean, interval.low, interval.high, interval.n,
                         interval.reason or None))
    level = f"{confidence * 100:g} %"
    notes = [*caption_notes(data, data.accuracy, frame, what="default setting, Dice"),
             f"Percentile bootstrap {level} confidence intervals of the mean Dice over every object of the dataset "
             f"(pooled; Table S5's dataset rows are means of object means): {resamples} resamples with replacement, "
             f"numpy default_rng seed {seed} for every interval. n: objects with a finite Dice; an interval needs at "
             f"least 2."]
    columns = ("id", "dataset", "model", "mean", "low", "high", "n", "note")
    return Table(f"Mean Dice per dataset and model with bootstrap {level} confidence intervals", columns,
                 tuple(rows), tuple(notes), formats=tuple((c, ".3f") for c in ("mean", "low", "high")),
                 placeholders=(("mean", "-"), ("low", "-"), ("high", "-")))
