"""Cells of the report's tables: the mean of a stored metric over a group of rows, with what was left out and why.

Rows enter a cell's mean when their status is ``ok`` and their value is finite. The rest is counted, never hidden:
failed and skipped rows (no value), ``ok`` rows without a value (a metric not defined: both masks empty, stored as
NULL; benchmark.metrics' empty-mask policy) and ``ok`` rows with an infinite value (HD95 when exactly one mask is
empty; for any other column an invalid value). Nothing is recomputed from masks: these are the stored values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CellStats", "EMPTY_CELL", "metric_cells", "mean_of_means", "finite_values"]

Key = tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CellStats:
    """One cell: the mean of the finite values of its ``ok`` rows, and the counts of everything else.

    Attributes:
        mean: Mean of the finite values; None when there is none (n = 0).
        n: Rows in the mean.
        n_failed: Failed rows (the model, its output or the metric raised; no value).
        n_skipped: Skipped rows (no prompt for the object, or a prompt kind the model does not take).
        n_undefined: ``ok`` rows without a value (NaN, stored as NULL: both masks empty).
        n_infinite: ``ok`` rows with an infinite value (HD95: exactly one mask empty).
    """

    mean: float | None
    n: int
    n_failed: int = 0
    n_skipped: int = 0
    n_undefined: int = 0
    n_infinite: int = 0

    @property
    def rows(self) -> int:
        return self.n + self.n_failed + self.n_skipped + self.n_undefined + self.n_infinite


#: A cell without rows.
EMPTY_CELL = CellStats(mean=None, n=0)


def _flags(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    values = frame[column].to_numpy(dtype=float, na_value=np.nan)
    ok = frame["status"].to_numpy() == "ok"
    return values, ok & np.isfinite(values), ok & np.isnan(values), ok & np.isinf(values)


def metric_cells(frame: pd.DataFrame, column: str, keys: Sequence[str]) -> dict[Key, CellStats]:
    """One :class:`CellStats` per group of ``keys`` (e.g. model, dataset, object) of the stored ``column``.

    Args:
        frame: Rows (benchmark.reports.source.read_frame).
        column: A numeric column (``dice``, ``nsd``, ``hd95_mm``, ``seconds``).
        keys: Grouping columns; each cell's key is the tuple of their values.
    """
    import pandas as pd

    if frame.empty:
        return {}
    values, finite, undefined, infinite = _flags(frame, column)
    status = frame["status"].to_numpy()
    helper = pd.DataFrame({k: frame[k].to_numpy() for k in keys})
    helper["_value"] = np.where(finite, values, np.nan)
    helper["_n"] = finite
    helper["_failed"] = status == "failed"
    helper["_skipped"] = status == "skipped"
    helper["_undefined"] = undefined
    helper["_infinite"] = infinite
    grouped = helper.groupby(list(keys), sort=False, dropna=False).agg(
        mean=("_value", "mean"), n=("_n", "sum"), failed=("_failed", "sum"), skipped=("_skipped", "sum"),
        undefined=("_undefined", "sum"), infinite=("_infinite", "sum"))
    cells: dict[Key, CellStats] = {}
    for key, row in zip(grouped.index, grouped.itertuples(index=False), strict=True):
        mean = float(row.mean)
        cells[key if isinstance(key, tuple) else (key,)] = CellStats(
            mean=None if math.isnan(mean) else mean, n=int(row.n), n_failed=int(row.failed),
            n_skipped=int(row.skipped), n_undefined=int(row.undefined), n_infinite=int(row.infinite))
    return cells


def mean_of_means(cells: Iterable[CellStats]) -> CellStats:
    """A dataset row as the paper prints it: the unweighted mean of its object rows' means, the counts summed."""
    members = list(cells)
    means = [c.mean for c in members if c.mean is not None]
    return CellStats(mean=float(np.mean(means)) if means else None, n=sum(c.n for c in members),
                     n_failed=sum(c.n_failed for c in members), n_skipped=sum(c.n_skipped for c in members),
                     n_undefined=sum(c.n_undefined for c in members), n_infinite=sum(c.n_infinite for c in members))


def finite_values(frame: pd.DataFrame, column: str, keys: Sequence[str]) -> dict[Key, np.ndarray]:
    """The finite values of the ``ok`` rows of ``column`` per group of ``keys`` (row order kept)."""
    if frame.empty:
        return {}
    values, finite, _, _ = _flags(frame, column)
    kept = frame.loc[finite, list(keys)].assign(_value=values[finite])
    return {key if isinstance(key, tuple) else (key,): group["_value"].to_numpy()
            for key, group in kept.groupby(list(keys), sort=False)}
