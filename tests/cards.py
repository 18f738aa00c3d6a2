"""Small F1 dataset cards for tests: built in code (``card``) or written as TOML files (``write_card``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmark.data.cards import DatasetCard, parse_card

_TEMPLATE = """schema_version = 1
id = "{id}"
name = "{name}"
modality = "CT"
channels = ["CT"]
role = "internal"
encoding = "label-map"
default_version = "v1"
[source]
url = "https://example.org/{id}"
access = "direct"
licence = "CC0-1.0"
citation = "test"
[layout]
family = "F1"
confirmed = true
[versions.v1]
objects = {{ {objects} }}
"""


def write_card(folder: Path, dataset_id: str, objects: Mapping[str, str], *, name: str = "") -> Path:
    """Write ``<folder>/<dataset_id>.toml``: a CT dataset in layout F1 with ``objects`` (label value to name)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = _TEMPLATE.format(id=dataset_id, name=name or f"Toy {dataset_id}",
                            objects=", ".join(f'{value} = "{label}"' for value, label in objects.items()))
    path = folder / f"{dataset_id}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def card(objects: Mapping[str, str] | None = None, *, family: str = "F1", options: Mapping[str, Any] | None = None,
         role: str = "internal", channels: Sequence[str] = ("CT",), dataset_id: str = "T1", name: str = "Test set",
         modality: str = "CT", encoding: str = "label-map", ignore: Sequence[str] = (),
         versions: Mapping[str, Mapping[str, Any]] | None = None, default_version: str = "v1",
         access: str = "direct", url: str = "https://example.org", path: Path | None = None,
         **extra: Any) -> DatasetCard:
    """A validated card built in code (default: a CT dataset in layout F1 with ``objects``, label value to name).

    ``versions`` replaces the single version ``v1`` built from ``objects`` and ``ignore``; ``path`` is the card file
    named in error messages.
    """
    data = {
        "schema_version": 1, "id": dataset_id, "name": name, "modality": modality, "channels": list(channels),
        "role": role, "encoding": encoding, "default_version": default_version,
        "source": {"url": url, "access": access, "licence": "CC0-1.0", "citation": "test"},
        "layout": {"family": family, "confirmed": True, "options": dict(options or {})},
        "versions": ({k: dict(v) for k, v in versions.items()} if versions is not None
                     else {"v1": {"objects": dict(objects or {}), "ignore": list(ignore)}}),
        **extra,
    }
    return parse_card(data, path or Path("test-card.toml"))
