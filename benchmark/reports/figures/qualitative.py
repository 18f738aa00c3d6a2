"""Qualitative panels, one per dataset: the guide slice with each model's prompt drawn, then slices below and above
it with the ground-truth contour and each model's contour, read from the masks the run saved (``mask_path``).

The image and the ground truth are read through the data home (a ``CaseOpener``); nothing is recomputed. A panel
is skipped, with the reason in its place, when no mask was saved, when the data home is not given or lacks the
dataset, or when a case cannot be read: a report never fails because masks or data are absent.

Slices are shown in the radiological convention: the patient's right on the left, anterior up (canonical RAS grid,
benchmark.data.geometry), cropped around the object with a margin.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.data.case import Case
from benchmark.errors import BenchmarkError
from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.reports.accuracy import S5_FILE
from benchmark.reports.figures.plotting import Figure, pyplot, save_figure, skipped_figure
from benchmark.reports.paper import model_order
from benchmark.reports.source import ReportData

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CaseOpener", "choose_objects", "neighbour_slices", "plot_qualitative", "read_mask", "display_slice",
           "box_edges"]

#: Opens one case of one dataset (dataset ID, case ID); raises when it cannot.
CaseOpener = Callable[[str, str], Case]
_COLOURS = ("tab:red", "tab:blue", "tab:orange", "tab:purple", "tab:cyan", "tab:pink", "tab:olive", "tab:brown")


def choose_objects(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per dataset, the rows of the (case, object) with a saved mask from the most models (then the largest
    object, then the first in name order): the object a panel shows."""
    saved = frame[(frame["status"] == "ok") & frame["mask_path"].notna()]
    saved = saved[np.array([Path(str(p)).is_file() for p in saved["mask_path"]], dtype=bool)]
    chosen = {}
    for dataset_id, rows in saved.groupby("dataset_id", sort=False):
        counts = rows.groupby(["case_id", "object_name"]).agg(models=("model", "nunique"),
                                                              size=("n_reference", "max"))
        counts = counts.reset_index().sort_values(["models", "size", "case_id", "object_name"],
                                                  ascending=[False, False, True, True], kind="stable")
        best = counts.iloc[0]
        chosen[str(dataset_id)] = rows[(rows["case_id"] == best["case_id"])
                                       & (rows["object_name"] == best["object_name"])]
    return chosen


def neighbour_slices(guide: int, low: int, high: int, per_side: int = 2) -> list[int]:
    """Up to ``per_side`` slices below and above ``guide``, spread evenly to the object's ends ``low`` and ``high``
    (inclusive), guide excluded, in order."""
    below = {int(round(guide - (guide - low) * k / per_side)) for k in range(1, per_side + 1)}
    above = {int(round(guide + (high - guide) * k / per_side)) for k in range(1, per_side + 1)}
    return sorted((below | above) - {guide})


def read_mask(path: str | Path, shape: tuple[int, int, int]) -> np.ndarray:
    """A saved prediction (NIfTI on the case's canonical grid, benchmark.runner.masks) as a boolean (X, Y, Z) array.

    Raises:
        ValueError: The file's shape is not ``shape``.
    """
    import nibabel as nib

    array = np.asanyarray(nib.load(str(path)).dataobj)  # type: ignore[attr-defined]
    if tuple(array.shape) != tuple(shape):
        raise ValueError(f"{path}: mask of shape {tuple(array.shape)}, expected the case's {tuple(shape)}")
    return np.asarray(array, dtype=bool)


def display_slice(plane: np.ndarray) -> np.ndarray:
    """An (X, Y) slice as displayed with origin "lower": rows y (anterior up), columns x reversed (right on left)."""
    return np.asarray(plane).T[:, ::-1]


def box_edges(box: Sequence[int], x0: int, y0: int, width: int) -> tuple[float, float, float, float]:
    """A half-open (x0, y0, x1, y1) box in display coordinates of a crop starting at (x0, y0) of ``width`` columns."""
    bx0, by0, bx1, by1 = box
    return (width - (bx1 - x0) - 0.5, width - (bx0 - x0) - 0.5, by0 - y0 - 0.5, by1 - y0 - 0.5)


def _prompt_box(row: Any) -> list[int] | None:
    if not row.prompt_box or row.prompt_plane not in (None, "axial"):
        return None
    box = json.loads(row.prompt_box)
    return [box[0], box[1], box[3], box[4]] if len(box) == 6 else list(box) if len(box) == 4 else None


