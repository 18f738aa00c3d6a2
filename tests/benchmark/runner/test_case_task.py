"""The work unit alone: a case task on a plain folder (no store), with doubles that count their calls."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from benchmark.data.dataset import open_reader, reader_spec
from benchmark.models.registry import spec_from_reference
from benchmark.protocol.object_prompts import ProtocolOptions
from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.results.rows import RowKey
from benchmark.runner.case_task import CaseTask, PredictionError, check_prediction, run_case
from benchmark.runner.jobs import ModelJob, Weights
from tests.benchmark.runner import doubles
from tests.benchmark.runner.data import OBJECTS, write_dataset
from tests.cards import card

COUNTING = "tests.benchmark.runner.doubles:Counting"


def _task(root: Path, done: frozenset[RowKey] = frozenset()) -> CaseTask:
    reader = open_reader(card(OBJECTS, dataset_id="D1"), root)
    job = ModelJob(model="counting", spec=spec_from_reference(COUNTING), checkpoint=None, weights=Weights.NONE,
                   kwargs=(), prompt_kind=None, point=DEFAULT_POINT)
    entry = next(e for e in reader.discover().entries if e.case_id == "case_0")
    return CaseTask(run_id="r", reader=reader_spec(reader), entry=entry, subset="val", jobs=(job,), done=done,
                    options=ProtocolOptions(), tolerance_mm=2.0, device="cpu")


def test_only_rows_not_done_are_run(tmp_path: Path) -> None:
    task = _task(write_dataset(tmp_path / "ds", n=1))
    first = run_case(task)
    assert [(r.object_name, r.status) for r in first.rows] == [("lesion", "skipped"), ("liver", "ok"),
                                                               ("spleen", "ok")]
    assert first.objects == ("lesion", "liver", "spleen")
    doubles.CALLS.clear()
    liver = next(r.key for r in first.rows if r.object_name == "liver")
    again = run_case(_task(tmp_path / "ds", done=frozenset({liver})))
    assert [r.object_name for r in again.rows] == ["lesion", "spleen"]
    assert doubles.CALLS == ["case_0"]  # spleen only: the model is warm already in this process


def test_tasks_and_outcomes_travel_between_processes(tmp_path: Path) -> None:
    task = _task(write_dataset(tmp_path / "ds", n=1))
    outcome = run_case(pickle.loads(pickle.dumps(task)))
    assert pickle.loads(pickle.dumps(outcome)).rows == outcome.rows


def test_emit_receives_each_row_with_its_machine(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    outcome = run_case(_task(write_dataset(tmp_path / "ds", n=1)),
                       emit=lambda row, machine: seen.append((row.object_name, str(machine["cpu_count"]))))
    assert [name for name, _ in seen] == [r.object_name for r in outcome.rows]
    assert all(r.machine_id == outcome.machine_id for r in outcome.rows)


@pytest.mark.parametrize(("value", "message"), [
    (np.zeros((2, 2, 2), bool), r"shape \(2, 2, 2\); expected the case grid \(3, 3, 3\)"),
    (np.zeros((3, 3, 3), np.uint8), "dtype uint8; expected bool"),
    (np.full((3, 3, 3), np.nan), "dtype float64 holding NaN"),
    ([[[True]]], "returned list"),
])
def test_predictions_are_checked(value: object, message: str) -> None:
    with pytest.raises(PredictionError, match=message):
        check_prediction(value, (3, 3, 3), "M")
    assert check_prediction(np.ones((3, 3, 3), bool), (3, 3, 3), "M").all()
