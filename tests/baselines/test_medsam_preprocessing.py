from __future__ import annotations

import numpy as np
import pytest

from baselines.medsam_preprocessing import (
    INPUT_SIZE,
    box_from_1024,
    box_to_1024,
    case_box,
    case_view,
    intensity_mapping,
    propagation_box_1024,
    slice_view,
    view_box,
)

torch = pytest.importorskip("torch")

from baselines.medsam_preprocessing import images_1024, masks_from_logits  # noqa: E402


def _box_mask(shape_xy: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros(shape_xy, bool)
    mask[box[0]:box[2], box[1]:box[3]] = True
    return mask


def _bbox(mask_hw: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask_hw)
    return int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max())


def test_ct_window_clips_then_scales_the_volume_to_uint8() -> None:
    volume = np.array([-1000.0, -160.0, 40.0, 240.0, 3000.0])
    mapping = intensity_mapping(volume, (40.0, 400.0))
    assert (mapping.low, mapping.high) == (-160.0, 240.0)
    assert mapping.apply(volume).tolist() == [0, 0, 127, 255, 255]  # 127.5 truncates, as np.uint8 does
    narrow = np.array([0.0, 10.0, 20.0])  # inside the window: MedSAM scales by the clipped volume's own range
    assert intensity_mapping(narrow, (40.0, 400.0)).apply(narrow).tolist() == [0, 127, 255]
    flat = np.full(4, 100.0)
    assert intensity_mapping(flat, (40.0, 400.0)).apply(flat).tolist() == [0, 0, 0, 0]


def test_mr_rule_uses_percentiles_of_positive_voxels_and_keeps_zeros() -> None:
    rng = np.random.default_rng(0)
    volume = np.concatenate([np.zeros(500), rng.uniform(1.0, 100.0, 10_000), [5000.0]])
    mapping = intensity_mapping(volume, None)
    low, high = np.percentile(volume[volume > 0], [0.5, 99.5])
    assert mapping.low == pytest.approx(low) and mapping.high == pytest.approx(high)
    out = mapping.apply(volume)
    assert out.dtype == np.uint8 and (out[:500] == 0).all() and out[-1] == 255
    with pytest.raises(ValueError, match="voxels above 0, but this volume .* has none"):
        intensity_mapping(-np.ones(10), None)


def test_slice_view_is_radiological_and_invertible() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        size_x, size_y = (int(v) for v in rng.integers(2, 40, 2))
        slice_xy = rng.random((size_x, size_y))
        image = slice_view(slice_xy)
        assert image.shape == (size_y, size_x)
        # anterior (high y) at the top row, the patient's right (high x) in the left column
        assert image[0, 0] == slice_xy[-1, -1] and image[-1, -1] == slice_xy[0, 0]
        assert np.array_equal(case_view(image), slice_xy)


def test_a_box_whose_mask_is_known_maps_to_1024_and_back_exactly() -> None:
    rng = np.random.default_rng(2)
    for _ in range(200):
        size_x, size_y = (int(v) for v in rng.integers(1, 700, 2))
        x0, x1 = sorted(int(v) for v in rng.choice(size_x + 1, 2, replace=False)) if size_x > 1 else (0, 1)
        y0, y1 = sorted(int(v) for v in rng.choice(size_y + 1, 2, replace=False)) if size_y > 1 else (0, 1)
        box = (x0, y0, x1, y1)
        medsam = view_box(box, (size_x, size_y))
        assert medsam == _bbox(slice_view(_box_mask((size_x, size_y), box)))  # MedSAM's get_bbox of the mask
        assert case_box(medsam, (size_x, size_y)) == box
        scaled = box_to_1024(medsam, size_y, size_x)
        assert (scaled >= 0).all() and (scaled <= INPUT_SIZE).all()
        assert box_from_1024(scaled, size_y, size_x) == medsam


