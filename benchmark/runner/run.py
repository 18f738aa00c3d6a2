"""``propbench run``: a whole run, from the configuration to rows in the store.

The steps: open the datasets' readers; check the models (status, demo weights); lock the run in the store, check
that a resumed run has the same identity (benchmark.runner.config); plan one task per case of the subset, leaving out
cases whose every row is already in the store; fetch each case's content; execute locally or on Dask; summarise.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from benchmark.data.cards import DatasetCard
from benchmark.data.catalog import Catalog
from benchmark.data.dataset import reader_spec
from benchmark.data.readers.base import LayoutReader
from benchmark.errors import BenchmarkError
from benchmark.home.data_home import DataHome
from benchmark.home.selection import installed_demo_cards, selected_cards
from benchmark.models.registry import ModelSpec
from benchmark.protocol.manifest import Manifest, ManifestEntry, read_manifest
from benchmark.results.provenance import git_state, suite_version, utc_now
from benchmark.results.rows import RowKey
from benchmark.results.store import ResultStore, RunLock, RunRecord
from benchmark.runner.case_task import CaseTask
from benchmark.runner.config import EvalSubset, RunConfig, identity, identity_differences, merged_identity
from benchmark.runner.execute import StoreWriter, execute_dask, execute_local, require_dask
from benchmark.runner.jobs import ModelJob, ModelPlan, plan_jobs, plan_models, plan_points
from benchmark.splits import Subset, make_split

__all__ = ["RunSummary", "run_benchmark", "select_cards", "subset_cases"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    """What a run did: rows written now by model and status, the whole run's rows, models skipped and why."""

    run_id: str
    store: Path
    written: dict[str, dict[str, int]]
    totals: dict[str, int]
    skipped_models: dict[str, str]
    cases_run: int
    cases_done_before: int
    warnings: tuple[str, ...]


def select_cards(config: RunConfig, home: DataHome, catalog: Catalog) -> list[DatasetCard]:
    """The run's datasets: those named, else the installed demo datasets.

    Raises:
        BenchmarkError: An unknown ID, or no dataset named and no demo dataset installed.
    """
    return selected_cards(home, catalog, config.datasets, option="--datasets")


def subset_cases(reader: LayoutReader, case_ids: Sequence[str], subset: EvalSubset, split_seed: int) -> set[str]:
    """The cases of ``subset``: ``eval`` is the validation cases of an internal dataset and all of an external one."""
    if subset is EvalSubset.ALL:
        return set(case_ids)
    split = make_split(reader.card, case_ids, seed=split_seed, data_version=reader.data_version)
    if subset is EvalSubset.EVAL:
        return set(split.cases(Subset.TEST if reader.card.external else Subset.VAL))
    return set(split.cases(Subset(subset.value)))


def _demo_source(home: DataHome, catalog: Catalog, cache_dir: Path) -> Callable[[ModelSpec], str | None]:
    def checkpoint(spec: ModelSpec) -> str | None:
        from benchmark.training.demo_weights import demo_weights

        cards = installed_demo_cards(home, catalog)
        if not cards:
            return None
        log.warning("%s has no checkpoint: using its demo weights (trained once on the demo collection)", spec.name)
        return str(demo_weights(spec, home, cards, cache_dir))

    return checkpoint


def _replay(config: RunConfig, home: DataHome, catalog: Catalog) -> tuple[Manifest | None, list[str]]:
    if config.prompts is None:
        return None, []
    manifest = read_manifest(config.prompts)
    warnings = []
    if manifest.options != config.protocol:
        warnings.append(f"{config.prompts}: drawn with protocol {manifest.options}, the run's is {config.protocol}; "
                        f"the manifest's prompts are used")
    missing = sorted({e.key.dataset_id for e in manifest.entries.values()} - set(map(str, _installed(home, catalog))))
    if missing:
        raise BenchmarkError(f"{config.prompts}: prompts of dataset(s) {missing} that are not installed in "
                             f"{home.path}; install them with 'propbench datasets install ID --from SRC'")
    return manifest, warnings


def _installed(home: DataHome, catalog: Catalog) -> list[str]:
    return [card.id for card in catalog.cards if home.is_installed(card.id)]


def _start(store: ResultStore, config: RunConfig, document: dict[str, object]) -> RunLock:
    commit, dirty = git_state()
    text = json.dumps(document, sort_keys=True)
    record = RunRecord(run_id=config.run, config=text, created_utc=utc_now(), suite_version=suite_version(),
                       git_commit=commit, git_dirty=dirty, seed=config.seed)
    lock = store.start_run(record, config_differs=identity_differences)
    stored = store.run(config.run)
    if stored is not None and stored.config != text:
        store.update_run_config(config.run, merged_identity(stored.config, text))
    return lock


def _case_done(jobs: Sequence[ModelJob], objects: Sequence[str] | None, done: set[RowKey], run_id: str,
               dataset_id: str, case_id: str) -> bool:
    if objects is None:
        return False
    return all(RowKey(run_id, j.model, j.point.key, dataset_id, case_id, o) in done for j in jobs for o in objects)


