"""Tests of propsam.training.demo: a budgeted run writes a loadable bundle and a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from propsam.checkpoint import load_bundle
from propsam.config import TINY_BOX2MASK, TINY_PROPMASK
from propsam.training import TrainingCase
from propsam.training.demo import DEMO_BUNDLE, DemoSettings, train_demo_weights


def test_budgeted_demo_run_writes_a_bundle(phantom_cases: list[TrainingCase], tmp_path: Path) -> None:
    settings = DemoSettings(box2mask_samples_per_epoch=8, box2mask_batch_size=8, propmask_tasks_per_epoch=4,
                            propmask_batch_size=4, val_samples=4, min_area=20, threads=1, box2mask=TINY_BOX2MASK,
                            propmask=TINY_PROPMASK)
    bundle = train_demo_weights(phantom_cases[:3], phantom_cases[3:], tmp_path, budget_s=0.5, settings=settings)
    assert bundle == tmp_path / DEMO_BUNDLE
    loaded = load_bundle(bundle)
    assert loaded.box2mask.config == TINY_BOX2MASK and loaded.propmask.config == TINY_PROPMASK
    report = json.loads((tmp_path / "demo-training.json").read_text())
    assert report["bundle_sha256"] == loaded.sha256
    assert report["box2mask"]["epochs"] >= 1 and report["propmask"]["val_dice"] is not None
    assert report["settings"]["box2mask"]["channels"] == [4, 8, 16, 16]


def test_bad_budget(phantom_cases: list[TrainingCase], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="budget_s must be > 0 s, got 0"):
        train_demo_weights(phantom_cases, phantom_cases, tmp_path, budget_s=0)
    with pytest.raises(ValueError, match="box2mask_share must be in"):
        DemoSettings(box2mask_share=1.0)