def _draw(case: Case, reference: np.ndarray, image: np.ndarray, rows: pd.DataFrame, out_dir: Path, stem: str,
          title: str, notes: list[str]) -> Figure:
    obj = str(rows["object_name"].iloc[0])
    masks: dict[str, np.ndarray] = {}
    for row in rows.itertuples(index=False):
        try:
            masks[str(row.model)] = read_mask(row.mask_path, case.spatial_shape)
        except (OSError, ValueError) as err:
            notes.append(f"{row.model}: saved mask not drawn ({err}).")
    zs = np.flatnonzero(reference.any(axis=(0, 1)))
    if zs.size == 0:
        return skipped_figure(stem, title, f"object {obj!r} is empty in the installed data", tuple(notes))
    slices = [int(v) for v in rows["prompt_slice"].dropna()]
    guide = max(set(slices), key=slices.count) if slices else int(zs[np.argmax(reference.sum(axis=(0, 1))[zs])])
    xs, ys = np.flatnonzero(reference.any(axis=(1, 2))), np.flatnonzero(reference.any(axis=(0, 2)))
    margin = max(8, int(0.5 * max(np.ptp(xs), np.ptp(ys))))
    x0, x1 = max(0, xs.min() - margin), min(image.shape[0], xs.max() + margin + 1)
    y0, y1 = max(0, ys.min() - margin), min(image.shape[1], ys.max() + margin + 1)
    crop = image[x0:x1, y0:y1]
    low, high = (float(v) for v in np.percentile(crop, [1.0, 99.0]))
    shown = [guide, *neighbour_slices(guide, int(zs.min()), int(zs.max()))]
    plt = pyplot()
    sx, sy, _ = case.spacing
    figure, axes = plt.subplots(1, len(shown), figsize=(2.6 * len(shown), 3.0), squeeze=False)
    models = model_order(list(masks))
    colours = {m: _COLOURS[i % len(_COLOURS)] for i, m in enumerate(models)}
    for axis, z in zip(axes[0], sorted(shown), strict=True):
        axis.imshow(display_slice(crop[:, :, z]), cmap="gray", vmin=low, vmax=high, origin="lower", aspect=sy / sx)
        if reference[x0:x1, y0:y1, z].any():
            axis.contour(display_slice(reference[x0:x1, y0:y1, z]), levels=[0.5], colors=["lime"], linewidths=1.2)
        for model in models:
            if masks[model][x0:x1, y0:y1, z].any():
                axis.contour(display_slice(masks[model][x0:x1, y0:y1, z]), levels=[0.5], colors=[colours[model]],
                             linewidths=0.9)
        if z == guide:
            for row in rows.itertuples(index=False):
                box = _prompt_box(row)
                if box is not None:
                    left, right, bottom, top = box_edges(box, int(x0), int(y0), int(x1 - x0))
                    axis.add_patch(plt.Rectangle((left, bottom), right - left, top - bottom, fill=False,
                                                 edgecolor=colours.get(str(row.model), "yellow"), linestyle="--",
                                                 linewidth=1.0))
        axis.set_title(f"{'guide ' if z == guide else ''}slice {z}", fontsize="small")
        axis.set_xticks([])
        axis.set_yticks([])
    handles = [plt.Line2D([], [], color="lime", label="ground truth")]
    handles += [plt.Line2D([], [], color=colours[m], label=m) for m in models]
    figure.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), fontsize="small", frameon=False,
                  bbox_to_anchor=(0.5, -0.08))
    figure.tight_layout()
    return save_figure(figure, out_dir, stem, title, tuple(notes))


def _prompt_notes(rows: pd.DataFrame) -> list[str]:
    notes = []
    for row in rows.itertuples(index=False):
        kind = row.prompt_kind or "unknown"
        drawn = ("dashed box on the guide slice" if _prompt_box(row) is not None
                 else "the ground truth on the guide slice (a mask prompt is that slice's ground truth)")
        notes.append(f"{row.model}: {kind} prompt ({drawn}); Dice {row.dice:.3f}." if row.dice == row.dice
                     else f"{row.model}: {kind} prompt ({drawn}).")
    return notes


def plot_qualitative(data: ReportData, out_dir: Path, open_case: CaseOpener | None) -> list[Figure]:
    """One panel per dataset with saved masks (module docstring); a single skipped figure when none was saved."""
    frame = data.accuracy.frame
    frame = frame[frame["setting"] == DEFAULT_POINT.key]
    chosen = choose_objects(frame)
    if not chosen:
        return [skipped_figure("figure_qualitative", "Qualitative panels", "no saved masks in the store's rows "
                               "(run with --save-masks DIR, or save_masks in the run configuration)")]
    figures = []
    for info in data.ordered(list(chosen), S5_FILE):
        rows = chosen[info.dataset_id]
        case_id, obj = str(rows["case_id"].iloc[0]), str(rows["object_name"].iloc[0])
        stem = f"figure_qualitative_{info.dataset_id}"
        title = f"Qualitative panel: {info.label}, case {case_id}, object {obj} (default setting)"
        notes = [*_prompt_notes(rows), "Green: ground truth; coloured: each model's saved prediction; radiological "
                 "view (patient's right on the left, anterior up), cropped around the object."]
        installed = (data.installed_versions or {}).get(info.dataset_id)
        versions = sorted({str(v) for v in rows["data_version"] if v})
        if installed is not None and versions and versions != [installed]:
            notes.append(f"The rows are of data version {'/'.join(v[:10] for v in versions)}; the image is read from "
                         f"the installed version {installed[:10]}.")
        if open_case is None:
            figures.append(skipped_figure(stem, title, "no data home given: the image cannot be read", tuple(notes)))
            continue
        try:
            case = open_case(info.dataset_id, case_id)
            reference, image = case.mask(obj), np.asarray(case.image[0], dtype=np.float32)
        except (BenchmarkError, OSError, KeyError, ValueError) as err:  # absent or unreadable data: stated, skipped
            figures.append(skipped_figure(stem, title, f"the case could not be read ({type(err).__name__}: {err})",
                                          tuple(notes)))
            continue
        figures.append(_draw(case, reference, image, rows, out_dir, stem, title, notes))
        case.release()
    return figures
