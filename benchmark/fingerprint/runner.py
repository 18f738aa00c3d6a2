"""Fingerprinting every case of a dataset in parallel, with a per-case cache keyed by file content."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchmark.data.case import CaseEntry
from benchmark.data.readers.base import LayoutReader
from benchmark.errors import BenchmarkError, CaseError
from benchmark.fingerprint.cache import JsonCache
from benchmark.fingerprint.case import INTENSITY_SAMPLES, SCHEMA_VERSION, CaseFingerprint, fingerprint_case
from benchmark.fingerprint.content_keys import combined_key, file_key

__all__ = ["CasePass", "run_cases"]

log = logging.getLogger(__name__)

#: Called after each case with (cases done, cases in all).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CasePass:
    """Per-case fingerprints of one dataset, the cases that failed, and how many came from the cache."""

    dataset_id: str
    fingerprints: tuple[CaseFingerprint, ...]
    errors: tuple[CaseError, ...]
    from_cache: int


def run_cases(reader: LayoutReader, *, full: bool, cache_dir: Path | None, workers: int | None = None,
              seed: int = 0, progress: Progress | None = None) -> CasePass:
    """Fingerprint every case ``reader`` discovers.

    Args:
        reader: An opened family reader.
        full: Read labels and images too (per-object statistics, intensities), not only headers.
        cache_dir: Folder of the per-case cache (None: no cache).
        workers: Threads (default: the number of CPUs). SimpleITK and numpy release the GIL while decoding.
        seed: Seed of the intensity sampling.
        progress: Called after each case.

    Returns:
        Fingerprints in discovery order; every case that failed to load is in ``errors`` and excluded.
    """
    discovery = reader.discover()
    cache = JsonCache(cache_dir / reader.card.id) if cache_dir is not None else None
    entries = discovery.entries
    keys = {e.case_id: _case_key(reader, e, full=full, seed=seed) for e in entries} if cache is not None else {}
    cached = {case_id: stored for case_id, key in keys.items()
              if cache is not None and (stored := cache.load(key)) is not None
              and stored.get("schema_version") == SCHEMA_VERSION}
    # One fetch of every uncached case's files is far cheaper than one per case (each is a git-annex call). If it
    # fails, each case fetches its own files below, so the failure is charged to the cases it concerns.
    try:
        reader.fetch([path for entry in entries if entry.case_id not in cached
                      for path in (entry.files if full else entry.image_files)])
    except BenchmarkError as err:
        log.warning("%s: fetching content failed (%s); fetching case by case", reader.card.id, err)

    def one(entry: CaseEntry) -> CaseFingerprint | CaseError:
        if entry.case_id in cached:
            return CaseFingerprint.from_json(cached[entry.case_id])
        try:
            fingerprint = _compute(reader, entry, full=full, seed=seed)
        except (BenchmarkError, OSError, ValueError, KeyError) as err:
            path = entry.image_files[0] if entry.image_files else None
            return CaseError(reader.card.id, entry.case_id, path, str(err))
        if cache is not None:
            cache.store(keys[entry.case_id], fingerprint.to_json())
        return fingerprint

    results: list[CaseFingerprint | CaseError] = []
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        for result in pool.map(one, entries):
            results.append(result)
            if progress is not None:
                progress(len(results), len(entries))
    fingerprints = tuple(r for r in results if isinstance(r, CaseFingerprint))
    errors = discovery.errors + tuple(r for r in results if isinstance(r, CaseError))
    return CasePass(reader.card.id, fingerprints, errors, len(cached))


def _compute(reader: LayoutReader, entry: CaseEntry, *, full: bool, seed: int) -> CaseFingerprint:
    reader.fetch(entry.files if full else entry.image_files)  # no-op when present; headers need the content
    case = reader.open_case(entry)
    try:
        return fingerprint_case(case, full=full, n_card_channels=len(reader.card.channels), seed=seed)
    finally:
        case.release()


def _case_key(reader: LayoutReader, entry: CaseEntry, *, full: bool, seed: int) -> str:
    parts = [f"schema={SCHEMA_VERSION}", f"full={full}", f"seed={seed}", f"samples={INTENSITY_SAMPLES}",
             f"dataset={reader.card.id}", f"version={reader.table.version}",
             f"objects={sorted(reader.table.objects.items())}", f"channels={reader.card.channels}",
             f"case={entry.case_id}"]
    parts += [f"{path.name}={file_key(path)}" for path in entry.files]
    return combined_key(parts)
