"""Box2Mask inference: candidate grids, the normalisation search, batching, aggregation, paste-back."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from propsam.inference.box_prompt import (
    COARSE_GRID,
    EXHAUSTIVE_GRID,
    BoxPromptSettings,
    CandidateAggregation,
    PercentileGrid,
    SearchStrategy,
    search_grid,
    search_intensity_window,
    segment_box,
)
from propsam.inference.runtime import Runtime
from propsam.preprocessing import box_window, crop_resize
from tests.propsam.inference.fakes import (
    ConstantBox2Mask,
    ThresholdBox2Mask,
    one_torch_thread,  # noqa: F401  (module fixture)
    random_networks,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = Runtime.create("cpu")
BOX = (6, 4, 32, 24)  # half-open (u0, v0, u1, v1) around the rectangle, with a dark margin


def _square_slice(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A (40, 30) dark slice (about 0) with a bright (14, 10) rectangle (about 100), and the rectangle's mask."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((40, 30), dtype=bool)
    truth[12:26, 8:18] = True
    return (rng.normal(0, 5, truth.shape) + 100 * truth).astype(np.float32), truth


def _roi(image: np.ndarray, size: int = 32) -> np.ndarray:
    return crop_resize(image, box_window(BOX), size=size)


def test_exhaustive_grid_is_the_papers_396_candidates() -> None:
    assert EXHAUSTIVE_GRID.low == tuple(float(p) for p in range(5, 41))  # 5th..40th, step 1: 36 values
    assert EXHAUSTIVE_GRID.high == tuple(90.0 + 0.5 * i for i in range(11))  # 90th..95th, step 0.5: 11 values
    assert EXHAUSTIVE_GRID.size == len(EXHAUSTIVE_GRID.pairs()) == 396
    assert search_grid("exhaustive") is EXHAUSTIVE_GRID


def test_coarse_grid_spans_the_same_range_with_24_candidates() -> None:
    assert COARSE_GRID.size == 24
    assert (min(COARSE_GRID.low), max(COARSE_GRID.low)) == (5.0, 40.0)
    assert (min(COARSE_GRID.high), max(COARSE_GRID.high)) == (90.0, 95.0)
    assert set(COARSE_GRID.pairs()) <= set(EXHAUSTIVE_GRID.pairs())
    assert search_grid(SearchStrategy.COARSE) is COARSE_GRID


def test_unknown_strategy_and_aggregation_are_named() -> None:
    with pytest.raises(ValueError, match="search: unknown search strategy 'fast'"):
        search_grid("fast")
    with pytest.raises(ValueError, match="aggregation: unknown candidate aggregation 'vote'"):
        BoxPromptSettings(aggregation="vote")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        BoxPromptSettings(batch_size=0)


def test_percentile_grid_rejects_overlapping_ranges() -> None:
    with pytest.raises(ValueError, match="PercentileGrid"):
        PercentileGrid(low=(5.0, 95.0), high=(90.0,))


@pytest.mark.parametrize(("batch_size", "calls"), [(32, math.ceil(396 / 32)), (396, 1), (100, 4)])
def test_search_predicts_every_candidate_in_batches(batch_size: int, calls: int) -> None:
    image, _ = _square_slice()
    net = ThresholdBox2Mask()
    search = search_intensity_window(net, _roi(image), CPU, settings=BoxPromptSettings(batch_size=batch_size))
    assert (net.calls, net.images) == (calls, 396)
    assert search.n_candidates == 396 and not search.fallback


def test_final_window_is_the_foreground_percentiles() -> None:
    # Every candidate window has v_min in the dark background, so the stub marks the bright rectangle: the final
    # window must be the 0.5 / 99.5 percentiles of the ROI pixels inside it.
    image, _ = _square_slice()
    roi = _roi(image)
    search = search_intensity_window(ThresholdBox2Mask(level=0.0), roi, CPU)
    bright = roi > 50
    assert search.n_foreground == int(bright.sum())
    expected = np.percentile(roi[bright], [0.5, 99.5])
    np.testing.assert_allclose(search.window, expected, rtol=1e-6)


def test_union_foreground_contains_mean_foreground() -> None:
    # A stub marking only the top of each window: windows disagree, so union >= mean.
    image, _ = _square_slice()
    roi = _roi(image)
    mean = search_intensity_window(ThresholdBox2Mask(level=0.999), roi, CPU,
                                   settings=BoxPromptSettings(aggregation=CandidateAggregation.MEAN))
    union = search_intensity_window(ThresholdBox2Mask(level=0.999), roi, CPU,
                                    settings=BoxPromptSettings(aggregation=CandidateAggregation.UNION))
    assert union.n_foreground > mean.n_foreground > 0


def test_no_candidate_foreground_falls_back_to_the_whole_roi() -> None:
    image, _ = _square_slice()
    roi = _roi(image)
    search = search_intensity_window(ConstantBox2Mask(-10.0), roi, CPU)
    assert search.fallback and search.n_foreground == 0
    np.testing.assert_allclose(search.window, np.percentile(roi, [0.5, 99.5]), rtol=1e-6)


def test_constant_roi_skips_empty_windows_and_widens_the_final_one() -> None:
    roi = np.full((32, 32), 7.0, dtype=np.float32)
    net = ThresholdBox2Mask()
    search = search_intensity_window(net, roi, CPU)
    assert net.calls == 0 and search.n_candidates == 0
    assert search.fallback and search.window == (7.0, 8.0)


@pytest.mark.parametrize(("strategy", "n"), [(SearchStrategy.EXHAUSTIVE, 396), (SearchStrategy.COARSE, 24)])
def test_segment_box_recovers_a_bright_rectangle(strategy: SearchStrategy, n: int) -> None:
    image, truth = _square_slice()
    net = ThresholdBox2Mask()
    result = segment_box(net, image, BOX, CPU, BoxPromptSettings(strategy=strategy))
    assert result.mask.shape == image.shape and result.mask.dtype == bool
    assert result.search.n_candidates == n and net.images == n + 1  # candidates, then the final prediction
    # The final window comes from the native rectangle pixels (tight, as in training), under which the stub loses
    # some of the rectangle's border pixels, blurred by the resize (and its darkest noise), never the background.
    assert not (result.mask & ~truth).any()
    assert result.mask[ndimage.binary_erosion(truth)].mean() > 0.98 and (result.mask == truth).mean() > 0.97
    assert result.search_seconds > 0 and result.final_seconds > 0


def test_segment_box_never_leaves_the_box() -> None:
    image, _ = _square_slice()
    result = segment_box(ConstantBox2Mask(10.0), image, (3, 5, 11, 9), CPU)
    expected = np.zeros(image.shape, dtype=bool)
    expected[3:11, 5:9] = True
    np.testing.assert_array_equal(result.mask, expected)


def test_segment_box_with_a_random_network_gives_a_slice_mask() -> None:
    box2mask, _ = random_networks(seed=1)
    image, _ = _square_slice()
    torch.manual_seed(0)
    result = segment_box(box2mask, image, BOX, CPU, BoxPromptSettings(strategy="coarse"))  # type: ignore[arg-type]
    assert result.mask.shape == (40, 30) and result.mask.dtype == bool
    assert not result.mask[:BOX[0]].any() and not result.mask[BOX[2]:].any()