def _tasks(config: RunConfig, readers: Sequence[LayoutReader], jobs: tuple[ModelJob, ...], store: ResultStore,
           manifest: Manifest | None, *, retry_failed: bool) -> tuple[list[CaseTask], int, list[str]]:
    done = store.done_keys(config.run, retry_failed=retry_failed)
    known = store.case_objects(config.run)
    tasks: list[CaseTask] = []
    skipped, warnings = 0, []
    replay: dict[tuple[str, str], list[ManifestEntry]] = {}
    for item in (manifest.entries.values() if manifest is not None else ()):
        replay.setdefault((item.key.dataset_id, item.key.case_id), []).append(item)
    for reader in readers:
        card, spec = reader.card, reader_spec(reader)
        discovery = reader.discover()
        for error in discovery.errors:
            warnings.append(f"not evaluated: {error}")
        ids = [e.case_id for e in discovery.entries]
        wanted = ({c for d, c in replay if d == card.id} if manifest is not None
                  else subset_cases(reader, ids, config.subset, config.split_seed))
        if config.max_cases:
            wanted = set(sorted(wanted)[:config.max_cases])
        split = make_split(card, ids, seed=config.split_seed)
        for entry in (e for e in discovery.entries if e.case_id in wanted):
            objects = known.get((card.id, entry.case_id))
            if _case_done(jobs, objects, done, config.run, card.id, entry.case_id):
                skipped += 1
                continue
            prompts = replay.get((card.id, entry.case_id))
            if prompts and any(p.data_version != reader.data_version for p in prompts):
                warnings.append(f"{card.id}/{entry.case_id}: the manifest's prompts were drawn on data version "
                                f"{prompts[0].data_version}, the installed one is {reader.data_version}")
            case_done = frozenset(k for k in done if (k.dataset_id, k.case_id) == (card.id, entry.case_id))
            tasks.append(CaseTask(run_id=config.run, reader=spec, entry=entry, subset=split.subset_of(entry.case_id)
                                  .value, jobs=jobs, done=case_done, options=config.protocol,
                                  tolerance_mm=config.tolerance_mm, device=config.device,
                                  save_masks=None if config.save_masks is None else str(config.save_masks),
                                  objects=config.objects,
                                  replay=None if manifest is None else tuple(prompts or ())))
    return tasks, skipped, warnings


def _fetch(readers: Mapping[str, LayoutReader], tasks: Sequence[CaseTask]) -> None:
    """Make each task's files present (one bulk fetch per dataset; a failure shows up as the case's failed row)."""
    for dataset_id, reader in readers.items():
        files = [path for task in tasks if task.reader.card.id == dataset_id for path in task.entry.files]
        try:
            reader.fetch(files)
        except BenchmarkError as err:
            log.warning("%s: fetching content failed (%s); those cases will fail", dataset_id, err)


def run_benchmark(config: RunConfig, *, home: DataHome, catalog: Catalog, cache_dir: Path, progress: bool = False,
                  retry_failed: bool = False) -> RunSummary:
    """Run ``config`` (see the module docstring) and return its summary.

    Raises:
        BenchmarkError: An unknown model or dataset, a dataset not installed (with the install command), a bad
            manifest, a store that cannot be opened, or a run locked by another process or made with another
            identity.
    """
    cards = select_cards(config, home, catalog)
    manifest, warnings = _replay(config, home, catalog)
    if manifest is not None:
        config = _with_manifest_options(config, manifest)
        cards = [catalog.get(d) for d in sorted({e.key.dataset_id for e in manifest.entries.values()})]
    _check_objects(config, cards)
    if config.workers or config.scheduler:
        require_dask(config.workers, config.scheduler)
    readers = {card.id: home.open_reader(card) for card in cards}
    plans, skipped_models = plan_models(config, demo_checkpoint=_demo_source(home, catalog, cache_dir))
    jobs = plan_jobs(plans, plan_points(config))
    document = {**identity(_resolved(config, plans), {d: r.data_version for d, r in readers.items()}),
                "skipped_models": skipped_models, "settings": [s.value for s in config.settings]}
    writer_counts: dict[str, dict[str, int]] = {}
    with ResultStore.open(config.store) as store:
        lock = _start(store, config, document)
        try:
            tasks, done_before, task_warnings = _tasks(config, list(readers.values()), jobs, store, manifest,
                                                       retry_failed=retry_failed)
            _fetch(readers, tasks)
            writer = StoreWriter(store)
            if config.workers or config.scheduler:
                execute_dask(tasks, writer, workers=config.workers or 1, scheduler=config.scheduler,
                             progress=progress)
            else:
                execute_local(tasks, writer, progress=progress)
            writer_counts = writer.counts
            totals = store.counts(config.run)
        finally:
            lock.release()
    return RunSummary(config.run, config.store, writer_counts, totals, skipped_models, len(tasks), done_before,
                      tuple(warnings + task_warnings))


def _check_objects(config: RunConfig, cards: Sequence[DatasetCard]) -> None:
    known = {name for card in cards for name in card.objects().names}
    unknown = sorted(set(config.objects) - known)
    if unknown:
        raise BenchmarkError(f"objects {unknown} are in none of the datasets {[c.id for c in cards]}; their objects: "
                             f"{sorted(known)}")


def _with_manifest_options(config: RunConfig, manifest: Manifest) -> RunConfig:
    return replace(config, protocol=manifest.options)


def _resolved(config: RunConfig, plans: Sequence[ModelPlan]) -> RunConfig:
    """``config`` with the models actually run and their resolved checkpoints (demo weights included)."""
    return replace(config, models=tuple(replace(p.entry, checkpoint=p.checkpoint) for p in plans))

