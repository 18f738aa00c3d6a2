"""Caption sentences every results table carries: what each model received and what it leaks, the protocol, the
seeds, the data versions (and whether they are the installed ones), the NSD tolerance, what ``n`` counts, how many
objects failed or were skipped per model, the models skipped for the whole run, and how many rows the table used.

Every sentence is read from the store's rows and run configurations; nothing is assumed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from benchmark.metrics import DEFAULT_TOLERANCE_MM
from benchmark.reports.paper import model_order
from benchmark.reports.source import ReportData, Selection, natural_key

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["rows_used", "model_notes", "protocol_notes", "version_notes", "skipped_model_notes", "n_note",
           "caption_notes", "EMPTY_MASK_NOTE"]

#: The empty-mask policy of benchmark.metrics, as a caption sentence.
EMPTY_MASK_NOTE = ("Empty masks (benchmark.metrics): both empty, no value (not in n); exactly one empty, Dice and NSD "
                   "0 and HD95 infinite (counted apart, never averaged).")


def _unique(values: Iterable[object]) -> list[str]:
    return sorted({str(v) for v in values if v is not None and str(v) != "nan"})


def _distinct(frame: pd.DataFrame, column: str) -> list[str]:
    """The distinct non-missing values of a column, as sorted text (pandas' unique: one pass in C)."""
    return _unique(frame[column].dropna().unique())


def _counts(frame: pd.DataFrame) -> str:
    counts = frame["status"].value_counts().to_dict()
    return ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "failed", "skipped"))


def rows_used(frame: pd.DataFrame, selection: Selection, what: str = "") -> str:
    """How many rows a table used, of which runs."""
    runs = ", ".join(_distinct(frame, "run_id")) or "none"
    text = (f"Rows used{f' ({what})' if what else ''}: {len(frame)} rows of the results store ({_counts(frame)}) "
            f"from run(s) {runs}. {selection.note}")
    if selection.duplicates_dropped:
        text += (f" {selection.duplicates_dropped} row(s) repeated in an earlier run were left out (the latest run's "
                 f"row of each object is kept).")
    return text


def _status_detail(members: pd.DataFrame, status: str, reason_column: str) -> str:
    """``"3 failed (D1: 2, D2: 1; RuntimeError x3)"``: counts by dataset and the most frequent reasons, their numbers
    written # so that reasons differing only in a count are one reason."""
    rows = members[members["status"] == status]
    if rows.empty:
        return f"0 {status}"
    by_dataset = Counter(rows["dataset_id"])
    reasons: Counter[str] = Counter()
    for reason, count in rows[reason_column].value_counts().items():
        reasons[re.sub(r"\d+(\.\d+)?", "#", str(reason))] += int(count)
    where = ", ".join(f"{d}: {n}" for d, n in sorted(by_dataset.items()))
    why = "; ".join(f"{r} x{n}" for r, n in reasons.most_common(3))
    return f"{len(rows)} {status} ({where}{f'; {why}' if why else ''})"


def model_notes(frame: pd.DataFrame) -> list[str]:
    """Per model: the prompt it received and its protocol, what the prompt leaks, its weights, and its failed and
    skipped objects by dataset (with the most frequent reasons)."""
    groups = {str(model): members for model, members in frame.groupby("model", sort=False)}
    notes = []
    for model in model_order(list(groups)):
        members = groups[model]
        prompted = members[members["prompt_kind"].notna()]
        kinds = ", ".join(_distinct(prompted, "prompt_kind")) or "none recorded"
        protocol = "; ".join(_distinct(members, "model_protocol")) or "protocol not recorded"
        leaks = sorted({leak for text in prompted["prompt_leaks"].dropna().unique() for leak in str(text).split(",")
                        if leak})
        leaked = ", ".join(leaks) if leaks else "nothing beyond the prompt"
        weights = ", ".join(_distinct(members, "weights")) or "not recorded"
        shas = _unique(str(s)[:12] for s in members["checkpoint_sha256"].dropna().unique() if s)
        checkpoint = f" (checkpoint sha256 {', '.join(shas)})" if shas else ""
        notes.append(f"{model}: prompt {kinds} ({protocol}); leaks {leaked}; weights {weights}{checkpoint}; "
                     f"{len(members)} objects: {int((members['status'] == 'ok').sum())} ok, "
                     f"{_status_detail(members, 'failed', 'error_type')}, "
                     f"{_status_detail(members, 'skipped', 'skip_reason')}.")
    return notes


