"""Segmentation metrics: pure functions on boolean masks, with raw counts kept beside each score."""

from __future__ import annotations

__all__: list[str] = []
