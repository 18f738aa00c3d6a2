"""Table S7: pairwise two-sided Wilcoxon rank-sum tests between the models' inference times, Holm-corrected.

Two families, each tested pair by pair (benchmark.stats.pairwise_tests) and corrected with Holm's method within the
family:

- ``per-dataset means``: each model's mean seconds per dataset (the values of Table S6), as the paper tests them;
- ``per-volume times``: every timed segmentation of each model (one value per object of each case), pooled over the
  datasets.

The paper's p-value (Table S7, per-dataset means, uncorrected as printed) stands beside ours where both models are
in the paper.
"""

from __future__ import annotations

from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.reports.captions import caption_notes
from benchmark.reports.cells import finite_values, metric_cells
from benchmark.reports.paper import PAPER_MODEL_NAMES, model_order, paper_model, paper_number, read_rows
from benchmark.reports.source import ReportData
from benchmark.reports.tables import Cell, Table
from benchmark.stats import MIN_SAMPLE_SIZE, WilcoxonTest, pairwise_tests

__all__ = ["S7_FILE", "BASES", "table_s7", "paper_p_value"]

S7_FILE = "table_s7_wilcoxon.csv"
#: The two families of tests, in table order.
BASES = ("per-dataset means", "per-volume times")


def paper_p_value(model_a: str, model_b: str, rows: list[dict[str, str]]) -> float | None:
    """The paper's Table S7 p-value of two of our models (either order), or None when the paper lacks the pair."""
    columns = paper_model(model_a), paper_model(model_b)
    if None in columns or columns[0] == columns[1]:
        return None
    names = {PAPER_MODEL_NAMES[c].lower() for c in columns if c is not None}
    for row in rows:
        if {row.get("model_a", "").lower(), row.get("model_b", "").lower()} == names:
            return paper_number(row.get("p_value"))
    return None


def table_s7(data: ReportData) -> Table:
    """Table S7 (module docstring): one row per family and pair of models."""
    frame = data.timing.frame
    frame = frame[frame["setting"] == DEFAULT_POINT.key]
    models = model_order(list(frame["model"].unique()))
    cells = metric_cells(frame, "seconds", ("model", "dataset_id"))
    means = {m: [c.mean for (model, _), c in cells.items() if model == m and c.mean is not None] for m in models}
    volumes = finite_values(frame, "seconds", ("model",))
    per_volume = {m: list(volumes.get((m,), [])) for m in models}
    paper_rows = read_rows(S7_FILE)
    rows: list[tuple[Cell, ...]] = []
    notes: list[str] = []
    for basis, groups in zip(BASES, (means, per_volume), strict=True):
        if len(groups) < 2:
            notes.append(f"{basis}: fewer than two models have times; nothing to test.")
            continue
        for pair in pairwise_tests(groups, test=WilcoxonTest.RANK_SUM):
            result = pair.result
            paper = paper_p_value(pair.group_a, pair.group_b, paper_rows) if basis == BASES[0] else None
            rows.append((basis, pair.group_a, pair.group_b, result.n_a, result.n_b, result.statistic,
                         result.p_value, pair.p_adjusted, paper, result.reason or None))
    notes = [*caption_notes(data, data.timing, frame, what="default setting, seconds"), *notes,
             "Two-sided Wilcoxon rank-sum tests (scipy.stats.ranksums, normal approximation; statistic: z, positive "
             "when model_a's times rank higher). p_holm: Holm's step-down correction within each family (the pairs of "
             "one basis). per-dataset means: each model's mean time per dataset (Table S6), n_a and n_b datasets, as "
             "the paper tests; per-volume times: every timed segmentation, n_a and n_b segmentations.",
             f"A test needs at least {MIN_SAMPLE_SIZE} values per side (benchmark.stats); below that p is empty and "
             f"the note says why.",
             "paper_p: PropSAM supplementary Table S7 (per-dataset means of four models on 44 datasets, uncorrected); "
             "empty where the paper lacks the pair."]
    columns = ("basis", "model_a", "model_b", "n_a", "n_b", "statistic", "p_value", "p_holm", "paper_p", "note")
    return Table("Table S7: Wilcoxon rank-sum tests of inference time between models (Holm-corrected)", columns,
                 tuple(rows), tuple(notes), placeholders=(("paper_p", "n/p"), ("p_value", "-"), ("p_holm", "-")),
                 formats=(("statistic", ".3f"),))
