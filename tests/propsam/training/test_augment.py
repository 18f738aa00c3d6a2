"""Tests of propsam.training.augment: seeding, probabilities, fills and task alignment."""

from __future__ import annotations

import numpy as np
import pytest

from propsam.training import AugmentSettings
from propsam.training.augment import NO_AUGMENTATION, augment_box2mask, augment_task


def _sample() -> tuple[np.ndarray, np.ndarray]:
    mask = np.zeros((32, 32), dtype=bool)
    mask[4:12, 6:20] = True
    image = np.where(mask, 0.8, -0.5).astype(np.float32)
    return image, mask


def test_same_seed_same_result() -> None:
    image, mask = _sample()
    a = augment_box2mask(image, mask, np.random.default_rng(5), AugmentSettings())
    b = augment_box2mask(image, mask, np.random.default_rng(5), AugmentSettings())
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_no_augmentation_is_the_identity() -> None:
    image, mask = _sample()
    out_image, out_mask = augment_box2mask(image, mask, np.random.default_rng(0), NO_AUGMENTATION)
    assert np.array_equal(out_image, image) and np.array_equal(out_mask, mask)


def test_flips_only_keep_area_and_values() -> None:
    image, mask = _sample()
    settings = AugmentSettings(p_flip=1.0, p_intensity=0.0, p_rotate=0.0)
    out_image, out_mask = augment_box2mask(image, mask, np.random.default_rng(0), settings)
    assert np.array_equal(out_mask, mask[::-1, ::-1]) and np.array_equal(out_image, image[::-1, ::-1])


def test_rotation_fills_with_minus_one_and_keeps_the_mask_binary() -> None:
    image, mask = _sample()
    settings = AugmentSettings(p_flip=0.0, p_intensity=0.0, p_rotate=1.0, max_rotation_deg=45.0)
    rotated = [augment_box2mask(image + 1.0, mask, np.random.default_rng(s), settings) for s in range(8)]
    assert any((img == -1.0).any() for img, _ in rotated)  # corners rotated in from outside
    assert all(m.dtype == bool and abs(int(m.sum()) - int(mask.sum())) < 0.2 * mask.sum() for _, m in rotated)


def test_brightness_and_contrast_stay_within_range() -> None:
    image, mask = _sample()
    settings = AugmentSettings(p_flip=0.0, p_intensity=1.0, p_rotate=0.0)
    for seed in range(10):
        out, _ = augment_box2mask(image, mask, np.random.default_rng(seed), settings)
        # (1 + c) x + b with |c|, |b| <= 0.2, clipped to [-1, 1]
        assert out.min() >= -1.0 and out.max() <= 1.0
        assert abs(float(out[0, 0]) - (-0.5)) <= 0.5 * 0.2 + 0.2 + 1e-6


def test_task_augmentation_moves_guide_and_targets_together() -> None:
    image, mask = _sample()
    images, masks = np.stack([image] * 5), np.stack([mask] * 5)
    for seed in range(6):
        out_images, out_masks = augment_task(images, masks, np.random.default_rng(seed), AugmentSettings())
        assert out_images.shape == (5, 32, 32) and out_masks.dtype == bool
        assert all(np.array_equal(out_masks[0], m) for m in out_masks[1:])


def test_bad_probability() -> None:
    with pytest.raises(ValueError, match=r"AugmentSettings.p_rotate must be a probability in \[0, 1\], got 1.5"):
        AugmentSettings(p_rotate=1.5)
