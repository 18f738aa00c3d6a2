"""Dataset fingerprints (the paper's Table S4) and data characteristics (Tables S2 and S3), cached per case."""

from __future__ import annotations

__all__: list[str] = []
