"""The reader study (the paper's supplementary S2): sample volumes that each carry a different object for a reader
to prompt, write them as a manifest with empty interaction-time columns, and analyse the times a reader filled in."""

from __future__ import annotations

__all__: list[str] = []
