"""The demo collection: seeded synthetic phantoms (``phantoms``), written in the native layouts of real datasets
(``writers``) and installed into the data home through the same path as real data (``collection``; ``propbench
datasets demo``), so that every command of the suite runs end to end without downloading anything."""

from __future__ import annotations

__all__: list[str] = []