def test_the_1024_image_and_the_1024_box_agree() -> None:
    # A non-square slice with a bright block: in the encoder's input the block sits where the scaled box says.
    size_x, size_y, box = 60, 40, (12, 5, 30, 22)
    slice_xy = np.where(_box_mask((size_x, size_y), box), 200, 20).astype(np.uint8)
    image = images_1024(torch.from_numpy(slice_view(slice_xy))[None])
    assert image.shape == (1, 3, INPUT_SIZE, INPUT_SIZE) and float(image.min()) == 0.0 and float(image.max()) == 1.0
    assert torch.equal(image[0, 0], image[0, 2])
    bright = (image[0, 0] > 0.5).numpy()
    expected = box_to_1024(view_box(box, (size_x, size_y)), size_y, size_x)
    # the box's inclusive maximum pixel ends one pixel (1024 / n) further in the resized image
    found = np.array(_bbox(bright), float) + np.array([0, 0, 1, 1])
    pixel = np.array([INPUT_SIZE / size_x, INPUT_SIZE / size_y] * 2)
    assert np.all(np.abs(found - (expected + np.array([0, 0, 1, 1]) * pixel)) <= 2), (found, expected)


def test_decoder_logits_map_back_onto_the_slice() -> None:
    # Logits positive exactly on the box at 256 scale give back the box on the slice (bilinear, threshold 0.5).
    size_x, size_y, box = 64, 48, (16, 12, 40, 30)
    medsam = box_to_1024(view_box(box, (size_x, size_y)), size_y, size_x) / 4.0
    logits = torch.full((1, 256, 256), -20.0)
    logits[0, int(round(medsam[1])):int(round(medsam[3] + 256 / size_y)),
           int(round(medsam[0])):int(round(medsam[2] + 256 / size_x))] = 20.0
    mask = case_view(masks_from_logits(logits, size_y, size_x)[0].numpy())
    assert mask.shape == (size_x, size_y)
    assert np.array_equal(mask, _box_mask((size_x, size_y), box))


def test_the_decoder_threshold_is_one_half_after_bilinear_upsampling() -> None:
    logits = torch.tensor([[-0.2, 0.2], [-0.2, 0.2]]).reshape(1, 2, 2).repeat_interleave(128, 1)
    logits = logits.repeat_interleave(128, 2)  # (1, 256, 256): sigmoid 0.45 left, 0.55 right
    mask = masks_from_logits(logits, 10, 30)[0]
    assert not mask[:, :15].any() and mask[:, 15:].all()


def _nearest_1024(mask_hw: np.ndarray) -> np.ndarray:
    """cv2.resize(mask, (1024, 1024), interpolation=cv2.INTER_NEAREST), written out."""
    rows = (np.arange(INPUT_SIZE) * mask_hw.shape[0]) // INPUT_SIZE
    cols = (np.arange(INPUT_SIZE) * mask_hw.shape[1]) // INPUT_SIZE
    return mask_hw[np.ix_(rows, cols)]


def test_propagation_box_is_medsams_get_bbox_of_the_resized_mask() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        height, width = (int(v) for v in rng.integers(3, 1500, 2))
        mask = np.zeros((height, width), bool)
        for _ in range(2):  # two blocks: the mask's box is not the box of its row and column extents
            r0, c0 = int(rng.integers(0, height)), int(rng.integers(0, width))
            mask[r0:r0 + int(rng.integers(1, 30)), c0:c0 + int(rng.integers(1, 30))] = True
        resized = _nearest_1024(mask)
        box = propagation_box_1024(mask)
        if not resized.any():  # a sliver lost in downsampling: MedSAM would fall back to the previous box too
            assert box is None
            continue
        x_min, y_min, x_max, y_max = _bbox(resized)
        assert box is not None and box.tolist() == [max(0, x_min - 5), max(0, y_min - 5),
                                                    min(INPUT_SIZE, x_max + 5), min(INPUT_SIZE, y_max + 5)]
    assert propagation_box_1024(np.zeros((20, 30), bool)) is None
    full = propagation_box_1024(np.ones((20, 30), bool))
    assert full is not None and full.tolist() == [0, 0, INPUT_SIZE, INPUT_SIZE]
