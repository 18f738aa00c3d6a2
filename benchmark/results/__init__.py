"""The results store: one SQLite file per study, one row per (run, model, setting, dataset, case, object), written
one row per transaction by a single writer, resumable, versioned, and exported to CSV or Parquet. The store is the
single source of truth of every table and figure; it knows nothing of the runner that fills it."""

from __future__ import annotations

__all__: list[str] = []
