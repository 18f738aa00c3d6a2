"""Tests of propsam.training.batches: object-balanced drawing of the sample stream."""

from __future__ import annotations

from collections import Counter

import numpy as np

from propsam.config import NetworkKind
from propsam.inference.planes import Plane
from propsam.training import SampleSettings, TrainingCase
from propsam.training.augment import NO_AUGMENTATION
from propsam.training.batches import TRAIN_STREAM, SampleStream
from propsam.training.samples import build_index


def _two_objects() -> TrainingCase:
    """A large object on 20 axial slices and a small one on 2."""
    big = np.zeros((24, 24, 24), dtype=bool)
    big[2:20, 2:20, 2:22] = True
    small = np.zeros_like(big)
    small[21:24, 21:24, 10:12] = True
    image = np.random.default_rng(0).normal(0.0, 1.0, big.shape) + 5.0 * big + 9.0 * small
    return TrainingCase("two", image, {"big": big, "small": small}, (1.0, 1.0, 1.0))


def _drawn(balance: bool) -> Counter[str]:
    settings = SampleSettings(planes=(Plane.AXIAL,), min_area=4, balance_objects=balance)
    cases = [_two_objects()]
    stream = SampleStream(kind=NetworkKind.BOX2MASK, cases=cases, refs=build_index(cases, settings), size=16,
                          samples=settings, augment=NO_AUGMENTATION, seed=0, stream=TRAIN_STREAM, epoch=1, length=200)
    rng = np.random.default_rng(0)
    return Counter(stream._draw_ref(rng).object_name for _ in range(stream.length))


def test_balance_objects_draws_each_object_equally_often() -> None:
    plain, balanced = _drawn(False), _drawn(True)
    assert plain["small"] < 40  # 2 of 22 eligible slices
    assert 70 < balanced["small"] < 130