def protocol_notes(data: ReportData, frame: pd.DataFrame) -> list[str]:
    """The prompt protocol, seeds, subset, device and code version of each run whose rows are in ``frame``, and the
    NSD tolerance of the rows."""
    used = set(_distinct(frame, "run_id"))
    notes = []
    for run in (r for r in data.runs if r.run_id in used):
        p, c = run.protocol, run.config
        dirty = ", uncommitted changes" if run.record.git_dirty else ""
        commit = run.record.git_commit[:10] or "no git commit"
        notes.append(f"Run {run.run_id}: guide slice rule {p.get('rule', 'not recorded')} on the "
                     f"{p.get('plane', 'not recorded')} plane, box jitter {p.get('jitter', 'not recorded')}, minimum "
                     f"guide area {p.get('min_area', 'not recorded')} px; seed {c.get('seed', run.record.seed)}, split "
                     f"seed {c.get('split_seed', 'not recorded')}; subset {run.subset}; device "
                     f"{c.get('device', 'not recorded')}; propsam-bench {run.record.suite_version} ({commit}{dirty}); "
                     f"started {run.record.created_utc}.")
    tolerances = _unique(f"{t:g}" for t in frame["tolerance_mm"].dropna())
    notes.append(f"NSD tolerance: {' and '.join(tolerances) if tolerances else f'{DEFAULT_TOLERANCE_MM:g} (default)'}"
                 f" mm.")
    return notes


def version_notes(data: ReportData, frame: pd.DataFrame) -> list[str]:
    """The data version (DataLad commit) of each dataset's rows, and whether it is the installed one."""
    parts, differ = [], []
    by_dataset = {str(d): _unique(v) for d, v in frame.groupby("dataset_id")["data_version"].unique().items()}
    for dataset_id in sorted(by_dataset, key=natural_key):
        versions = by_dataset[dataset_id]
        parts.append(f"{dataset_id} {'/'.join(v[:10] for v in versions) or 'not recorded'}")
        if data.installed_versions is None:
            continue
        installed = data.installed_versions.get(dataset_id)
        if installed is None:
            differ.append(f"{dataset_id} is not installed in the data home, so its version was not compared")
        elif versions != [installed]:
            differ.append(f"{dataset_id}: the rows are of data version {'/'.join(v[:10] for v in versions)}, the "
                          f"installed version is {installed[:10]}: these results are not of the installed data")
    notes = [f"Data versions (DataLad commits): {'; '.join(parts)}."]
    if data.installed_versions is None:
        notes.append("Installed data versions were not compared (no data home given).")
    elif differ:
        notes += [f"DATA VERSION DIFFERS: {d}." for d in differ]
    else:
        notes.append("Every dataset's rows are of its installed data version.")
    return notes


def skipped_model_notes(data: ReportData, models: Sequence[str] = ()) -> list[str]:
    """Models a run skipped as a whole (no checkpoint, a missing package), with the reason."""
    skipped: dict[str, list[str]] = {}
    for run in data.runs:
        for model, reason in run.skipped_models.items():
            skipped.setdefault(model, []).append(f"{reason} (run {run.run_id})")
    notes = [f"{model} was not run: {'; '.join(reasons)}." for model, reasons in sorted(skipped.items())
             if model not in models]
    return notes


def n_note(metric: str) -> str:
    return (f"n: objects with a finite {metric} in the cell; failed, skipped and undefined objects are never in n "
            f"(counted per model above). Dataset rows: the unweighted mean of their object rows' means, as the paper "
            f"prints them; n summed.")


def caption_notes(data: ReportData, selection: Selection, frame: pd.DataFrame, *, what: str = "") -> list[str]:
    """Every caption sentence of a results table built from ``frame`` (rows of ``selection``)."""
    return [rows_used(frame, selection, what), *model_notes(frame),
            *skipped_model_notes(data, tuple(_distinct(frame, "model"))), *protocol_notes(data, frame),
            *version_notes(data, frame)]
