"""Small F1 dataset cards for tests: built in code (``card``) or written as TOML files (``write_card``)."""

from __future__ import annotations

from collections.abc import Mapping
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


def card(objects: dict[str, str], *, role: str = "internal", channels: tuple[str, ...] = ("CT",),
         dataset_id: str = "T1", name: str = "Test set", modality: str = "CT", **extra: Any) -> DatasetCard:
    data = {
        "schema_version": 1, "id": dataset_id, "name": name, "modality": modality, "channels": list(channels),
        "role": role, "encoding": "label-map", "default_version": "v1",
        "source": {"url": "built-in", "access": "direct", "licence": "CC0-1.0", "citation": "test"},
        "layout": {"family": "F1", "confirmed": True},
        "versions": {"v1": {"objects": objects}}, **extra,
    }
    return parse_card(data, Path("test-card.toml"))
