"""The model protocol every interactive model satisfies, and the registry that finds models."""

from __future__ import annotations

__all__: list[str] = []
