from __future__ import annotations

import numpy as np
import pytest

from benchmark.runner.timing import MEMORY_METHOD, timed_call


def _allocate(megabytes: int) -> int:
    block = np.ones(megabytes * 2**20 // 8)
    return int(block.size)


def test_time_and_peak_memory_of_one_call() -> None:
    size, big = timed_call(_allocate, 300)
    assert size == 300 * 2**20 // 8 and big.seconds > 0 and big.peak_gpu_mb is None
    _, small = timed_call(_allocate, 10)
    assert big.peak_rss_mb > 300
    if MEMORY_METHOD != "per-call":
        pytest.skip("this kernel cannot reset the peak; only the lifetime peak is measured")
    assert small.peak_rss_mb < big.peak_rss_mb - 200  # the high-water mark was reset between the calls
