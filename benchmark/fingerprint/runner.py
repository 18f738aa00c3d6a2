"""Fingerprinting every case of a dataset in parallel, with a per-case cache keyed by file content.

The work of one case is :func:`fingerprint_task`, a module-level function of a picklable :class:`FingerprintTask`,
so threads, a process pool or a Dask client's executor can run it. The process that calls :func:`run_cases` fetches
content, dispatches tasks and is the only writer of the cache.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from benchmark.data.case import CaseEntry
from benchmark.data.content_keys import combined_key, file_key
from benchmark.data.dataset import ReaderSpec, reader_spec, reading_key
from benchmark.data.readers.base import LayoutReader
from benchmark.errors import BenchmarkError, CaseError
from benchmark.fingerprint.cache import JsonCache
from benchmark.fingerprint.case import INTENSITY_SAMPLES, SCHEMA_VERSION, CaseFingerprint, fingerprint_case

__all__ = ["CasePass", "FingerprintTask", "fingerprint_task", "run_cases", "case_key"]

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


@dataclass(frozen=True, kw_only=True)
class FingerprintTask:
    """One case to fingerprint, in a form any worker can run (see :func:`fingerprint_task`).

    Attributes:
        reader: Rebuilds the dataset's reader in the worker.
        entry: The discovered case.
        full: Read labels and images too, not only headers.
        seed: Seed of the intensity sampling.
    """

    reader: ReaderSpec
    entry: CaseEntry
    full: bool
    seed: int


_OPENED = threading.local()


def _reader(spec: ReaderSpec) -> LayoutReader:
    """The reader of ``spec``, reused while a worker thread runs the cases of one run (the run's tasks share one spec
    object; a process pool unpickles a spec per task and opens it each time)."""
    last = getattr(_OPENED, "last", None)
    if last is not None and last[0] is spec:
        reader: LayoutReader = last[1]
        return reader
    reader = spec.open()
    _OPENED.last = (spec, reader)
    return reader


def fingerprint_task(task: FingerprintTask) -> CaseFingerprint | CaseError:
    """Fingerprint one case, or return the error that kept it out (content must be present already)."""
    card = task.reader.card
    try:
        reader = _reader(task.reader)
        case = reader.open_case(task.entry)
        try:
            return fingerprint_case(case, full=task.full, n_card_channels=len(card.channels), seed=task.seed)
        finally:
            case.release()
    except (BenchmarkError, OSError, ValueError, KeyError) as err:
        path = task.entry.image_files[0] if task.entry.image_files else None
        return CaseError(dataset_id=card.id, case_id=task.entry.case_id, path=path, message=str(err))


def run_cases(reader: LayoutReader, *, full: bool, cache_dir: Path | None, workers: int | None = None,
              executor: Executor | None = None, seed: int = 0, progress: Progress | None = None) -> CasePass:
    """Fingerprint every case ``reader`` discovers.

    Args:
        reader: An opened family reader.
        full: Read labels and images too (per-object statistics, intensities), not only headers.
        cache_dir: Folder of the per-case cache (None: no cache).
        workers: Threads when no ``executor`` is given (default: the number of CPUs). SimpleITK and numpy release
            the GIL while decoding.
        executor: Runs :func:`fingerprint_task` (a ``ProcessPoolExecutor``, or ``dask.distributed.Client
            .get_executor()``); it is left open.
        seed: Seed of the intensity sampling.
        progress: Called after each case.

    Returns:
        Fingerprints in discovery order; every case that failed to load is in ``errors`` and excluded.
    """
    discovery = reader.discover()
    cache = JsonCache(cache_dir / reader.card.id) if cache_dir is not None else None
    entries = discovery.entries
    keys = {e.case_id: case_key(reader, e, full=full, seed=seed) for e in entries} if cache is not None else {}
    results: dict[str, CaseFingerprint | CaseError] = {}
    if cache is not None:
        for case_id, key in keys.items():
            stored = cache.load(key)
            if stored is not None and stored.get("schema_version") == SCHEMA_VERSION:
                results[case_id] = CaseFingerprint.from_json(stored)
    from_cache = len(results)
    if progress is not None and from_cache:
        progress(from_cache, len(entries))
    uncached = [e for e in entries if e.case_id not in results]
    results.update(_fetch(reader, uncached, full=full))
    spec = reader_spec(reader)
    tasks = [FingerprintTask(reader=spec, entry=e, full=full, seed=seed) for e in uncached
             if e.case_id not in results]
    pool = executor if executor is not None else ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    try:
        futures = {pool.submit(fingerprint_task, task): task for task in tasks}
        for future in as_completed(futures):
            task, result = futures[future], future.result()
            if cache is not None and isinstance(result, CaseFingerprint):
                cache.store(keys[task.entry.case_id], result.to_json())
            results[task.entry.case_id] = result
            if progress is not None:
                progress(len(results), len(entries))
    finally:
        if executor is None:
            pool.shutdown()
    ordered = [results[e.case_id] for e in entries]
    fingerprints = tuple(r for r in ordered if isinstance(r, CaseFingerprint))
    errors = discovery.errors + tuple(r for r in ordered if isinstance(r, CaseError))
    return CasePass(reader.card.id, fingerprints, errors, from_cache)


def _fetch(reader: LayoutReader, entries: Sequence[CaseEntry], *, full: bool) -> dict[str, CaseError]:
    """Make the cases' content present; returns the cases whose content could not be fetched.

    One fetch of every case's files is far cheaper than one per case (each is a git-annex call). If it fails, each
    case is fetched on its own, so the failure is charged to the cases it concerns.
    """
    if not entries:
        return {}

    def files(entry: CaseEntry) -> tuple[Path, ...]:
        return entry.files if full else entry.image_files

    try:
        reader.fetch([path for entry in entries for path in files(entry)])
        return {}
    except BenchmarkError as err:
        log.warning("%s: fetching content failed (%s); fetching case by case", reader.card.id, err)
    failed: dict[str, CaseError] = {}
    for entry in entries:
        try:
            reader.fetch(files(entry))
        except BenchmarkError as err:
            path = entry.image_files[0] if entry.image_files else None
            failed[entry.case_id] = reader.error(entry.case_id, path, f"fetching its content failed: {err}")
    return failed


def case_key(reader: LayoutReader, entry: CaseEntry, *, full: bool, seed: int) -> str:
    """The cache key of one case's fingerprint: everything that can change it.

    The fingerprint code (``SCHEMA_VERSION``, the sample size), the pass (full or header-only, seed), the card's
    reading (``benchmark.data.dataset.reading_key``: layout options, channels, encoding, objects, reader version) and
    the content key of every file of the case (data files of headers included), each with its path in the dataset.
    """
    parts = [f"schema={SCHEMA_VERSION}", f"full={full}", f"seed={seed}", f"samples={INTENSITY_SAMPLES}",
             f"dataset={reader.card.id}", f"reading={reading_key(reader.card, reader.table.version)}",
             f"case={entry.case_id}"]
    parts += [f"{_relative(reader.root, path)}={file_key(path)}" for path in entry.files]
    return combined_key(parts)


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
