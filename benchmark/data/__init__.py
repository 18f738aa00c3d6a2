"""The data layer: dataset cards, layout readers, the Case model, the DataLad data home and the demo collection."""

from __future__ import annotations

__all__: list[str] = []
