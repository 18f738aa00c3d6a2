from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmark.runner.timing import MEMORY_METHOD

# In a fresh process: other tests' threads and caches would move the process's memory between the two calls.
_SCRIPT = """
import json
import numpy as np
from benchmark.runner.timing import timed_call

def allocate(megabytes):
    return int(np.ones(megabytes * 2**20 // 8).size)

size, big = timed_call(allocate, 300)
_, small = timed_call(allocate, 10)
print(json.dumps([size, big.seconds, big.peak_rss_mb, big.peak_gpu_mb, small.peak_rss_mb]))
"""


def test_time_and_peak_memory_of_one_call() -> None:
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True).stdout
    size, seconds, big_mb, gpu_mb, small_mb = json.loads(out)
    assert size == 300 * 2**20 // 8 and seconds > 0 and gpu_mb is None and big_mb > 300
    if MEMORY_METHOD != "per-call":
        pytest.skip("this kernel cannot reset the peak; only the lifetime peak is measured")
    assert small_mb < big_mb - 200  # the high-water mark was reset between the calls
