"""Paired comparisons of Dice beyond the paper: two-sided Wilcoxon signed-rank tests between every two models on the
same objects of each dataset, Holm-corrected within each dataset (benchmark.stats.pairwise_tests).

A pair is one object of one case with a finite Dice from both models (default setting, accuracy rows); an object
that failed or was skipped for either model is not a pair (the counts are in the caption).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.reports.accuracy import S5_FILE
from benchmark.reports.captions import caption_notes
from benchmark.reports.cells import finite_values
from benchmark.reports.paper import model_order
from benchmark.reports.source import ReportData
from benchmark.reports.tables import Cell, Table
from benchmark.stats import MIN_SAMPLE_SIZE, WilcoxonTest, pairwise_tests

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["table_paired_dice", "paired_values"]


def paired_values(frame: pd.DataFrame, dataset_id: str, models: list[str]) -> dict[str, list[float]]:
    """Each model's Dice on the union of the dataset's (case, object) keys, NaN where it has no finite value, in one
    key order (the layout benchmark.stats.pairwise_tests takes for paired groups)."""
    rows = frame[frame["dataset_id"] == dataset_id]
    values = {m: dict(zip(zip(g["case_id"], g["object_name"], strict=True), g["dice"], strict=True))
              for m, g in rows[rows["status"] == "ok"].groupby("model")}
    keys = sorted({k for v in values.values() for k in v})

    def finite(value: float | None) -> float:
        return float(value) if value is not None and math.isfinite(value) else math.nan

    return {m: [finite(values.get(m, {}).get(k)) for k in keys] for m in models}


def table_paired_dice(data: ReportData) -> Table:
    """Signed-rank tests of per-object Dice between every two models, per dataset (module docstring)."""
    frame = data.accuracy.frame
    frame = frame[frame["setting"] == DEFAULT_POINT.key]
    models = model_order(list(frame["model"].unique()))
    present = finite_values(frame, "dice", ("dataset_id", "model"))
    rows: list[tuple[Cell, ...]] = []
    untested = []
    for info in data.ordered(frame["dataset_id"].unique(), S5_FILE):
        members = [m for m in models if (info.dataset_id, m) in present]
        if len(members) < 2:
            untested.append(info.dataset_id)
            continue
        groups = paired_values(frame, info.dataset_id, members)
        for pair in pairwise_tests(groups, test=WilcoxonTest.SIGNED_RANK):
            a, b = np.asarray(groups[pair.group_a]), np.asarray(groups[pair.group_b])
            complete = ~(np.isnan(a) | np.isnan(b))
            mean_diff = float(np.mean(a[complete] - b[complete])) if complete.any() else None
            result = pair.result
            rows.append((info.dataset_id, info.label, pair.group_a, pair.group_b, result.n_a, result.n_zero,
                         mean_diff, result.statistic, result.p_value, pair.p_adjusted, result.reason or None))
    notes = [*caption_notes(data, data.accuracy, frame, what="default setting, Dice"),
             "Two-sided Wilcoxon signed-rank tests (scipy.stats.wilcoxon) of the Dice of model_a and model_b on the "
             "same objects; n_pairs: objects with a finite Dice from both (failed, skipped and undefined objects are "
             "not pairs); n_zero: pairs of equal Dice, discarded before ranking (Wilcoxon's convention); mean_diff: "
             "mean of model_a - model_b over the pairs. p_holm: Holm's correction within each dataset's family of "
             "model pairs.",
             f"A test needs at least {MIN_SAMPLE_SIZE} non-zero differences (benchmark.stats); below that p is empty "
             f"and the note says why."]
    if untested:
        notes.append(f"Datasets with fewer than two models holding a Dice (no pair to test): {', '.join(untested)}.")
    columns = ("id", "dataset", "model_a", "model_b", "n_pairs", "n_zero", "mean_diff", "statistic", "p_value",
               "p_holm", "note")
    return Table("Paired Wilcoxon signed-rank tests of per-object Dice between models, per dataset (Holm-corrected)",
                 columns, tuple(rows), tuple(notes), placeholders=(("p_value", "-"), ("p_holm", "-")),
                 formats=(("mean_diff", ".3f"), ("statistic", ".1f")))
