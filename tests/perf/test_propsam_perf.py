"""PropSAM inference performance: per-volume time, the normalisation search alone, peak memory (``nox -s perf``).

Skipped unless pytest runs with ``--benchmark-enable`` (``nox -s perf``) or with a ``-m`` expression naming ``perf``
(tests/perf/conftest.py also skips the whole folder without ``--benchmark-enable``). The volume is CT-like,
128 x 128 x 64 voxels of 3 x 3 x 2.5 mm, with a liver-sized ellipsoid (150 x 120 x 140 mm).

The networks are the real Box2Mask and PropMask of each configuration, run at full cost on every batch, but their
answer is replaced by a threshold rule that follows the bright liver (tests/propsam/inference/fakes.py): random
weights would stop propagation at once or run it to the volume edges, so the work would not be that of segmenting a
liver. Paper-size cases are limited to one round of 4 slices per side and the coarse search (the exhaustive
paper-size search is about 45 s per box on 2 free cores, docs/environment-facts); small cases run the whole object.

Figures (``extra_info``, printed at the end of the session): stage seconds of the last round from the trace, rounds,
slices segmented, Dice against the liver, torch threads and the load average (timings on a shared machine depend on
both). Peak memory is measured in a fresh process per configuration: its peak resident set (VmHWM) over one 2D-box
segmentation, and the increase over the process before the call (interpreter, torch, networks and volume loaded).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from propsam.config import PAPER_BOX2MASK, PAPER_PROPMASK, SMALL_BOX2MASK, SMALL_PROPMASK
from propsam.inference.box_prompt import BoxPromptSettings, SearchStrategy, search_grid, search_intensity_window
from propsam.inference.predictor import PropSAMPredictor, SegmentationResult
from propsam.inference.runtime import Runtime
from propsam.preprocessing import box_window, crop_resize
from tests.propsam.inference.fakes import CostlyThresholdBox2Mask, CostlyThresholdPropMask, ct_like_volume, dice

if TYPE_CHECKING:
    from tests.perf.conftest import PerfRecorder

__all__: list[str] = []

CONFIGS = {"small": (SMALL_BOX2MASK, SMALL_PROPMASK), "paper": (PAPER_BOX2MASK, PAPER_PROPMASK)}
#: Paper-size cases: one round, 4 slices per side, so each stays within tens of seconds on 2 shared cores.
PAPER_LIMITS: dict[str, Any] = {"max_rounds": 1, "max_slices": 4}
#: The coarse search should cost about 24 / 396 of the exhaustive one (plus fixed costs).
COARSE_OVER_EXHAUSTIVE_TARGET = 0.15
#: Peak resident memory of one paper-size 2D-box segmentation process, MB (soft target).
PAPER_PEAK_RSS_TARGET_MB = 4096.0
REPO = Path(__file__).resolve().parents[2]


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


def _scene() -> Scene:
    volume, liver, spacing = ct_like_volume((128, 128, 64), (3.0, 3.0, 2.5))
    k = int(np.nonzero(liver.any(axis=(0, 1)))[0].mean())
    us, vs = np.nonzero(liver[:, :, k])
    return Scene(volume, liver, spacing, k, (int(us.min()), int(vs.min()), int(us.max()) + 1, int(vs.max()) + 1))


@pytest.fixture(scope="module")
def scene() -> Scene:
    return _scene()


def _predictor(size: str, search: SearchStrategy = SearchStrategy.COARSE) -> PropSAMPredictor:
    box_config, prop_config = CONFIGS[size]
    limits = PAPER_LIMITS if size == "paper" else {}
    return PropSAMPredictor(CostlyThresholdBox2Mask(box_config), CostlyThresholdPropMask(prop_config),
                            search=search, **limits)


def _machine() -> dict[str, Any]:
    import torch

    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    return {"torch_threads": torch.get_num_threads(), "load_average_1min": load}


def _run(perf: PerfRecorder, fn: Callable[[], SegmentationResult], rounds: int) -> SegmentationResult:
    results: list[SegmentationResult] = []
    perf.run(lambda: results.append(fn()), rounds=rounds)
    return results[-1]


def _figures(result: SegmentationResult, liver: np.ndarray) -> dict[str, Any]:
    trace = result.trace
    return dict(rounds=trace.rounds, slices=len(trace.forward.segmented) + len(trace.backward.segmented) + 1,
                dice=round(dice(result.mask, liver), 4), box2mask_s=trace.seconds.box2mask,
                search_s=trace.seconds.search, propmask_network_s=trace.seconds.network,
                preprocessing_s=trace.seconds.preprocessing, postprocessing_s=trace.seconds.postprocessing,
                **_machine())


@pytest.mark.parametrize("size", ["small", "paper"])
def test_propsam_2dmask_per_volume(perf: PerfRecorder, scene: Scene, size: str) -> None:
    predictor = _predictor(size)
    prompt = scene.liver[:, :, scene.slice_index]
    perf.benchmark.group = "PropSAM-2DMask per volume"

    result = _run(perf, lambda: predictor.segment_from_mask(scene.volume, scene.spacing, "axial", scene.slice_index,
                                                            prompt), rounds=2 if size == "small" else 1)

    perf.info(what=f"PropSAM-2DMask, {size} config, 128x128x64 CT-like volume, liver-sized object"
                   + (" (1 round, 4 slices per side)" if size == "paper" else ""), **_figures(result, scene.liver))
    if size == "small":
        assert dice(result.mask, scene.liver) > 0.95


@pytest.mark.parametrize(("size", "search"), [("small", SearchStrategy.EXHAUSTIVE), ("small", SearchStrategy.COARSE),
                                              ("paper", SearchStrategy.COARSE)])
def test_propsam_2dbox_per_volume(perf: PerfRecorder, scene: Scene, size: str, search: SearchStrategy) -> None:
    predictor = _predictor(size, search)
    perf.benchmark.group = "PropSAM-2DBox per volume"

    result = _run(perf, lambda: predictor.segment_from_box(scene.volume, scene.spacing, "axial", scene.slice_index,
                                                           scene.box), rounds=2 if size == "small" else 1)

    perf.info(what=f"PropSAM-2DBox, {size} config, {search.value} search, 128x128x64 CT-like volume, liver-sized "
                   "object" + (" (1 round, 4 slices per side)" if size == "paper" else ""),
              **_figures(result, scene.liver))
    if size == "small":
        assert dice(result.mask, scene.liver) > 0.85  # the stub's box stage is cruder than its propagation


def test_normalisation_search_coarse_against_exhaustive(perf: PerfRecorder, scene: Scene) -> None:
    network = CostlyThresholdBox2Mask(SMALL_BOX2MASK)
    roi = crop_resize(scene.volume[:, :, scene.slice_index], box_window(scene.box), size=SMALL_BOX2MASK.input_size)
    runtime = Runtime.create("cpu")
    coarse, exhaustive = (BoxPromptSettings(strategy=s) for s in (SearchStrategy.COARSE, SearchStrategy.EXHAUSTIVE))
    perf.benchmark.group = "Box2Mask normalisation search (small config)"

    timing = perf.side_by_side(lambda: search_intensity_window(network, roi, runtime, settings=coarse),
                               lambda: search_intensity_window(network, roi, runtime, settings=exhaustive), rounds=2)

    found = {s.strategy.value: search_intensity_window(network, roi, runtime, settings=s) for s in (coarse, exhaustive)}
    perf.info(what="normalisation search alone, small Box2Mask: coarse, 24 candidates (subject) vs exhaustive, 396 "
                   "(baseline)", coarse_s=timing.subject_median_s, exhaustive_s=timing.baseline_median_s,
              windows={name: [round(v, 1) for v in f.window] for name, f in found.items()}, **_machine())
    perf.target("coarse_over_exhaustive", timing.ratio, COARSE_OVER_EXHAUSTIVE_TARGET,
                "coarse over exhaustive normalisation-search time (ideal 24 / 396 = 0.061)")
    assert found["coarse"].n_candidates == search_grid("coarse").size == 24
    assert found["exhaustive"].n_candidates == search_grid("exhaustive").size == 396


_MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys, tracemalloc
    sys.path.insert(0, sys.argv[2])
    from tests.perf.test_propsam_perf import _predictor, _scene

    def high_water_mb():  # VmHWM: peak RSS of this process image (ru_maxrss would include the forking parent's)
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024

    scene, predictor = _scene(), _predictor(sys.argv[1])
    before = high_water_mb()
    tracemalloc.start()
    result = predictor.segment_from_box(scene.volume, scene.spacing, "axial", scene.slice_index, scene.box)
    traced = tracemalloc.get_traced_memory()[1]
    after = high_water_mb()
    print(json.dumps({"peak_rss_mb": after, "rss_before_call_mb": before, "increase_mb": after - before,
                      "tracemalloc_peak_mb": traced / 2**20, "seconds": result.seconds}))
""")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads VmHWM from /proc (Linux)")
@pytest.mark.parametrize("size", ["small", "paper"])
def test_peak_memory_of_a_box_segmentation(perf: PerfRecorder, size: str) -> None:
    outputs: list[dict[str, float]] = []

    def measure() -> None:
        done = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, size, str(REPO)], capture_output=True,
                              text=True, check=True, cwd=REPO, timeout=600)
        outputs.append(json.loads(done.stdout.strip().splitlines()[-1]))

    perf.benchmark.group = "Peak memory (fresh process per configuration)"
    perf.run(measure, rounds=1)

    figures = {key: round(value, 1) for key, value in outputs[-1].items()}
    perf.info(what=f"peak resident memory of a fresh process running one PropSAM-2DBox segmentation ({size} config,"
                   " coarse search; the timed figure includes interpreter and torch start-up)", **figures)
    if size == "paper":
        perf.target("paper_peak_rss_mb", figures["peak_rss_mb"], PAPER_PEAK_RSS_TARGET_MB,
                    "peak resident memory, MB, of a process segmenting one box with the paper-size networks")


