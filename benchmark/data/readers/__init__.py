"""Layout readers, one per layout family of docs/dataset-layouts.md, selected through ``registry.READERS``."""

from __future__ import annotations

__all__: list[str] = []
