"""``run_benchmark`` end to end on a real DataLad data home: rows, resume, settings, bad models, Dask, manifests."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from benchmark.errors import BenchmarkError, DatasetNotInstalledError
from benchmark.protocol.prompts import PromptKind
from benchmark.protocol.settings import Setting
from benchmark.results.export import rows_frame
from benchmark.results.store import ResultStore, StoreError
from benchmark.runner.case_task import CASE_OBJECT
from benchmark.runner.config import EvalSubset, ModelEntry, RunConfig
from benchmark.runner.prompt_export import export_prompts
from benchmark.runner.run import run_benchmark
from tests.benchmark.runner import doubles
from tests.benchmark.runner.data import phantom

BASELINES = (ModelEntry(name="Naive-Propagation"), ModelEntry(name="Box-Fill"))
#: Columns that differ between two runs of deterministic models (clocks, memory, machines: a process that has loaded
#: torch describes its machine with torch's details).
VOLATILE = ["seconds", "peak_rss_mb", "peak_gpu_mb", "started_utc", "ended_utc", "machine_id", "trace"]


def comparable(frame):  # type: ignore[no-untyped-def]
    """``frame`` without the volatile and machine columns."""
    return frame.drop(columns=VOLATILE + [c for c in frame.columns if c.startswith("machine_")])


def _config(tmp_path: Path, **values: object) -> RunConfig:
    base = RunConfig(store=tmp_path / "results.sqlite", datasets=("U1",), subset=EvalSubset.ALL, models=BASELINES)
    return replace(base, **values)  # type: ignore[arg-type]


def _run(home: SimpleNamespace, config: RunConfig, **kwargs: object):  # type: ignore[no-untyped-def]
    return run_benchmark(config, home=home.home, catalog=home.catalog, cache_dir=home.root / "cache", **kwargs)


def _frame(store: Path):  # type: ignore[no-untyped-def]
    with ResultStore.open(store, create=False) as opened:
        return comparable(rows_frame(opened)).sort_values(["model", "setting", "case_id", "object_name"])


def test_every_present_object_gets_a_row_with_metrics_prompt_and_provenance(small_home: SimpleNamespace,
                                                                            tmp_path: Path) -> None:
    summary = _run(small_home, _config(tmp_path))
    assert summary.cases_run == 6 and summary.skipped_models == {}
    with ResultStore.open(tmp_path / "results.sqlite") as store:
        rows = list(store.rows("default"))
        machines = store.machines()
    # liver in 6 cases, spleen in 3, lesion in 6 (skipped: too small), for 2 models
    assert len(rows) == 2 * (6 + 3 + 6)
    skipped = [r for r in rows if r.status == "skipped"]
    assert {r.object_name for r in skipped} == {"lesion"} and "more than 100" in str(skipped[0].skip_reason)
    naive = next(r for r in rows if r.model == "Naive-Propagation" and r.case_id == "case_0"
                 and r.object_name == "liver")
    _, label = phantom(0)
    liver = label == 1
    assert naive.prompt_kind == "mask2d" and naive.prompt_leaks == "extent"
    assert naive.prompt_slice == int(np.argmax(liver.sum(axis=(0, 1))))  # largest cross-section
    assert 0.3 < naive.dice < 1.0 and naive.nsd is not None and naive.hd95_mm is not None and naive.hd95_mm > 0
    assert naive.n_reference == int(liver.sum()) and naive.reference_volume_mm3 == pytest.approx(
        liver.sum() * 0.9 * 0.9 * 2.0)
    assert naive.seconds is not None and naive.seconds > 0 and naive.peak_rss_mb and naive.peak_rss_mb > 10
    assert naive.data_version == small_home.home.commit("U1") and naive.subset in ("train", "val")
    assert naive.machine_id in machines and machines[naive.machine_id]["cpu_count"] >= 1
    box = next(r for r in rows if r.model == "Box-Fill" and r.case_id == "case_0" and r.object_name == "liver")
    assert box.prompt_kind == "box3d" and box.prompt_leaks == "z-extent" and json.loads(str(box.prompt_box))[2] <= 2
    assert box.weights == "none" and "z-range" in str(box.model_protocol)


def test_a_rerun_calls_no_model_and_changes_nothing(small_home: SimpleNamespace, tmp_path: Path) -> None:
    config = _config(tmp_path, models=(ModelEntry(name="tests.benchmark.runner.doubles:Counting"),))
    first = _run(small_home, config)
    calls = len(doubles.CALLS)
    assert first.cases_run == 6 and calls > 0
    before = _frame(config.store)
    again = _run(small_home, config)
    assert again.cases_run == 0 and again.cases_done_before == 6 and len(doubles.CALLS) == calls
    assert _frame(config.store).equals(before)


def test_bad_models_become_failed_or_skipped_rows_and_the_run_goes_on(small_home: SimpleNamespace,
                                                                      tmp_path: Path) -> None:
    names = {"Raises": "RuntimeError: CUDA out of memory", "WrongShape": "expected the case grid (40, 36, 16)",
             "Floats": "returned dtype float32; expected bool", "NaNs": "float32 holding NaN",
             "NotArray": "returned list; expected a numpy bool array"}
    models = (*(ModelEntry(name=f"tests.benchmark.runner.doubles:{n}") for n in names),
              ModelEntry(name="tests.benchmark.runner.doubles:MaskOnly", prompt=PromptKind.BOX_3D))
    summary = _run(small_home, _config(tmp_path, models=(*models, ModelEntry(name="Box-Fill"))))
    assert summary.written["Box-Fill"]["ok"] == 9  # the good model is untouched by the bad ones
    with ResultStore.open(tmp_path / "results.sqlite") as store:
        rows = list(store.rows("default"))
    for name, message in names.items():
        failed = [r for r in rows if r.model.endswith(name) and r.status == "failed"]
        assert len(failed) == 9, name
        assert message in f"{failed[0].error_type}: {failed[0].error_message}" and failed[0].traceback
    mask_only = [r for r in rows if r.model.endswith("MaskOnly") and r.object_name == "liver"]
    assert all(r.status == "skipped" and "does not take 'box3d' prompts" in str(r.skip_reason) for r in mask_only)


def test_an_unreadable_case_is_one_failed_row_per_model(small_home: SimpleNamespace, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmark.data.readers.paired_folders import PairedFoldersReader

    original = PairedFoldersReader.open_case

    def broken(self, entry):  # type: ignore[no-untyped-def]
        if entry.case_id == "case_3":
            raise OSError(f"{entry.image_files[0]}: truncated gzip stream (simulated)")
        return original(self, entry)

    monkeypatch.setattr(PairedFoldersReader, "open_case", broken)
    _run(small_home, _config(tmp_path))
    with ResultStore.open(tmp_path / "results.sqlite") as store:
        rows = [r for r in store.rows("default") if r.case_id == "case_3"]
    assert [(r.model, r.object_name, r.status) for r in rows] == [
        ("Box-Fill", CASE_OBJECT, "failed"), ("Naive-Propagation", CASE_OBJECT, "failed")]
    assert "truncated gzip stream" in str(rows[0].error_message)


def test_ablation_settings(small_home: SimpleNamespace, tmp_path: Path) -> None:
    config = _config(tmp_path, settings=(Setting.SLICE_DEVIATION, Setting.THICKNESS), datasets=("U1",))
    _run(small_home, config)
    with ResultStore.open(config.store) as store:
        rows = [r for r in store.rows("default") if r.object_name == "liver" and r.case_id == "case_0"]
    settings = {(r.model, r.setting) for r in rows}
    deviation = {"default", "slice-deviation=0.05", "slice-deviation=0.1", "slice-deviation=0.15",
                 "slice-deviation=0.2"}
    assert settings == {(m, s) for m in ("Naive-Propagation", "Box-Fill") for s in deviation}  # no window to sweep
    slices = {r.setting: r.prompt_slice for r in rows if r.model == "Naive-Propagation"}
    assert slices["slice-deviation=0.2"] != slices["default"]


def test_the_run_identity_is_checked_on_resume(small_home: SimpleNamespace, tmp_path: Path) -> None:
    _run(small_home, _config(tmp_path, models=(ModelEntry(name="Box-Fill"),)))
    grown = _run(small_home, _config(tmp_path))  # a model added to the run
    assert grown.written == {"Naive-Propagation": {"ok": 9, "skipped": 6}}
    with pytest.raises(StoreError, match=r"differs in: seed"):
        _run(small_home, _config(tmp_path).with_overrides(seed=4))
    with pytest.raises(StoreError, match=r"differs in: models.Box-Fill"):
        _run(small_home, _config(tmp_path, models=(ModelEntry(name="Box-Fill", kwargs={"x": 1}),)))


def test_unknown_and_missing_inputs_are_named(small_home: SimpleNamespace, tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="unknown model 'SAM-9'"):
        _run(small_home, _config(tmp_path, models=(ModelEntry(name="SAM-9"),)))
    with pytest.raises(BenchmarkError, match="D99"):
        _run(small_home, _config(tmp_path, datasets=("D99",)))
    from benchmark.data.catalog import Catalog

    extra = small_home.catalog.get("U1")
    catalog = Catalog((replace(extra, id="U2", name="Other"), extra))
    with pytest.raises(DatasetNotInstalledError, match="propbench datasets install U2 --from"):
        run_benchmark(_config(tmp_path, datasets=("U2",)), home=small_home.home, catalog=catalog,
                      cache_dir=tmp_path)


def test_missing_checkpoint_skips_the_model_with_its_reason(small_home: SimpleNamespace, tmp_path: Path) -> None:
    config = _config(tmp_path, models=(ModelEntry(name="PropSAM-2DMask", checkpoint=str(tmp_path / "none.pt")),
                                       ModelEntry(name="Box-Fill")))
    summary = _run(small_home, config)
    assert "checkpoint missing" in summary.skipped_models["PropSAM-2DMask"]
    assert "none.pt does not exist" in summary.skipped_models["PropSAM-2DMask"]
    assert set(summary.written) == {"Box-Fill"}


def test_dask_workers_give_the_local_rows(small_home: SimpleNamespace, tmp_path: Path) -> None:
    local = _config(tmp_path / "local")
    pooled = _config(tmp_path / "dask", workers=2)
    _run(small_home, local)
    _run(small_home, pooled)
    assert _frame(pooled.store).reset_index(drop=True).equals(_frame(local.store).reset_index(drop=True))


def test_a_distributed_run_without_dask_fails_before_any_work(small_home: SimpleNamespace, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as on a machine without the [distributed] extra
    config = _config(tmp_path, workers=2)
    with pytest.raises(BenchmarkError, match=r"workers = 2.*propsam-bench\[distributed\].*workers = 0"):
        _run(small_home, config)
    assert not config.store.exists()


def test_manifests_are_byte_identical_and_replay_the_same_prompts(small_home: SimpleNamespace,
                                                                  tmp_path: Path) -> None:
    config = _config(tmp_path, settings=(Setting.DEFAULT, Setting.SLICE_DEVIATION))
    first, count = export_prompts(config, home=small_home.home, catalog=small_home.catalog, out=tmp_path / "a.jsonl")
    second, _ = export_prompts(config, home=small_home.home, catalog=small_home.catalog, out=tmp_path / "b.jsonl")
    assert first.read_bytes() == second.read_bytes() and count == 5 * (6 + 3 + 6)
    other, _ = export_prompts(config.with_overrides(seed=1), home=small_home.home, catalog=small_home.catalog,
                              out=tmp_path / "c.jsonl")
    assert other.read_bytes() != first.read_bytes()
    _run(small_home, config)
    _run(small_home, replace(config, prompts=first, store=tmp_path / "replayed.sqlite"))
    assert _frame(tmp_path / "replayed.sqlite").reset_index(drop=True).equals(
        _frame(config.store).reset_index(drop=True))


def test_case_and_object_limits(small_home: SimpleNamespace, tmp_path: Path) -> None:
    config = _config(tmp_path, max_cases=2, objects=("spleen",))
    summary = _run(small_home, config)
    assert summary.cases_run == 2 and summary.written["Box-Fill"] == {"ok": 1}  # spleen is in case_0 only of the two
    full = _run(small_home, _config(tmp_path))  # the filtered run did not mark its cases complete
    assert full.cases_done_before == 0 and full.written["Box-Fill"] == {"ok": 8, "skipped": 6}
    with pytest.raises(BenchmarkError, match=r"objects \['pancreas'\] are in none of the datasets \['U1'\]"):
        _run(small_home, _config(tmp_path, objects=("pancreas",)))