#: Propagation engine overhead (crop, resize, normalise, paste-back, bookkeeping) over its PropMask forwards.
ENGINE_OVERHEAD_TARGET = 0.20


def test_propagation_engine_overhead(perf: PerfRecorder, scene: Scene) -> None:
    import time

    import torch

    from propsam.inference.propagation import propagate

    network = CostlyThresholdPropMask(SMALL_PROPMASK).eval()
    runtime = Runtime.create("cpu")
    prompt = scene.liver[:, :, scene.slice_index]
    runs: list[tuple[float, float]] = []  # (wall seconds of propagate, seconds in the network forwards)

    def segment() -> None:
        started = time.perf_counter()
        _, trace = propagate(network, scene.volume, scene.spacing, "axial", scene.slice_index, prompt, runtime)
        runs.append((time.perf_counter() - started, trace.seconds.network))

    perf.benchmark.group = "Propagation engine overhead (small PropMask)"
    with torch.inference_mode():
        perf.run(segment, rounds=3)

    ratios = sorted((wall - net) / net for wall, net in runs)
    wall, net = runs[-1]
    perf.info(what="propagate() on a 128x128x64 CT-like volume, small PropMask at full cost, liver prompt: wall time "
                   "minus the network forwards, over the forwards", wall_s=round(wall, 4), network_s=round(net, 4),
              ratios=[round(r, 4) for r in ratios], **_machine())
    perf.target("engine_overhead_over_forwards", ratios[len(ratios) // 2], ENGINE_OVERHEAD_TARGET,
                "propagation engine overhead over the PropMask forward time it makes (median of 3)")
