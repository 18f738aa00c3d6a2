"""Online data augmentation (supplementary S1.3.2 step 3, S1.4.2 step 3), seeded by the caller's generator.

Box2Mask: a horizontal flip, a vertical flip, a brightness and contrast change (each offset drawn from
U(-0.2, 0.2)) and a rotation by U(-45, 45) degrees, each applied with probability 0.5; areas rotated in from outside
are filled with -1, the normalised minimum (the paper's "black"). On images normalised to [-1, 1],
contrast c and brightness b map x to clip((1 + c) x + b, -1, 1).

PropMask: flips and rotations only, one draw per task applied to the guide and all its targets alike, so they stay
aligned as adjacent slices are at inference.

The paper augments after cropping and before resizing; here the transforms act on the resized crop, which is
the same up to interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["AugmentSettings", "NO_AUGMENTATION", "augment_box2mask", "augment_task"]


@dataclass(frozen=True)
class AugmentSettings:
    """Probabilities and ranges; the paper's values are the defaults.

    Attributes:
        p_flip: Probability of each flip (along u and along v, drawn separately).
        p_intensity: Probability of the brightness/contrast change (Box2Mask only).
        brightness: Largest brightness offset.
        contrast: Largest relative contrast change.
        p_rotate: Probability of a rotation.
        max_rotation_deg: Largest rotation angle, degrees.
        fill: Value of areas rotated in from outside.
    """

    p_flip: float = 0.5
    p_intensity: float = 0.5
    brightness: float = 0.2
    contrast: float = 0.2
    p_rotate: float = 0.5
    max_rotation_deg: float = 45.0
    fill: float = -1.0

    def __post_init__(self) -> None:
        for name in ("p_flip", "p_intensity", "p_rotate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"AugmentSettings.{name} must be a probability in [0, 1], got {value}")


NO_AUGMENTATION = AugmentSettings(p_flip=0.0, p_intensity=0.0, p_rotate=0.0)


@dataclass(frozen=True)
class _Geometry:
    flip_u: bool
    flip_v: bool
    angle: float | None


def _draw_geometry(rng: np.random.Generator, settings: AugmentSettings) -> _Geometry:
    flip_u = bool(rng.random() < settings.p_flip)
    flip_v = bool(rng.random() < settings.p_flip)
    rotate = bool(rng.random() < settings.p_rotate)
    angle = float(rng.uniform(-settings.max_rotation_deg, settings.max_rotation_deg))
    return _Geometry(flip_u, flip_v, angle if rotate else None)


def _apply(stack: np.ndarray, geometry: _Geometry, *, is_mask: bool, fill: float) -> np.ndarray:
    """Apply one geometric draw to a stack (N, S, S)."""
    if geometry.flip_u:
        stack = stack[:, ::-1, :]
    if geometry.flip_v:
        stack = stack[:, :, ::-1]
    if geometry.angle is not None:
        values = stack.astype(np.float32)
        rotated = ndimage.rotate(values, geometry.angle, axes=(1, 2), reshape=False, order=1, mode="constant",
                                 cval=0.0 if is_mask else fill, prefilter=False)
        out: np.ndarray = rotated > 0.5 if is_mask else rotated.astype(np.float32)
        return out
    return np.ascontiguousarray(stack)


def augment_box2mask(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                     settings: AugmentSettings) -> tuple[np.ndarray, np.ndarray]:
    """Augment one Box2Mask sample: image (S, S) float32 in [-1, 1], mask (S, S) bool; returns the same shapes."""
    geometry = _draw_geometry(rng, settings)
    intensity = bool(rng.random() < settings.p_intensity)
    contrast = float(rng.uniform(-settings.contrast, settings.contrast))
    brightness = float(rng.uniform(-settings.brightness, settings.brightness))
    if intensity:
        image = np.clip((1.0 + contrast) * image + brightness, -1.0, 1.0).astype(np.float32)
    out_image = _apply(image[None], geometry, is_mask=False, fill=settings.fill)[0]
    out_mask = _apply(mask[None], geometry, is_mask=True, fill=0.0)[0]
    return out_image, out_mask


def augment_task(images: np.ndarray, masks: np.ndarray, rng: np.random.Generator,
                 settings: AugmentSettings) -> tuple[np.ndarray, np.ndarray]:
    """Augment one PropMask task with one draw: images (N, S, S) float32 and masks (N, S, S) bool (guide first)."""
    geometry = _draw_geometry(rng, settings)
    return (_apply(images, geometry, is_mask=False, fill=settings.fill),
            _apply(masks, geometry, is_mask=True, fill=0.0))
