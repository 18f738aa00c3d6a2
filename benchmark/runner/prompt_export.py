"""``propbench prompts export``: the prompts a run configuration gives every object, written as a manifest.

The same protocol code as the runner draws them (benchmark.protocol.object_prompts with the run's seed), so a run
replaying the manifest (``propbench run --prompts FILE``) gives each model exactly the prompts of the run that
drew them, and two exports of one configuration are byte-identical.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.data.catalog import Catalog
from benchmark.home.data_home import DataHome
from benchmark.protocol.manifest import ManifestEntry, write_manifest
from benchmark.protocol.object_prompts import ObjectKey, simulate_object
from benchmark.runner.config import RunConfig
from benchmark.runner.jobs import plan_points
from benchmark.runner.run import select_cards, subset_cases

__all__ = ["export_prompts"]


def export_prompts(config: RunConfig, *, home: DataHome, catalog: Catalog, out: Path) -> tuple[Path, int]:
    """Write the manifest of ``config``'s datasets, subset and settings to ``out``; returns it and its entry count.

    Raises:
        BenchmarkError: An unknown dataset, or one that is not installed (the message names the install command).
    """
    points = {p.prompt_key: p for p in plan_points(config)}  # thickness points share the default prompts
    entries: list[ManifestEntry] = []
    for card in select_cards(config, home, catalog):
        reader = home.open_reader(card)
        discovery = reader.discover()
        wanted = subset_cases(reader, [e.case_id for e in discovery.entries], config.subset, config.split_seed)
        chosen = [e for e in discovery.entries if e.case_id in wanted]
        reader.fetch([path for entry in chosen for path in entry.files])
        for entry in chosen:
            case = reader.open_case(entry)
            try:
                for name, mask in sorted(case.masks().items()):
                    if not mask.any():
                        continue
                    for key, point in points.items():
                        drawn = simulate_object(mask, ObjectKey(card.id, entry.case_id, name, key), point,
                                                config.protocol)
                        entries.append(ManifestEntry(drawn, reader.data_version))
            finally:
                case.release()
    return write_manifest(out, config.protocol, entries), len(entries)
