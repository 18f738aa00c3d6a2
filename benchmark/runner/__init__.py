"""Running models on datasets: work units, local and distributed execution, timing and progress; the quick model
check is one use of it."""

from __future__ import annotations

__all__: list[str] = []
