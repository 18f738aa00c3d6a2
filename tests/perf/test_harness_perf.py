"""The harness's costs (issue targets, checked softly; see tests/perf/conftest.py):

- overhead: everything but ``segment`` (reading, prompts, metrics, the store) per object on the demo collection,
  against PropSAM-2DMask's model time: at most 5 %;
- a rerun of a finished run on the demo collection: zero model calls, under 2 s;
- Dask LocalCluster with 2 single-threaded workers against 1: speed-up of 1.6 or more on a 2-core machine.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

from benchmark.data.catalog import load_catalog
from benchmark.data.dataset import reader_spec
from benchmark.home.data_home import DataHome
from benchmark.models.registry import spec_from_reference
from benchmark.protocol.object_prompts import ProtocolOptions
from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.results.store import ResultStore, RunRecord
from benchmark.runner.case_task import CaseTask
from benchmark.runner.config import EvalSubset, ModelEntry, RunConfig
from benchmark.runner.execute import StoreWriter, execute_local
from benchmark.runner.jobs import ModelJob, Weights
from benchmark.runner.model_cache import clear_models
from benchmark.runner.run import run_benchmark
from tests.perf import harness_models

if TYPE_CHECKING:
    from tests.perf.conftest import DemoCollection, PerfRecorder

COSTLY = "tests.perf.harness_models:costly_propsam_2dmask"


@pytest.fixture(scope="module")
def demo_home(git_identity_module: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The demo collection installed in a DataLad data home, as ``propbench datasets demo`` does."""
    from benchmark.demo.collection import build_demo

    root = tmp_path_factory.mktemp("harness")
    home = DataHome(root / "home")
    catalog = load_catalog()
    build_demo(home, root / "sources", catalog=catalog)
    return SimpleNamespace(home=home, catalog=catalog, root=root)


def _tasks(collection: DemoCollection, store: ResultStore) -> list[CaseTask]:
    job = ModelJob(model="costly", spec=spec_from_reference(COSTLY), checkpoint=None, weights=Weights.RANDOM,
                   kwargs=(), prompt_kind=None, point=DEFAULT_POINT)
    tasks = []
    for reader in collection.readers():
        for entry in reader.discover().entries:
            tasks.append(CaseTask(run_id="perf", reader=reader_spec(reader), entry=entry, subset="all", jobs=(job,),
                                  done=frozenset(), options=ProtocolOptions(), tolerance_mm=2.0, device="cpu"))
    return tasks


def test_harness_overhead_against_model_time(perf: PerfRecorder, demo_collection: DemoCollection,
                                             tmp_path: Path) -> None:
    totals: list[float] = []
    model: list[float] = []

    def one_run() -> None:
        clear_models()
        harness_models.SEGMENT_SECONDS.clear()
        store_path = tmp_path / f"run{len(totals)}.sqlite"
        with ResultStore.open(store_path) as store:
            store.start_run(RunRecord(run_id="perf", config="{}", created_utc="", suite_version="", git_commit="",
                                      git_dirty=False, seed=0)).release()
            tasks = _tasks(demo_collection, store)
            start = time.perf_counter()
            execute_local(tasks, StoreWriter(store), progress=False)
            totals.append(time.perf_counter() - start)
            rows = list(store.rows("perf"))
        model.append(sum(harness_models.SEGMENT_SECONDS))
        perf.info(objects=sum(r.status == "ok" for r in rows), cases=len(tasks))

    perf.run(one_run, rounds=2)
    overheads = [(t - m) / m for t, m in zip(totals, model, strict=True)]
    overhead = min(overheads)
    perf.info(total_s=totals, model_s=model, overhead_ratios=overheads)
    perf.target("harness_overhead_over_model_time", overhead, 0.05,
                "wall time of the case tasks minus the model's segment calls (warm-up included), over those calls, "
                "PropSAM-2DMask (demo-size networks) on the demo collection")


def _config(root: Path, name: str, **values: object) -> RunConfig:
    base = RunConfig(store=root / f"{name}.sqlite", subset=EvalSubset.ALL, models=(ModelEntry(name=COSTLY),))
    return replace(base, **values)  # type: ignore[arg-type]


def test_rerun_of_a_finished_run(perf: PerfRecorder, demo_home: SimpleNamespace) -> None:
    config = _config(demo_home.root, "rerun")
    run_benchmark(config, home=demo_home.home, catalog=demo_home.catalog, cache_dir=demo_home.root / "cache")
    calls = len(harness_models.SEGMENT_SECONDS)
    summaries = []
    seconds = perf.run(lambda: summaries.append(run_benchmark(config, home=demo_home.home, catalog=demo_home.catalog,
                                                              cache_dir=demo_home.root / "cache")), rounds=3)
    assert all(s.cases_run == 0 for s in summaries) and len(harness_models.SEGMENT_SECONDS) == calls
    perf.info(cases_done_before=summaries[-1].cases_done_before)
    perf.target("rerun_seconds", seconds, 2.0, "a rerun of a finished run on the demo collection (no model call)")


def test_dask_two_workers_against_one(perf: PerfRecorder, demo_home: SimpleNamespace) -> None:
    walls: dict[int, list[float]] = {1: [], 2: []}

    def run(workers: int) -> None:
        config = _config(demo_home.root, f"dask{workers}-{len(walls[workers])}", workers=workers)
        start = time.perf_counter()
        run_benchmark(config, home=demo_home.home, catalog=demo_home.catalog, cache_dir=demo_home.root / "cache")
        walls[workers].append(time.perf_counter() - start)

    timing = perf.side_by_side(lambda: run(2), lambda: run(1), rounds=1)
    speedup = 1.0 / timing.ratio
    perf.info(two_workers_s=walls[2], one_worker_s=walls[1], speedup=speedup)
    perf.target("dask_one_over_two_workers", 1.0 / speedup, 1.0 / 1.6,
                "wall time with 2 Dask workers over 1 (inverse of the speed-up; target speed-up >= 1.6), "
                "PropSAM-2DMask (demo-size networks) on the demo collection, cluster start included")
