"""The demo collection: seeded synthetic phantoms (``phantoms``), written in native layouts (``writers``) and
installed into the data home like real data (``collection``; ``propbench datasets demo``)."""

from __future__ import annotations

__all__: list[str] = []
