"""Small results stores written by the report tests, with the store's own API (ResultStore, RunRecord, ResultRow)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmark.data.catalog import load_catalog
from benchmark.reports.source import ReportData, load_report_data
from benchmark.results.rows import ResultRow
from benchmark.results.store import ResultStore, RunRecord

__all__ = ["MACHINE", "MACHINE_ID", "PROTOCOLS", "LEAKS", "KINDS", "run_record", "row", "failed", "skipped",
           "write_store", "report_data"]

MACHINE_ID = "m0"
MACHINE = {"host": "test-host", "cpu": "Test CPU 3000", "cpu_count": 2, "memory_gb": 8.0, "python": "3.11"}
#: What each test model "received" (the model_protocol its spec states).
PROTOCOLS = {"PropSAM-2DBox": "one 2D box on the guide slice", "PropSAM-2DMask": "the guide slice's 2D mask",
             "Box-Fill": "the 3D box filled (leaks the z-extent)", "SegVol": "a 3D box",
             "Naive-Propagation": "the 2D mask copied over the true extent"}
KINDS = {"PropSAM-2DBox": "box2d", "PropSAM-2DMask": "mask2d", "Box-Fill": "box3d", "SegVol": "box3d",
         "Naive-Propagation": "mask2d"}
LEAKS = {"Box-Fill": "z-extent", "SegVol": "z-extent", "Naive-Propagation": "extent"}


def run_record(run_id: str = "default", *, subset: str = "eval", seed: int = 0, models: Sequence[str] = (),
               data_versions: Mapping[str, str] | None = None, skipped_models: Mapping[str, str] | None = None,
               created: str = "2026-01-01T00:00:00.000+00:00", settings: Sequence[str] = ("default",)) -> RunRecord:
    """A run with the configuration JSON ``propbench run`` writes (benchmark.runner.config.identity)."""
    config = {"protocol": {"plane": "axial", "rule": "largest", "jitter": "paper", "min_area": 100}, "seed": seed,
              "split_seed": 0, "subset": subset, "tolerance_mm": 2.0, "device": "cpu",
              "models": {m: {"checkpoint": None, "prompt": None, "kwargs": {}} for m in models},
              "data_versions": dict(data_versions or {}), "skipped_models": dict(skipped_models or {}),
              "settings": list(settings)}
    return RunRecord(run_id=run_id, config=json.dumps(config, sort_keys=True), created_utc=created,
                     suite_version="0.1.0", git_commit="0123456789abcdef", git_dirty=False, seed=seed)


def row(model: str, dataset: str, case: str, obj: str, dice: float | None = 0.5, *, setting: str = "default",
        run: str = "default", seconds: float | None = 1.0, nsd: float | None = None, hd95: float | None = None,
        subset: str = "val", version: str = "v1", **extra: Any) -> ResultRow:
    """An ok row (the metric values as given; NSD defaults to Dice, HD95 to 10 (1 - Dice) mm)."""
    values: dict[str, Any] = dict(
        run_id=run, model=model, setting=setting, dataset_id=dataset, case_id=case, object_name=obj, status="ok",
        subset=subset, data_version=version, prompt_kind=KINDS.get(model, "box2d"), prompt_plane="axial",
        prompt_slice=3, prompt_box="[1, 1, 5, 5]", prompt_leaks=LEAKS.get(model, ""), guide_rule="largest",
        box_jitter="paper", dice=dice, nsd=dice if nsd is None else nsd,
        hd95_mm=(10 * (1 - dice) if dice is not None else None) if hd95 is None else hd95, tolerance_mm=2.0,
        seconds=seconds, model_protocol=PROTOCOLS.get(model, "a prompt"), weights="demo",
        checkpoint_sha256="ab" * 32, machine_id=MACHINE_ID, device="cpu")
    values.update(extra)
    return ResultRow(**values)


def failed(model: str, dataset: str, case: str, obj: str, *, setting: str = "default", run: str = "default",
           error: str = "RuntimeError", **extra: Any) -> ResultRow:
    return ResultRow(run_id=run, model=model, setting=setting, dataset_id=dataset, case_id=case, object_name=obj,
                     status="failed", error_type=error, error_message="boom", subset="val", data_version="v1",
                     model_protocol=PROTOCOLS.get(model, "a prompt"), weights="demo", machine_id=MACHINE_ID,
                     device="cpu", **extra)


def skipped(model: str, dataset: str, case: str, obj: str, *, setting: str = "default", run: str = "default",
            reason: str = "guide slice under the minimum area") -> ResultRow:
    return ResultRow(run_id=run, model=model, setting=setting, dataset_id=dataset, case_id=case, object_name=obj,
                     status="skipped", skip_reason=reason, subset="val", data_version="v1",
                     model_protocol=PROTOCOLS.get(model, "a prompt"), weights="demo", machine_id=MACHINE_ID,
                     device="cpu")


def write_store(path: Path, runs: Iterable[tuple[RunRecord, Iterable[ResultRow]]],
                machines: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """A store at ``path`` holding ``runs`` and their rows, and the machines (default: MACHINE)."""
    with ResultStore.open(path) as store:
        for mid, info in (machines if machines is not None else {MACHINE_ID: MACHINE}).items():
            store.add_machine(mid, dict(info))
        for record, rows in runs:
            store.start_run(record).release()
            for item in rows:
                store.write(item)
    return path


def report_data(path: Path, *, installed_versions: Mapping[str, str] | None = None,
                runs: Sequence[str] | None = None) -> ReportData:
    """The report data of the store at ``path`` with the suite's catalog."""
    with ResultStore.open(path, create=False) as store:
        return load_report_data(store, runs=runs, catalog=load_catalog(), installed_versions=installed_versions)
