"""Reports: tables and figures rendered from results, with the paper's reported values beside ours."""

from __future__ import annotations

__all__: list[str] = []
