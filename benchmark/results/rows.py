"""The record of one evaluated (or failed, or skipped) object: the store's row.

Every field is a plain value (str, int, float, or None), so a row maps one to one onto a table column. Keys:
(run_id, model, setting, dataset_id, case_id, object_name).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from enum import Enum

__all__ = ["RowStatus", "RowKey", "ResultRow", "ROW_COLUMNS", "KEY_COLUMNS", "column_types"]


class RowStatus(str, Enum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, order=True)
class RowKey:
    """What a row is about."""

    run_id: str
    model: str
    setting: str
    dataset_id: str
    case_id: str
    object_name: str


@dataclass(frozen=True, kw_only=True)
class ResultRow:
    """One object of one case, for one model in one setting point of one run.

    Attributes (groups):
        key: ``run_id``, ``model``, ``setting`` (a setting point's key, e.g. ``"thickness=30"``), ``dataset_id``,
            ``case_id``, ``object_name``.
        outcome: ``status`` (ok, failed, skipped), ``skip_reason``, ``error_type``, ``error_message``,
            ``traceback``.
        where: ``subset`` of the case (train, val, test), ``data_version`` (the dataset's DataLad commit).
        prompt: ``prompt_kind``, ``prompt_plane``, ``prompt_slice``, ``prompt_box`` (JSON list, half-open voxel
            indices; empty for a mask), ``prompt_leaks`` (comma-separated), ``guide_rule``, ``box_jitter``.
        metrics: ``dice``, ``nsd``, ``hd95_mm``, ``tolerance_mm``, voxel counts ``tp``, ``fp``, ``fn``,
            ``n_reference``, ``n_prediction``, ``reference_volume_mm3``, ``prediction_volume_mm3``,
            ``reference_surface_mm2``, ``prediction_surface_mm2`` (benchmark.metrics; a NaN metric, "not defined",
            is stored as NULL and read back as None).
        cost: ``seconds`` (wall time of the ``segment`` call), ``peak_rss_mb`` (peak resident memory of the process
            during the call), ``peak_gpu_mb`` (peak allocated CUDA memory during the call), ``trace`` (JSON of the
            model's ``last_trace``).
        model: ``model_protocol`` (what it received, from its spec), ``weights`` (checkpoint, demo, random,
            none), ``checkpoint_sha256``, ``model_kwargs`` (JSON).
        machine: ``machine_id`` (the machines table's key), ``device``, ``started_utc``, ``ended_utc`` (ISO 8601).
        output: ``mask_path`` of the saved prediction, if masks were saved.
    """

    run_id: str
    model: str
    setting: str
    dataset_id: str
    case_id: str
    object_name: str
    status: str = RowStatus.OK.value
    skip_reason: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    subset: str | None = None
    data_version: str | None = None
    prompt_kind: str | None = None
    prompt_plane: str | None = None
    prompt_slice: int | None = None
    prompt_box: str | None = None
    prompt_leaks: str | None = None
    guide_rule: str | None = None
    box_jitter: str | None = None
    dice: float | None = None
    nsd: float | None = None
    hd95_mm: float | None = None
    tolerance_mm: float | None = None
    tp: int | None = None
    fp: int | None = None
    fn: int | None = None
    n_reference: int | None = None
    n_prediction: int | None = None
    reference_volume_mm3: float | None = None
    prediction_volume_mm3: float | None = None
    reference_surface_mm2: float | None = None
    prediction_surface_mm2: float | None = None
    seconds: float | None = None
    peak_rss_mb: float | None = None
    peak_gpu_mb: float | None = None
    trace: str | None = None
    model_protocol: str | None = None
    weights: str | None = None
    checkpoint_sha256: str | None = None
    model_kwargs: str | None = None
    machine_id: str | None = None
    device: str | None = None
    started_utc: str | None = None
    ended_utc: str | None = None
    mask_path: str | None = None

    @property
    def key(self) -> RowKey:
        return RowKey(self.run_id, self.model, self.setting, self.dataset_id, self.case_id, self.object_name)


#: Column names, in table order.
ROW_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ResultRow))
KEY_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RowKey))

_SQL_TYPES = {str: "TEXT", int: "INTEGER", float: "REAL"}


def column_types() -> dict[str, str]:
    """SQLite type of each column, from the field annotations."""
    hints = typing.get_type_hints(ResultRow)
    types: dict[str, str] = {}
    for name in ROW_COLUMNS:
        base = [t for t in typing.get_args(hints[name]) if t is not type(None)] or [hints[name]]
        types[name] = _SQL_TYPES[base[0]]
    return types
