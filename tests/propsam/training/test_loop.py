"""Tests of propsam.training.loop: loss decreases, checkpoints per epoch, exact resume, bad arguments."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from propsam.checkpoint import load_checkpoint, load_training_state
from propsam.config import TINY_BOX2MASK, TINY_PROPMASK
from propsam.training import SampleSettings, TrainingCase, TrainOptions, TrainResult, train_box2mask, train_propmask
from propsam.training.curves import read_curves_csv
from propsam.training.loop import TrainingBudgetError
from tests.propsam.training.phantoms import phantom_case

# Tiny runs: 24 samples (PropMask: tasks of a guide and 4 targets) per epoch, batches of 8, 8 validation samples.
_FAST = TrainOptions(samples_per_epoch=24, batch_size=8, val_every=1, val_samples=8,
                     samples=SampleSettings(min_area=20))


def _opts(**changes: Any) -> TrainOptions:
    return replace(_FAST, **changes)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """Three epochs of TINY Box2Mask in one go (the reference for the loss and the resume tests)."""
    cases = [phantom_case(seed) for seed in range(4)]
    return train_box2mask(cases[:3], cases[3:], TINY_BOX2MASK, _opts(epochs=3),
                          tmp_path_factory.mktemp("straight"))


def test_box2mask_loss_decreases_and_writes_the_run(straight_run: TrainResult) -> None:
    result = straight_run
    losses = [r.train_loss for r in result.history]
    assert losses[-1] < losses[0]
    assert [r.epoch for r in result.history] == [1, 2, 3] and all(r.val_dice is not None for r in result.history)
    assert result.history[0].lr == pytest.approx(1e-3)  # the paper's Box2Mask rate
    assert {p.name for p in result.out_dir.iterdir()} >= {"last.pt", "best.pt", "curves.csv", "curves.png"}
    assert len(read_curves_csv(result.out_dir / "curves.csv")) == 3
    best = load_checkpoint(result.best_checkpoint, kind="box2mask")
    assert best.sha256 == result.best_sha256 and best.metadata is not None and best.metadata.val_loss is not None


def test_propmask_trains_with_its_own_learning_rate(phantom_cases: list[TrainingCase], tmp_path: Path) -> None:
    result = train_propmask(phantom_cases[:3], phantom_cases[3:], TINY_PROPMASK, _opts(epochs=3),
                            tmp_path)
    val = [r.val_loss for r in result.history]
    assert all(v is not None for v in val) and val[-1] < val[0]  # type: ignore[operator]
    assert result.history[0].lr == pytest.approx(5e-4)
    assert load_checkpoint(result.last_checkpoint).kind.value == "propmask"


def test_resume_continues_exactly(straight_run: TrainResult, phantom_cases: list[TrainingCase],
                                  tmp_path: Path) -> None:
    first = train_box2mask(phantom_cases[:3], phantom_cases[3:], TINY_BOX2MASK, _opts(epochs=2),
                           tmp_path)
    assert load_training_state(first.last_checkpoint)["epoch"] == 2
    resumed = train_box2mask(phantom_cases[:3], phantom_cases[3:], TINY_BOX2MASK,
                             _opts(epochs=3, resume=True), tmp_path)
    straight = straight_run
    assert [r.epoch for r in resumed.history] == [1, 2, 3]
    assert resumed.history[2].train_loss == straight.history[2].train_loss
    assert resumed.history[2].val_loss == straight.history[2].val_loss
    assert resumed.history[2].lr == straight.history[2].lr
    a = load_checkpoint(straight.last_checkpoint).network.state_dict()
    b = load_checkpoint(resumed.last_checkpoint).network.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_time_budget_is_a_loud_guard(phantom_cases: list[TrainingCase], tmp_path: Path) -> None:
    with pytest.raises(TrainingBudgetError, match=r"time_budget_s=0 s after epoch 1 of 50; expected all 50 epochs"):
        train_box2mask(phantom_cases, None, TINY_BOX2MASK, _opts(epochs=50, time_budget_s=0.0), tmp_path / "cut")
    assert load_training_state(tmp_path / "cut" / "last.pt")["epoch"] == 1  # kept for a resume
    assert not (tmp_path / "cut" / "best.pt").exists()  # no result that looks complete
    # The last epoch passing the budget is no cut: the run is complete.
    result = train_box2mask(phantom_cases, None, TINY_BOX2MASK, _opts(epochs=1, time_budget_s=0.0), tmp_path / "one")
    assert result.epochs_completed == 1 and result.history[0].val_loss is None
    assert result.best_checkpoint.is_file()  # the last weights, for lack of validation


def test_refuses_to_overwrite_a_run(phantom_cases: list[TrainingCase], tmp_path: Path) -> None:
    train_box2mask(phantom_cases, None, TINY_BOX2MASK, _opts(epochs=1), tmp_path)
    with pytest.raises(FileExistsError, match="already holds a training run"):
        train_box2mask(phantom_cases, None, TINY_BOX2MASK, _opts(epochs=1), tmp_path)


def test_resume_with_another_configuration_is_refused(phantom_cases: list[TrainingCase], tmp_path: Path) -> None:
    from propsam.checkpoint import CheckpointError
    from propsam.config import Box2MaskConfig

    train_box2mask(phantom_cases, None, TINY_BOX2MASK, _opts(epochs=1), tmp_path)
    other = Box2MaskConfig(channels=(4, 8, 8), input_size=32)
    with pytest.raises(CheckpointError, match="incompatible configuration"):
        train_box2mask(phantom_cases, None, other, _opts(epochs=2, resume=True), tmp_path)


def test_bad_arguments(phantom_cases: list[TrainingCase], tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="train_box2mask config must be a Box2MaskConfig, got PropMaskConfig"):
        train_box2mask(phantom_cases, None, TINY_PROPMASK, TrainOptions(), tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="TrainOptions.epochs must be a positive int, got 0"):
        TrainOptions(epochs=0)
    with pytest.raises(ValueError, match="TrainOptions.precision: unknown precision 'fp8'"):
        TrainOptions(precision="fp8")
    with pytest.raises(ValueError, match="cases_train: no training cases"):
        train_box2mask([], None, TINY_BOX2MASK, TrainOptions(), tmp_path)
