"""The fast normalisation search against the paper's exhaustive one: speed ratio and Dice (``nox -s perf``).

Skipped unless pytest runs with ``--benchmark-enable``. Targets: the coarse 24-candidate search at least 5x faster
than the exhaustive 396-candidate grid (a time ratio of at most 0.2), and its box-prompt Dice within 0.005 of the
exhaustive one on the demo validation cases.

Speed: the real small Box2Mask (run at full cost, answering with the threshold stub) on the liver slice of the
CT-like volume of tests/perf/test_propsam_perf.py, both searches timed alternately in one run.

Dice: the demo collection's phantoms (benchmark.demo) on their canonical grid, split by the benchmark's seeded rule
(``make_split``, seed 0); on every validation case, each object's middle axial slice, prompted with the object's
tightest box. The Box2Mask weights are ``$PROPSAM_BOX2MASK_CHECKPOINT`` when set, else a demo-sized Box2Mask
trained here on the training cases for a fixed number of epochs (seeded: the same weights on every run).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch

from propsam.config import SMALL_BOX2MASK
from propsam.inference.box_prompt import BoxPromptSettings, SearchStrategy, segment_box
from propsam.inference.runtime import Runtime
from propsam.preprocessing import mask_box
from tests.perf.test_propsam_perf import Scene, _machine, _scene
from tests.propsam.inference.fakes import CostlyThresholdBox2Mask

if TYPE_CHECKING:
    from propsam.networks import Box2Mask
    from propsam.training.data import TrainingCase
    from tests.perf.conftest import PerfRecorder

__all__: list[str] = []

#: Fast over exhaustive search time: at least 5x faster.
FAST_OVER_EXHAUSTIVE_TARGET = 0.2
#: Largest mean-Dice loss of the fast search against the exhaustive one.
DICE_TOLERANCE = 0.005
#: Epochs of the demo-sized Box2Mask trained when no checkpoint is given (128 samples each, batches of 32).
TRAIN_EPOCHS = 150
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _only_in_the_perf_suite(request: pytest.FixtureRequest) -> None:
    if not request.config.getoption("benchmark_enable", default=False):
        pytest.skip("performance suite: run with `nox -s perf` (pytest --benchmark-enable)")


def _demo_split() -> tuple[list[TrainingCase], list[TrainingCase]]:
    from benchmark.data.cards import load_card
    from benchmark.demo.collection import DEMO_DATASETS, demo_cases
    from benchmark.splits import Subset, make_split
    from propsam.training.data import TrainingCase

    cards = {card.id: card for card in (load_card(p) for p in sorted((REPO / "datasets" / "demo").glob("*.toml")))}
    train: list[TrainingCase] = []
    val: list[TrainingCase] = []
    for dataset in DEMO_DATASETS:
        cases, _ = demo_cases(dataset)
        split = make_split(cards[dataset.id], [c.case_id for c in cases], seed=0)
        for case in cases:
            phantom = case.phantom
            item = TrainingCase(f"{dataset.id}/{case.case_id}", np.asarray(phantom.channels[0], dtype=np.float32),
                                {k: np.asarray(v) for k, v in phantom.masks.items()}, tuple(phantom.spacing))
            (val if split.assignments[case.case_id] is Subset.VAL else train).append(item)
    return train, val


def _box2mask(train: list[TrainingCase], val: list[TrainingCase], out: Path) -> Box2Mask:
    from propsam.checkpoint import load_checkpoint
    from propsam.training.demo import DEMO_BOX2MASK
    from propsam.training.loop import train_box2mask
    from propsam.training.options import TrainOptions
    from propsam.training.samples import SampleSettings

    given = os.environ.get("PROPSAM_BOX2MASK_CHECKPOINT")
    if given:
        return load_checkpoint(given, kind="box2mask").network.eval()  # type: ignore[return-value]
    options = TrainOptions(epochs=TRAIN_EPOCHS, samples_per_epoch=128, batch_size=32, val_every=TRAIN_EPOCHS,
                           val_samples=64, samples=SampleSettings(min_area=5, balance_objects=True))
    result = train_box2mask(train, val, DEMO_BOX2MASK, options, out)
    return load_checkpoint(result.checkpoint, kind="box2mask").network.eval()  # type: ignore[return-value]


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum() + b.sum())
    return 1.0 if total == 0 else 2.0 * float((a & b).sum()) / total


def test_fast_search_speed_against_exhaustive(perf: PerfRecorder) -> None:
    scene: Scene = _scene()
    network = CostlyThresholdBox2Mask(SMALL_BOX2MASK)
    runtime = Runtime.create("cpu")
    image = scene.volume[:, :, scene.slice_index]
    fast, exhaustive = (BoxPromptSettings(strategy=s) for s in (SearchStrategy.COARSE, SearchStrategy.EXHAUSTIVE))
    perf.benchmark.group = "Box2Mask normalisation search: fast against exhaustive"

    timing = perf.side_by_side(lambda: segment_box(network, image, scene.box, runtime, fast),
                               lambda: segment_box(network, image, scene.box, runtime, exhaustive), rounds=3)

    perf.info(what="box stage (search, final prediction, paste-back), small Box2Mask: coarse 24 candidates "
                   "(subject) vs exhaustive 396 (baseline)", fast_s=timing.subject_median_s,
              exhaustive_s=timing.baseline_median_s, speedup=1.0 / timing.ratio, **_machine())
    perf.target("fast_over_exhaustive", timing.ratio, FAST_OVER_EXHAUSTIVE_TARGET,
                "fast over exhaustive box-stage time (at least 5x faster)")


def test_fast_search_dice_on_demo_validation_cases(perf: PerfRecorder, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    train, val = _demo_split()
    network = _box2mask(train, val, tmp_path / "box2mask")
    runtime = Runtime.create("cpu")
    settings = {s: BoxPromptSettings(strategy=s) for s in (SearchStrategy.COARSE, SearchStrategy.EXHAUSTIVE)}
    dice: dict[SearchStrategy, list[float]] = {s: [] for s in settings}
    seconds = dict.fromkeys(settings, 0.0)
    perf.benchmark.group = "Box2Mask normalisation search: Dice on demo validation cases"

    def measure() -> None:
        for case in val:
            for mask in case.masks.values():
                zs = np.nonzero(mask.any(axis=(0, 1)))[0]
                truth = mask[:, :, int(np.median(zs))] if zs.size else None
                if truth is None or truth.sum() < 5:
                    continue
                for strategy, s in settings.items():
                    start = time.perf_counter()
                    result = segment_box(network, case.image[:, :, int(np.median(zs))], mask_box(truth),  # type: ignore[arg-type]
                                         runtime, s)
                    seconds[strategy] += time.perf_counter() - start
                    dice[strategy].append(_dice(result.mask, truth))

    perf.run(measure, rounds=1)
    fast, exhaustive = (float(np.mean(dice[s])) for s in (SearchStrategy.COARSE, SearchStrategy.EXHAUSTIVE))
    perf.info(what="box-prompt 2D Dice, demo validation cases (middle slice of each object)", boxes=len(dice[
        SearchStrategy.EXHAUSTIVE]), fast_dice=round(fast, 4), exhaustive_dice=round(exhaustive, 4),
        fast_s=round(seconds[SearchStrategy.COARSE], 2), exhaustive_s=round(seconds[SearchStrategy.EXHAUSTIVE], 2))
    perf.target("dice_loss_of_fast_search", exhaustive - fast, DICE_TOLERANCE,
                "exhaustive minus fast mean Dice on the demo validation cases")
    assert len(dice[SearchStrategy.EXHAUSTIVE]) >= len(val)
