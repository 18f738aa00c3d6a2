"""Fixtures of the training tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from propsam.training import TrainingCase
from tests.propsam.training.phantoms import phantom_case


@pytest.fixture()
def phantom_cases() -> list[TrainingCase]:
    """Four phantom cases (X, Y, Z) = (40, 40, 16), spacing (1, 1, 2.5) mm."""
    return [phantom_case(seed) for seed in range(4)]


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny networks train faster on one thread, above all on a shared 2-core machine (no OpenMP barriers)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
