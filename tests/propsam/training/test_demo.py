"""Tests of propsam.training.demo: a step-bounded run writes a loadable bundle and a report, and is reproducible."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from propsam.checkpoint import load_bundle
from propsam.config import TINY_BOX2MASK, TINY_PROPMASK
from propsam.training import TrainingCase
from propsam.training.demo import DEMO_BUNDLE, DEMO_TRAINER, DemoSettings, DemoTrainer, train_demo_weights

TINY = DemoSettings(box2mask_epochs=2, propmask_epochs=2, box2mask_samples_per_epoch=8, box2mask_batch_size=4,
                    propmask_tasks_per_epoch=4, propmask_batch_size=2, val_samples=4, min_area=20, threads=1,
                    box2mask=TINY_BOX2MASK, propmask=TINY_PROPMASK)


def _state(bundle: Path) -> dict[str, torch.Tensor]:
    loaded = load_bundle(bundle)
    return {**{f"box2mask.{k}": v for k, v in loaded.box2mask.network.state_dict().items()},
            **{f"propmask.{k}": v for k, v in loaded.propmask.network.state_dict().items()}}


def test_demo_run_writes_a_bundle_after_the_set_epochs(phantom_cases: list[TrainingCase], tmp_path: Path) -> None:
    bundle = train_demo_weights(phantom_cases[:3], phantom_cases[3:], tmp_path, settings=TINY)
    assert bundle == tmp_path / DEMO_BUNDLE
    loaded = load_bundle(bundle)
    assert loaded.box2mask.config == TINY_BOX2MASK and loaded.propmask.config == TINY_PROPMASK
    report = json.loads((tmp_path / "demo-training.json").read_text())
    assert report["bundle_sha256"] == loaded.sha256
    assert report["box2mask"]["epochs"] == 2 and report["box2mask"]["steps"] == 4
    assert report["propmask"]["epochs"] == 2 and report["propmask"]["steps"] == 4
    assert report["propmask"]["val_dice"] is not None
    assert report["settings"]["box2mask"]["channels"] == [4, 8, 16, 16] and report["settings"]["propmask_epochs"] == 2


def test_same_settings_same_weights(phantom_cases: list[TrainingCase], tmp_path: Path) -> None:
    a = _state(train_demo_weights(phantom_cases[:3], phantom_cases[3:], tmp_path / "a", settings=TINY))
    torch.manual_seed(12345)  # whatever the global RNG holds before a run must not matter
    b = _state(train_demo_weights(phantom_cases[:3], phantom_cases[3:], tmp_path / "b", settings=TINY))
    assert a.keys() == b.keys() and len(a) > 10
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"{len(different)} tensors differ between two identical runs, e.g. {different[:3]}"
    c = _state(train_demo_weights(phantom_cases[:3], phantom_cases[3:], tmp_path / "c",
                                  settings=replace(TINY, seed=1)))
    assert any(not torch.equal(a[k], c[k]) for k in a)  # the seed does reach the weights


def test_the_cache_key_covers_every_setting() -> None:
    assert DEMO_TRAINER.key() == DemoTrainer().key() == DemoTrainer(DemoSettings()).key()
    base = DemoSettings()
    changed = [replace(base, box2mask_epochs=81), replace(base, propmask_epochs=99),
               replace(base, box2mask_samples_per_epoch=64), replace(base, propmask_tasks_per_epoch=32),
               replace(base, box2mask_batch_size=16), replace(base, propmask_batch_size=4),
               replace(base, propmask_lr=1e-3), replace(base, seed=1), replace(base, threads=1),
               replace(base, propmask=replace(base.propmask, input_size=96))]
    keys = {DemoTrainer(s).key() for s in changed}
    assert len(keys) == len(changed) and DEMO_TRAINER.key() not in keys


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="DemoSettings.propmask_epochs must be a positive int, got 0"):
        DemoSettings(propmask_epochs=0)
    with pytest.raises(ValueError, match="DemoSettings.threads must be >= 1 or None, got 0"):
        DemoSettings(threads=0)


def test_a_shortened_trainer_scales_epochs_and_period_and_sets_the_rate() -> None:
    base = DemoTrainer(replace(DemoSettings(), box2mask_epochs=80, propmask_epochs=100, cosine_period=100))
    short = base.shortened(0.05, propmask_lr=1e-3).settings
    assert (short.box2mask_epochs, short.propmask_epochs, short.cosine_period, short.propmask_lr) == (4, 5, 5, 1e-3)
    assert base.shortened(1.0, propmask_lr=1e-3).key() != base.key()  # the rate is part of the key
    with pytest.raises(ValueError, match="scale must be in"):
        base.shortened(0.0, propmask_lr=1e-3)
