"""Checks that a written figure is a real image file."""

from __future__ import annotations

from pathlib import Path

__all__ = ["png_size", "is_pdf"]


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels from the PNG header (raises when the file is not a PNG)."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise AssertionError(f"{path} is not a PNG file")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def is_pdf(path: Path) -> bool:
    data = Path(path).read_bytes()
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
