"""PropSAM inference performance: per-volume time, the normalisation search alone, peak memory (``nox -s perf``).

Skipped unless pytest runs with ``--benchmark-enable`` (as ``nox -s perf`` does) or with a ``-m`` expression naming
``perf``. The volume is CT-like, 128 x 128 x 64 at 3 x 3 x 2.5 mm, with a liver-sized ellipsoid (150 x 120 x 140 mm).

The networks are the real Box2Mask and PropMask of each configuration, run at full cost on every batch, but their
answer is replaced by a threshold rule that follows the bright liver (see tests/propsam/inference/fakes.py): random
weights would stop propagation at once or run it to the volume edges, so the work would not be that of segmenting a
liver. Paper-size cases are limited to one round of 4 slices per side and the coarse search (the exhaustive
paper-size search is about 45 s per box on 2 free cores, docs/environment-facts); small cases run the whole object.

Each case records in ``extra_info``: stage seconds from the trace, rounds, slices segmented, Dice against the liver,
the peak resident-memory increase over the call (sampled from /proc every 2 ms) and the peak of numpy/Python
allocations (tracemalloc; torch's CPU allocator is not traced by it).
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from propsam.config import PAPER_BOX2MASK, PAPER_PROPMASK, SMALL_BOX2MASK, SMALL_PROPMASK
from propsam.inference.box_prompt import BoxPromptSettings, SearchStrategy, search_grid, search_intensity_window
from propsam.inference.predictor import PropSAMPredictor, SegmentationResult
from propsam.inference.runtime import Runtime
from propsam.preprocessing import box_window, crop_resize
from tests.propsam.inference.fakes import CostlyThresholdBox2Mask, CostlyThresholdPropMask, ct_like_volume, dice

CONFIGS = {"small": (SMALL_BOX2MASK, SMALL_PROPMASK), "paper": (PAPER_BOX2MASK, PAPER_PROPMASK)}
#: Paper-size cases: one round, 4 slices per side, so each stays within tens of seconds on 2 shared cores.
PAPER_LIMITS = {"max_rounds": 1, "max_slices": 4}


@pytest.fixture(autouse=True)
def _only_in_the_perf_suite(request: pytest.FixtureRequest) -> None:
    enabled = bool(request.config.getoption("benchmark_enable", default=False))
    selected = "perf" in (request.config.getoption("markexpr", default="") or "")
    if not (enabled or selected):
        pytest.skip("performance suite: run with `nox -s perf` (pytest --benchmark-enable)")


@dataclass(frozen=True)
class Scene:
    volume: np.ndarray
    liver: np.ndarray
    spacing: tuple[float, float, float]
    slice_index: int
    box: tuple[int, int, int, int]


@pytest.fixture(scope="module")
def scene() -> Scene:
    volume, liver, spacing = ct_like_volume((128, 128, 64), (3.0, 3.0, 2.5))
    k = int(np.nonzero(liver.any(axis=(0, 1)))[0].mean())
    us, vs = np.nonzero(liver[:, :, k])
    return Scene(volume, liver, spacing, k, (int(us.min()), int(vs.min()), int(us.max()) + 1, int(vs.max()) + 1))


class _PeakRSS:
    """Peak resident set size (bytes) over a block, sampled from /proc/self/statm."""

    def __init__(self, interval_s: float = 0.002) -> None:
        self.interval_s, self.peak, self._stop = interval_s, 0, threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm") as handle:
                return int(handle.read().split()[1]) * self._page
        except OSError:  # not Linux: no sampling
            return 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval_s)

    def measure(self, fn: Callable[[], object]) -> tuple[object, int]:
        base = self._rss()
        self.peak = base
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        try:
            out = fn()
        finally:
            self._stop.set()
            thread.join()
            self._stop.clear()
        return out, max(0, self.peak - base)


def _measured(benchmark: Any, fn: Callable[[], Any], rounds: int) -> Any:
    """Benchmark ``fn`` for ``rounds``, then run it once more under the memory probes; returns that last output."""
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)
    tracemalloc.start()
    try:
        out, rss = _PeakRSS().measure(fn)
        _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    import torch

    # CPU timings depend heavily on oversubscription (torch's threads spin when other processes hold the cores).
    benchmark.extra_info["torch_threads"] = torch.get_num_threads()
    benchmark.extra_info["load_average_1min"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    benchmark.extra_info["peak_rss_increase_mb"] = round(rss / 2**20, 1)
    benchmark.extra_info["tracemalloc_peak_mb"] = round(traced_peak / 2**20, 1)
    return out


def _record(benchmark: Any, result: SegmentationResult, liver: np.ndarray) -> None:
    trace, info = result.trace, benchmark.extra_info
    info.update(rounds=trace.rounds, slices=len(trace.forward.segmented) + len(trace.backward.segmented) + 1,
                dice=round(dice(result.mask, liver), 4), box2mask_s=round(trace.seconds.box2mask, 3),
                search_s=round(trace.seconds.search, 3), propmask_network_s=round(trace.seconds.network, 3),
                preprocessing_s=round(trace.seconds.preprocessing, 3),
                postprocessing_s=round(trace.seconds.postprocessing, 3))


def _predictor(size: str, search: SearchStrategy = SearchStrategy.COARSE) -> PropSAMPredictor:
    box_config, prop_config = CONFIGS[size]
    limits = PAPER_LIMITS if size == "paper" else {}
    return PropSAMPredictor(CostlyThresholdBox2Mask(box_config), CostlyThresholdPropMask(prop_config),
                            search=search, **limits)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", ["small", "paper"])
def test_propsam_2dmask_per_volume(benchmark: Any, scene: Scene, size: str) -> None:
    predictor = _predictor(size)
    prompt = scene.liver[:, :, scene.slice_index]
    benchmark.group = "PropSAM-2DMask per volume"

    def run() -> SegmentationResult:
        return predictor.segment_from_mask(scene.volume, scene.spacing, "axial", scene.slice_index, prompt)

    result = _measured(benchmark, run, rounds=2 if size == "small" else 1)
    _record(benchmark, result, scene.liver)
    if size == "small":
        assert dice(result.mask, scene.liver) > 0.95


@pytest.mark.parametrize(("size", "search"), [("small", SearchStrategy.EXHAUSTIVE), ("small", SearchStrategy.COARSE),
                                              ("paper", SearchStrategy.COARSE)])
def test_propsam_2dbox_per_volume(benchmark: Any, scene: Scene, size: str, search: SearchStrategy) -> None:
    predictor = _predictor(size, search)
    benchmark.group = "PropSAM-2DBox per volume"

    def run() -> SegmentationResult:
        return predictor.segment_from_box(scene.volume, scene.spacing, "axial", scene.slice_index, scene.box)

    result = _measured(benchmark, run, rounds=2 if size == "small" else 1)
    _record(benchmark, result, scene.liver)
    if size == "small":
        assert dice(result.mask, scene.liver) > 0.85  # the stub's box stage is cruder than its propagation


@pytest.mark.parametrize("search", [SearchStrategy.EXHAUSTIVE, SearchStrategy.COARSE])
def test_normalisation_search_alone(benchmark: Any, scene: Scene, search: SearchStrategy) -> None:
    network = CostlyThresholdBox2Mask(SMALL_BOX2MASK)
    roi = crop_resize(scene.volume[:, :, scene.slice_index], box_window(scene.box), size=SMALL_BOX2MASK.input_size)
    runtime, settings = Runtime.create("cpu"), BoxPromptSettings(strategy=search)
    benchmark.group = "Box2Mask normalisation search (small config)"

    def run() -> object:
        return search_intensity_window(network, roi, runtime, settings=settings)

    found = _measured(benchmark, run, rounds=2)
    benchmark.extra_info.update(candidates=found.n_candidates, window=[round(v, 1) for v in found.window])
    assert found.n_candidates == search_grid(search).size
