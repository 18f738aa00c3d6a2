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
    roi = _roi(image)
    search = search_intensity_window(net, roi, CPU, settings=BoxPromptSettings(batch_size=batch_size))
    assert (net.calls, net.images) == (calls, 396)
    assert search.n_candidates == 396 and not search.fallback
    # Batching changes nothing (same result as one candidate per call), and the foreground is the bright rectangle
    # (dark ~0, bright ~100) with some of the edge pixels that resizing blended.
    assert search == search_intensity_window(ThresholdBox2Mask(), roi, CPU, settings=BoxPromptSettings(batch_size=1))
    assert int((roi > 50).sum()) <= search.n_foreground <= int((roi > 20).sum())
    assert 20 < search.window[0] < 50 and 100 < search.window[1] < 120


class _RecordingBox2Mask(ThresholdBox2Mask):
    """:class:`ThresholdBox2Mask` that keeps the normalised images it was given, (N, S, S) per call."""

    def __init__(self, level: float | None = None) -> None:
        super().__init__(level)
        self.seen: list[np.ndarray] = []

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        self.seen.append(x[:, 0].detach().numpy().copy())
        return super().forward(x)


def test_candidate_windows_are_the_rois_percentiles() -> None:
    # ROI intensities 0, 1, ..., 1023: the p-th percentile (linear interpolation) is p / 100 * 1023, e.g.
    # 5th: 51.15, 40th: 409.2, 90th: 920.7, 92.5th: 946.275, 95th: 971.85. Each candidate is recovered from the
    # normalised values of two pixels inside its window (500 and 900 lie inside every coarse window):
    # n(x) = 2 (x - v_min) / (v_max - v_min) - 1.
    roi = np.arange(1024, dtype=np.float32).reshape(32, 32)
    net = _RecordingBox2Mask()
    search_intensity_window(net, roi, CPU, settings=BoxPromptSettings(strategy=SearchStrategy.COARSE))
    seen = np.concatenate(net.seen)  # (24, 32, 32), low-major
    n500, n900 = seen[:, 500 // 32, 500 % 32], seen[:, 900 // 32, 900 % 32]
    span = 2.0 * 400.0 / (n900 - n500)  # v_max - v_min
    v_min = 500.0 - (n500 + 1.0) * span / 2.0
    recovered = np.stack([v_min, v_min + span], axis=1)
    low = [51.15, 102.3, 153.45, 204.6, 255.75, 306.9, 358.05, 409.2]
    high = [920.7, 946.275, 971.85]
    np.testing.assert_allclose(recovered, [(lo, hi) for lo in low for hi in high], atol=0.05)
    assert seen.min() == pytest.approx(-1.0) and seen.max() == pytest.approx(1.0)  # clipped outside each window


def test_final_window_is_the_foreground_percentiles() -> None:
    # 823 dark pixels (0 to 49) and 201 bright ones (1000, 1001, ..., 1200). Every candidate window runs from a dark
    # value (5th to 40th percentiles) to a bright one (90th percentile: sorted position 0.9 * 1023 = 920.7, bright
    # index 97.7, i.e. 1097.7), so its midpoint is below 600 and the stub (normalised > 0) marks exactly the bright
    # pixels. Their 0.5th percentile is 1000 + 0.005 * 200 = 1001, their 99.5th 1000 + 0.995 * 200 = 1199.
    values = np.concatenate([np.arange(823) % 50, 1000 + np.arange(201)]).astype(np.float32)
    roi = np.random.default_rng(0).permutation(values).reshape(32, 32)
    search = search_intensity_window(ThresholdBox2Mask(level=0.0), roi, CPU)
    assert search.n_foreground == 201 and not search.fallback
    np.testing.assert_allclose(search.window, (1001.0, 1199.0), rtol=1e-6)


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
    # ROI 0, 1, ..., 1023: 0.5th percentile 0.005 * 1023 = 5.115, 99.5th 0.995 * 1023 = 1017.885.
    roi = np.random.default_rng(0).permutation(1024).astype(np.float32).reshape(32, 32)
    search = search_intensity_window(ConstantBox2Mask(-10.0), roi, CPU)
    assert search.fallback and search.n_foreground == 0
    np.testing.assert_allclose(search.window, (5.115, 1017.885), rtol=1e-6)


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


@pytest.mark.parametrize("box", [(12, 6, 29, 23), (10, 4, 31, 25)])
def test_segment_box_around_a_bright_disk_returns_the_disk(box: tuple[int, int, int, int]) -> None:
    # A disk of radius 6 px centred at (20, 14) (113 pixels, about 100) on a dark slice (about 0, noise 5); the
    # oracle stub marks pixels above each ROI's mean, so crop, search, final prediction and paste-back together must
    # give back the disk and nothing else.
    u, v = np.meshgrid(np.arange(40), np.arange(30), indexing="ij")
    disk = (u - 20) ** 2 + (v - 14) ** 2 <= 36
    image = (np.random.default_rng(0).normal(0, 5, disk.shape) + 100 * disk).astype(np.float32)
    net = _RecordingBox2Mask()
    result = segment_box(net, image, box, CPU, BoxPromptSettings(strategy="coarse"))  # type: ignore[arg-type]
    assert int(disk.sum()) == 113
    # The final window is the foreground's percentiles on native pixels (about 88 to 110, as in training): the stub
    # then loses the disk's darkest noise and resize-blurred border pixels (12 or 13 of 113), never the background.
    assert not (result.mask & ~disk).any() and 100 <= int(result.mask.sum()) < 113
    assert (result.mask == disk).mean() > 0.985
    low, high = result.search.window
    assert not result.search.fallback and 80 < low < 95 and 100 < high < 120
    # The final prediction sees the ROI in the searched window: the background (over half the ROI, far below the
    # window's bottom) is clipped to -1; the whole ROI's window (about -10 to 108) would clip 0.5 % of it.
    final = net.seen[-1]
    assert final.shape == (1, 64, 64) and (final == -1.0).mean() > 0.5
