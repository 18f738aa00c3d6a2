"""The ``propbench`` command line: thin argument parsing over the Python API."""

from __future__ import annotations

__all__: list[str] = []
