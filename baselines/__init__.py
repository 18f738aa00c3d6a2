"""Comparator adapters (MedSAM, SegVol, naive propagation), one module each, loaded through the model registry."""

from __future__ import annotations

__all__: list[str] = []
