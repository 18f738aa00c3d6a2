"""Table S6: mean inference seconds per volume (one object's 3D segmentation, one ``segment`` call) per dataset and
model, the fastest model of each dataset in bold and the second underlined, the paper's times beside ours, and the
hardware of the rows in the caption.

Times are the stored wall times of the timed call (the first call of each model and prompt kind in a process is an
untimed warm-up; benchmark.runner.timing). Rows: the timing rows of the default setting
(benchmark.reports.source: the all-case runs when there are any, as the paper times every case).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.reports.captions import caption_notes
from benchmark.reports.cells import EMPTY_CELL, metric_cells
from benchmark.reports.paper import (
    PAPER_MODEL_NAMES,
    difference,
    matches,
    model_order,
    paper_model,
    paper_number,
    read_rows,
)
from benchmark.reports.source import ReportData
from benchmark.reports.tables import Cell, Emphasis, Table

__all__ = ["S6_FILE", "PAPER_HARDWARE", "table_s6", "hardware_notes", "rank_emphasis"]

S6_FILE = "table_s6_inference_time.csv"
#: The paper's hardware for Table S6 (its caption).
PAPER_HARDWARE = "one NVIDIA A800-SXM4-80GB GPU and eight Intel Xeon Platinum 8358P CPUs at 2.60 GHz"


def rank_emphasis(values: Sequence[float | None]) -> dict[int, Emphasis]:
    """Positions of the smallest value (bold) and the second smallest (underline); ties share the better mark and
    the next distinct value takes the next one, so two equally fast models are both bold."""
    distinct = sorted({v for v in values if v is not None})
    marks = {}
    for index, value in enumerate(values):
        if value is not None and value == distinct[0]:
            marks[index] = Emphasis.BOLD
        elif value is not None and len(distinct) > 1 and value == distinct[1]:
            marks[index] = Emphasis.UNDERLINE
    return marks


def _describe(info: Mapping[str, Any]) -> str:
    parts = [str(info.get("cpu", "unknown CPU"))]
    if info.get("cpu_count"):
        parts[0] += f" ({info['cpu_count']} logical CPUs)"
    if info.get("memory_gb"):
        parts.append(f"{info['memory_gb']} GB memory")
    if info.get("gpu"):
        parts.append(f"{info.get('gpu_count', 1)} x {info['gpu']} ({info.get('gpu_memory_gb', '?')} GB, CUDA "
                     f"{info.get('cuda', '?')}, cuDNN {info.get('cudnn', '?')})")
    if info.get("torch"):
        parts.append(f"torch {info['torch']}")
    return ", ".join(parts) + (f"; host {info['host']}" if info.get("host") else "")


def hardware_notes(data: ReportData, machine_ids: Sequence[str], devices: Sequence[str]) -> list[str]:
    """The machines (from the store's machines table) and devices the timed rows ran on."""
    described = [f"{mid}: {_describe(data.machines[mid])}" for mid in machine_ids if mid in data.machines]
    unknown = [mid for mid in machine_ids if mid not in data.machines]
    text = f"Hardware of these times: {'; '.join(described) or 'not recorded'}"
    if unknown:
        text += f"; machine(s) {', '.join(unknown)} not described in the store"
    return [text + f". Device(s): {', '.join(devices) or 'not recorded'}.",
            f"The paper's times (Table S6) were measured on {PAPER_HARDWARE}: compare the ranking, not the seconds."]


def table_s6(data: ReportData) -> Table:
    """Table S6 (module docstring): per dataset, each model's mean seconds and n, and the paper's seconds."""
    frame = data.timing.frame
    frame = frame[frame["setting"] == DEFAULT_POINT.key]
    models = model_order(list(frame["model"].unique()))
    cells = metric_cells(frame, "seconds", ("dataset_id", "model"))
    paper_rows = read_rows(S6_FILE)
    columns = ["id", "s6_id", "dataset"]
    for model in models:
        columns += [model, f"{model} n"] + ([f"{model} paper", f"{model} diff"] if paper_model(model) else [])
    rows: list[tuple[Cell, ...]] = []
    emphasis: list[tuple[int, str, Emphasis]] = []
    for info in data.ordered(frame["dataset_id"].unique(), S6_FILE):
        reported = next(iter(matches(info.card, paper_rows)), None) if info.card is not None else None
        line: list[Cell] = [info.dataset_id, reported["id"] if reported else None, info.label]
        means = [cells.get((info.dataset_id, m), EMPTY_CELL).mean for m in models]
        for model, mean in zip(models, means, strict=True):
            line += [mean, cells.get((info.dataset_id, model), EMPTY_CELL).n]
            column = paper_model(model)
            if column is not None:
                seconds = paper_number(reported.get(column)) if reported else None
                line += [seconds, difference(mean, seconds)]
        emphasis += [(len(rows), models[i], mark) for i, mark in rank_emphasis(means).items()]
        rows.append(tuple(line))
    notes = [*caption_notes(data, data.timing, frame, what="default setting, seconds")]
    notes += hardware_notes(data, sorted({m for m in frame["machine_id"] if m}), sorted({d for d in frame["device"]
                                                                                        if d}))
    notes += ["Each value: the mean wall time, in seconds, of one object's 3D segmentation (one timed segment call; "
              "n such calls). Bold: the fastest model of the dataset; underlined: the second fastest.",
              "s6_id: the dataset's ID in the paper's Table S6, which numbers the datasets differently from Table S1 "
              "and our cards (reports/paper/dataset_id_map.csv). Paper values: PropSAM supplementary Table S6, whose "
              "times cover every case (training, validation and test); n/p: the paper prints no time here."]
    compared = [f"{m} with the paper's {PAPER_MODEL_NAMES[c]}" for m in models if (c := paper_model(m))]
    if compared:
        notes.append(f"Compared: {', '.join(compared)}; diff = ours - paper, in seconds on different hardware.")
    return Table("Table S6: mean inference time per volume (seconds), per dataset and model", tuple(columns),
                 tuple(rows), tuple(notes), emphasis=tuple(emphasis),
                 placeholders=tuple((c, "n/p") for c in columns if c.endswith(" paper")) + tuple((m, "-")
                                                                                                for m in models),
                 formats=tuple((c, ".4g") for c in columns if c in models or c.endswith((" paper", " diff"))))
