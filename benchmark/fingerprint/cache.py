"""A per-case JSON cache with atomic writes: an interrupted run never leaves a corrupt entry behind."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["CACHE_ENV", "default_cache_dir", "JsonCache"]

#: Environment variable naming the folder of derived caches (default ``~/.cache/propbench``).
CACHE_ENV = "PROPBENCH_CACHE"


def default_cache_dir() -> Path:
    """``$PROPBENCH_CACHE`` when set, else ``~/.cache/propbench`` (kept outside the data home, which stays clean)."""
    from_env = os.environ.get(CACHE_ENV)
    return Path(from_env) if from_env else Path.home() / ".cache" / "propbench"


class JsonCache:
    """JSON documents stored as ``<root>/<key>.json``.

    Args:
        root: The cache folder (created on first write).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored document, or None when absent or unreadable (an unreadable entry is removed)."""
        path = self.path(key)
        try:
            with open(path, encoding="utf-8") as handle:
                document: dict[str, Any] = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            return None
        return document

    def store(self, key: str, document: dict[str, Any]) -> None:
        """Write atomically: to a temporary file in the same folder, then rename over the entry."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(document, stream, allow_nan=True, separators=(",", ":"))
            os.replace(temporary, self.path(key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
