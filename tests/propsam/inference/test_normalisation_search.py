"""The normalisation search takes its percentiles on the ROI's native pixels, not on the resized crop."""

from __future__ import annotations

import numpy as np
import pytest
from torch import Tensor

from propsam.inference.box_prompt import (
    EXHAUSTIVE_GRID,
    BoxPromptSettings,
    search_intensity_window,
    segment_box,
)
from propsam.inference.runtime import Runtime
from propsam.preprocessing import box_window, crop_resize, normalise, normalise_windows
from tests.propsam.inference.fakes import (
    ThresholdBox2Mask,
    one_torch_thread,  # noqa: F401  (module fixture)
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = Runtime.create("cpu")
BOX = (0, 0, 128, 128)  # half-open (u0, v0, u1, v1): the whole 128 x 128 slice, shrunk 2x to the stub's 64 x 64
SIZE = 64


class WindowRecorder(ThresholdBox2Mask):
    """The threshold stub, recording the extremes of every normalised candidate it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[np.ndarray] = []

    def forward(self, x: Tensor) -> list[Tensor]:
        self.inputs.append(x[:, 0].numpy().copy())
        return super().forward(x)


def _speckled_slice() -> np.ndarray:
    """(128, 128): a dark noisy background with bright one-pixel specks on 12 % of the pixels.

    Native, the specks put the 90th to 95th percentiles at their brightness (~1000); the 2x shrink blurs each speck
    into its neighbours, so on the resized crop those percentiles fall to a few hundred.
    """
    rng = np.random.default_rng(0)
    image = rng.normal(0.0, 10.0, (128, 128))
    specks = rng.random((128, 128)) < 0.12
    image[specks] = 1000.0 + rng.normal(0.0, 5.0, int(specks.sum()))
    return image.astype(np.float32)


def _native(image: np.ndarray) -> np.ndarray:
    u0, v0, u1, v1 = BOX
    return image[u0:u1, v0:v1]


def test_candidate_windows_are_percentiles_of_the_native_roi() -> None:
    image = _speckled_slice()
    net = WindowRecorder()
    result = segment_box(net, image, BOX, CPU, BoxPromptSettings(batch_size=396))
    roi = crop_resize(image, box_window(BOX), size=SIZE)
    native = _native(image)
    pairs = EXHAUSTIVE_GRID.pairs()
    expected_native = np.array([np.percentile(native, pair) for pair in pairs])  # (396, 2)
    resized = np.array([np.percentile(roi, pair) for pair in pairs])
    assert np.abs(expected_native[:, 1] - resized[:, 1]).min() > 100  # the two readings differ on every v_max
    candidates = net.inputs[0]  # (396, SIZE, SIZE): the first forward holds every candidate
    np.testing.assert_allclose(candidates, normalise_windows(roi, expected_native), atol=1e-6)
    assert result.search.n_candidates == 396


def test_final_window_is_the_native_foreground_percentiles() -> None:
    # A bright square whose native pixels alternate 400 / 600 (a checkerboard): the 2x shrink averages them to 500,
    # so only native pixels give the final window (400, 600); on the crop it is empty (500, 500) and falls back.
    image = np.random.default_rng(1).normal(0.0, 10.0, (128, 128)).astype(np.float32)
    checker = (np.indices((60, 60)).sum(axis=0) % 2).astype(np.float32)
    image[34:94, 30:90] = 400.0 + 200.0 * checker
    roi = crop_resize(image, box_window(BOX), size=SIZE)
    native = search_intensity_window(ThresholdBox2Mask(level=0.0), roi, CPU, native=_native(image))
    resized = search_intensity_window(ThresholdBox2Mask(level=0.0), roi, CPU)
    assert not native.fallback and native.window == pytest.approx((400.0, 600.0), abs=1e-3)
    assert resized.fallback and resized.window[1] == pytest.approx(500.0, abs=1e-3)


def test_without_native_pixels_the_roi_is_used() -> None:
    image = _speckled_slice()
    roi = crop_resize(image, box_window(BOX), size=SIZE)
    net = WindowRecorder()
    search_intensity_window(net, roi, CPU, settings=BoxPromptSettings(batch_size=396))
    windows = np.array([np.percentile(roi, pair) for pair in EXHAUSTIVE_GRID.pairs()])
    np.testing.assert_allclose(net.inputs[0], normalise_windows(roi, windows), atol=1e-6)


def test_normalise_windows_matches_normalise_row_by_row() -> None:
    x = np.linspace(-50, 150, 30, dtype=np.float32).reshape(5, 6)
    windows = np.array([(0.0, 100.0), (-20.5, 3.25), (90.0, 91.0)])
    batch = normalise_windows(x, windows)
    assert batch.shape == (3, 5, 6) and batch.dtype == np.float32
    for row, (lo, hi) in zip(batch, windows, strict=True):
        np.testing.assert_allclose(row, normalise(x, lo, hi), atol=1e-6)
    with pytest.raises(ValueError, match="v_max > v_min"):
        normalise_windows(x, np.array([(1.0, 1.0)]))
    with pytest.raises(ValueError, match=r"must be \(N, 2\)"):
        normalise_windows(x, np.zeros(3))


def test_native_roi_must_be_2d() -> None:
    with pytest.raises(ValueError, match="native must be a non-empty 2D ROI"):
        search_intensity_window(ThresholdBox2Mask(), np.zeros((SIZE, SIZE), np.float32), CPU,
                                native=np.zeros((0, 4), np.float32))

