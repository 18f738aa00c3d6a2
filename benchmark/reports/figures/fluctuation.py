"""Figures S9 and S10: the relative change of each dataset's Dice against the ablation's base point (0 % slice
deviation; 20 mm propagation thickness), in percent, one panel per model (the paper's two prompt styles), one line
per dataset. Values are those of Tables S8 and S9 (benchmark.reports.ablations): change / base x 100."""

from __future__ import annotations

from pathlib import Path

from benchmark.protocol.settings import Setting
from benchmark.reports.ablations import AblationValues
from benchmark.reports.figures.plotting import Figure, pyplot, save_figure, skipped_figure

__all__ = ["relative_changes", "plot_fluctuation", "FIGURE_STEMS"]

#: File stem of each ablation's figure.
FIGURE_STEMS = {Setting.SLICE_DEVIATION: "figure_s9_slice_deviation", Setting.THICKNESS: "figure_s10_thickness"}


def relative_changes(values: AblationValues, dataset_id: str, model: str) -> list[float | None]:
    """Per point, ``100 * (mean - base) / base`` of the dataset row (None where a mean is missing or the base is 0)."""
    base = values.cell(dataset_id, None, model, values.ablation.base).mean
    changes: list[float | None] = []
    for point in values.points:
        change = values.change(dataset_id, None, model, point)
        if point == values.ablation.base and base is not None:
            changes.append(0.0)
        elif change is None or not base:
            changes.append(None)
        else:
            changes.append(100.0 * change / base)
    return changes


def plot_fluctuation(values: AblationValues, out_dir: Path) -> Figure:
    """Figure S9 (slice deviation) or S10 (thickness) from the ablation's cells."""
    ablation = values.ablation
    number = "S9" if ablation.setting is Setting.SLICE_DEVIATION else "S10"
    stem = FIGURE_STEMS[ablation.setting]
    base_label = ablation.label(ablation.base)
    title = (f"Figure {number}: relative change of Dice against {base_label} "
             f"({'slice deviation of the guide' if number == 'S9' else 'propagation thickness'}), per dataset")
    notes = (f"Each line: one dataset's mean Dice (Table {ablation.name}'s dataset row) at each point, as "
             f"100 x (Dice - Dice at {base_label}) / Dice at {base_label}; one panel per model. Missing points (no "
             f"rows) are left out of a line.", f"Rows used: {values.rows_used} (those of Table {ablation.name}).")
    if not values.models or not values.datasets:
        return skipped_figure(stem, title, f"no {ablation.setting.value} rows in the store (run 'propbench run "
                                           f"--setting {ablation.setting.value}')", notes)
    plt = pyplot()
    labels = [ablation.label(p) for p in values.points]
    figure, axes = plt.subplots(1, len(values.models), figsize=(5.0 * len(values.models), 4.2), squeeze=False,
                                sharey=True)
    for axis, model in zip(axes[0], values.models, strict=True):
        for info in values.datasets:
            changes = relative_changes(values, info.dataset_id, model)
            kept = [(i, c) for i, c in enumerate(changes) if c is not None]
            if kept:
                axis.plot([i for i, _ in kept], [c for _, c in kept], marker="o", linewidth=1, markersize=3,
                          label=info.label)
        axis.axhline(0.0, color="grey", linewidth=0.8)
        axis.set_xticks(range(len(labels)), labels)
        axis.set_title(model)
        axis.set_xlabel("slice deviation" if number == "S9" else "propagation thickness")
    axes[0][0].set_ylabel(f"change of Dice against {base_label} (%)")
    handles, names = axes[0][0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, names, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small", frameon=False)
    figure.tight_layout()
    return save_figure(figure, out_dir, stem, title, notes)
