"""Stub networks and tiny volumes for PropSAM inference tests.

Stubs subclass the real networks (so configuration, device moves and type checks behave as in production) and
replace the learned mapping by a rule on the normalised input:

* :class:`ThresholdBox2Mask` / :class:`ThresholdPropMask`: foreground where the normalised target is above
  ``level`` (PropMask's default -0.999 keeps every pixel brighter than the guide's v_min; Box2Mask's default
  thresholds each ROI at its mean): "oracles" for bright objects on a dark background.
* :class:`ConstantBox2Mask` / :class:`ConstantPropMask`: the same logit everywhere (negative: predicts nothing;
  positive: predicts everything).
* :class:`OraclePropMask`: on an :func:`oracle_image` (the true mask as intensities 0 and 1) it returns the true
  mask of each target slice, cropped and resized exactly as the engine crops it.
* :class:`EchoPropMask`: returns the guide-mask crop it was given as the prediction of every target, so the whole
  loop (guide tensor, crop, paste-back, next guide) is exercised end to end.

Each stub counts its forward (Box2Mask) or decode (PropMask) calls and the images it saw.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import Tensor

from propsam.config import TINY_BOX2MASK, TINY_PROPMASK, Box2MaskConfig, PropMaskConfig
from propsam.networks import Box2Mask, PropMask

__all__ = [
    "ThresholdBox2Mask",
    "ThresholdPropMask",
    "ConstantBox2Mask",
    "ConstantPropMask",
    "CostlyThresholdBox2Mask",
    "CostlyThresholdPropMask",
    "OraclePropMask",
    "EchoPropMask",
    "oracle_image",
    "oblique_tube",
    "y_split",
    "cone",
    "cylinder",
    "recall",
    "random_networks",
    "ct_like_volume",
    "blob_volume",
    "dice",
    "one_torch_thread",
]

_STUB_BOX2MASK = Box2MaskConfig(channels=(2, 2), input_size=64, name="stub")
_STUB_PROPMASK = PropMaskConfig(channels=(2, 2), input_size=64, attention_stages=1, name="stub")


class _Counting:
    calls: int
    images: int

    def _count(self, n: int) -> None:
        self.calls += 1
        self.images += n


class ThresholdBox2Mask(Box2Mask, _Counting):
    """Box2Mask stub: logit +10 where the normalised ROI is above ``level``, -10 elsewhere.

    ``level=None`` thresholds each image at its own mean: a bright object on a dark background is found under any
    window that separates them (an oracle for the box stage).
    """

    def __init__(self, level: float | None = None, config: Box2MaskConfig = _STUB_BOX2MASK) -> None:
        super().__init__(config)
        self.level, self.calls, self.images = level, 0, 0

    def forward(self, x: Tensor) -> list[Tensor]:
        self._count(x.shape[0])
        image = x[:, :1]
        level = image.mean(dim=(2, 3), keepdim=True) if self.level is None else self.level
        return [torch.where(image > level, 10.0, -10.0)]


class ConstantBox2Mask(Box2Mask, _Counting):
    """Box2Mask stub returning one logit everywhere."""

    def __init__(self, logit: float = -10.0, config: Box2MaskConfig = _STUB_BOX2MASK) -> None:
        super().__init__(config)
        self.logit, self.calls, self.images = logit, 0, 0

    def forward(self, x: Tensor) -> list[Tensor]:
        self._count(x.shape[0])
        return [torch.full_like(x[:, :1], self.logit)]


class ThresholdPropMask(PropMask, _Counting):
    """PropMask stub: logit +10 where the normalised target is above ``level``, ignoring the guide."""

    def __init__(self, level: float = -0.999, config: PropMaskConfig = _STUB_PROPMASK) -> None:
        super().__init__(config)
        self.level, self.calls, self.images = level, 0, 0

    def decode(self, targets: Tensor, guide_features: list[Tensor], mask_features: list[Tensor]) -> list[Tensor]:
        self._count(targets.shape[0])
        return [torch.where(targets[:, :1] > self.level, 10.0, -10.0)]


class ConstantPropMask(PropMask, _Counting):
    """PropMask stub returning one logit everywhere (negative: the network predicts nothing)."""

    def __init__(self, logit: float = -10.0, config: PropMaskConfig = _STUB_PROPMASK) -> None:
        super().__init__(config)
        self.logit, self.calls, self.images, self.encodes = logit, 0, 0, 0

    def encode_guide(self, guide_image: Tensor, guide_mask: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        self.encodes += 1
        return super().encode_guide(guide_image, guide_mask)

    def decode(self, targets: Tensor, guide_features: list[Tensor], mask_features: list[Tensor]) -> list[Tensor]:
        self._count(targets.shape[0])
        return [torch.full_like(targets[:, :1], self.logit)]

    def forward(self, targets: Tensor, guide_image: Tensor, guide_mask: Tensor) -> list[Tensor]:
        return self.decode(targets, [], [])


class OraclePropMask(ThresholdPropMask):
    """PropMask stub that returns the truth on an :func:`oracle_image`: logit +10 where the normalised target > 0.

    The image is the true mask as 0 and 1, so the guide's intensity window is always (0, 1): a constant object falls
    back to the slice's percentiles, (0, 1), or (0, 0) widened to (0, 1). The normalised crop is then -1 outside the
    object and +1 inside, and the threshold at 0 (intensity 0.5 after bilinear resizing) is the true mask cropped and
    resized as the engine crops the target slice, whatever its crop window: a near-perfect network.
    """

    def __init__(self, config: PropMaskConfig = _STUB_PROPMASK) -> None:
        super().__init__(level=0.0, config=config)


class EchoPropMask(PropMask, _Counting):
    """PropMask stub that predicts, for every target, the guide-mask crop it was sent (logit +10 inside, -10 out).

    The mask travels through the guide encoding (its mask features are the mask itself), as a real network's would.
    """

    def __init__(self, config: PropMaskConfig = _STUB_PROPMASK) -> None:
        super().__init__(config)
        self.calls, self.images = 0, 0

    def encode_guide(self, guide_image: Tensor, guide_mask: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        return [guide_image], [guide_mask]

    def decode(self, targets: Tensor, guide_features: list[Tensor], mask_features: list[Tensor]) -> list[Tensor]:
        self._count(targets.shape[0])
        echo = torch.where(mask_features[0] > 0.5, 10.0, -10.0)
        return [echo.expand(targets.shape[0], -1, -1, -1)]


def oracle_image(truth: np.ndarray) -> np.ndarray:
    """The (X, Y, Z) float32 image of a true mask for :class:`OraclePropMask`: 1 inside, 0 outside."""
    return np.asarray(truth, dtype=np.float32)


def _disks(shape: tuple[int, int, int], centres: list[tuple[float, float, float, float]]) -> np.ndarray:
    """A mask that is, on each axial slice z, the union of disks (cx, cy, radius) listed for z as (z, cx, cy, r)."""
    mask = np.zeros(shape, dtype=bool)
    x, y = np.indices(shape[:2], dtype=np.float32) + 0.5
    for z, cx, cy, r in centres:
        mask[:, :, int(z)] |= (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    return mask


def oblique_tube(shape: tuple[int, int, int] = (64, 32, 64), first: int = 4, length: int = 55,
                 drift_px: float = 0.6, radius: float = 1.5) -> np.ndarray:
    """A 3 px wide tube along z (slices first .. first + length - 1) drifting ``drift_px`` along x per slice."""
    x0 = (shape[0] - drift_px * (length - 1)) / 2.0
    return _disks(shape, [(first + j, x0 + drift_px * j, shape[1] / 2.0, radius) for j in range(length)])


def y_split(shape: tuple[int, int, int] = (64, 32, 64), first: int = 4, fork: int = 24, last: int = 58,
            spread_px: float = 0.8, radius: float = 2.5) -> np.ndarray:
    """A stem along z from ``first`` to ``fork``, then two branches whose centres diverge by ``spread_px`` per slice
    each along x, up to ``last``."""
    cx, cy = shape[0] / 2.0, shape[1] / 2.0
    stem = [(z, cx, cy, radius) for z in range(first, fork + 1)]
    branches = [(z, cx + sign * spread_px * (z - fork), cy, radius) for z in range(fork + 1, last + 1)
                for sign in (-1, 1)]
    return _disks(shape, stem + branches)


def cone(shape: tuple[int, int, int] = (64, 64, 64), tip: int = 4, length: int = 55, slope_px: float = 0.4
         ) -> np.ndarray:
    """A cone along z with its tip (radius 1 px) at slice ``tip``, its radius growing ``slope_px`` per slice."""
    c = shape[0] / 2.0
    return _disks(shape, [(tip + j, c, c, 1.0 + slope_px * j) for j in range(length)])


def cylinder(shape: tuple[int, int, int] = (32, 32, 24), first: int = 4, last: int = 19, radius: float = 6.0
             ) -> np.ndarray:
    """A static cylinder along z (slices ``first`` .. ``last``) centred in the slice."""
    return _disks(shape, [(z, shape[0] / 2.0, shape[1] / 2.0, radius) for z in range(first, last + 1)])


def recall(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of the true voxels that are predicted."""
    return float((predicted & truth).sum()) / float(truth.sum())


def random_networks(seed: int = 0, box2mask: Box2MaskConfig = TINY_BOX2MASK,
                    propmask: PropMaskConfig = TINY_PROPMASK) -> tuple[Box2Mask, PropMask]:
    """Both networks with seeded random weights, in eval mode."""
    torch.manual_seed(seed)
    return Box2Mask(box2mask).eval(), PropMask(propmask).eval()


def blob_volume(shape: tuple[int, int, int] = (40, 36, 30), center: tuple[float, float, float] | None = None,
                radii: tuple[float, float, float] = (12.0, 10.0, 8.0), seed: int = 0, noise: float = 5.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """A dark volume (about 0) with a bright ellipsoid (about 100), float32 (X, Y, Z), and the ellipsoid's mask."""
    rng = np.random.default_rng(seed)
    center = center or tuple(s / 2.0 for s in shape)  # type: ignore[assignment]
    grid = np.indices(shape, dtype=np.float32)
    inside = sum(((grid[i] - center[i]) / radii[i]) ** 2 for i in range(3)) <= 1.0  # type: ignore[index]
    image = (rng.normal(0.0, noise, shape) + 100.0 * inside).astype(np.float32)
    return image, np.asarray(inside)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two boolean arrays (1.0 when both are empty)."""
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


class CostlyThresholdBox2Mask(ThresholdBox2Mask):
    """Runs the real Box2Mask of ``config`` (its full cost), then answers like :class:`ThresholdBox2Mask`.

    For performance tests: random weights would stop propagation at once or run it to the volume edges; this keeps
    the work that of a network following the object, at the real network's price.
    """

    def __init__(self, config: Box2MaskConfig, seed: int = 0) -> None:
        torch.manual_seed(seed)
        super().__init__(level=None, config=config)

    def forward(self, x: Tensor) -> list[Tensor]:
        Box2Mask.forward(self, x)
        return super().forward(x)


class CostlyThresholdPropMask(ThresholdPropMask):
    """Runs the real PropMask of ``config``, then answers like :class:`ThresholdPropMask` (see above)."""

    def __init__(self, config: PropMaskConfig, seed: int = 0) -> None:
        torch.manual_seed(seed)
        super().__init__(config=config)

    def decode(self, targets: Tensor, guide_features: list[Tensor], mask_features: list[Tensor]) -> list[Tensor]:
        PropMask.decode(self, targets, guide_features, mask_features)
        return super().decode(targets, guide_features, mask_features)


def ct_like_volume(shape: tuple[int, int, int] = (128, 128, 64), spacing: tuple[float, float, float] = (3.0, 3.0, 2.5),
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """A CT-like (X, Y, Z) volume in HU: air, a soft-tissue body, a bright spine and a liver-sized ellipsoid.

    The liver is 150 x 120 x 140 mm (radii 75, 60, 70 mm) at 110 HU (contrast-enhanced) in 30 HU tissue, the
    spine 700 HU, noise 12 HU.

    Returns:
        (image float32, liver mask bool, spacing in mm).
    """
    rng = np.random.default_rng(seed)
    grid = [np.arange(n, dtype=np.float32)[:, None, None] if i == 0 else
            np.arange(n, dtype=np.float32)[None, :, None] if i == 1 else np.arange(n, dtype=np.float32)[None, None, :]
            for i, n in enumerate(shape)]
    x_mm, y_mm, z_mm = (g * s for g, s in zip(grid, spacing, strict=True))
    cx, cy, cz = (n * s / 2.0 for n, s in zip(shape, spacing, strict=True))
    body = ((x_mm - cx) / 170.0) ** 2 + ((y_mm - cy) / 130.0) ** 2 <= 1.0
    spine = ((x_mm - cx) / 20.0) ** 2 + ((y_mm - cy - 105.0) / 20.0) ** 2 <= 1.0
    liver = ((x_mm - cx + 60.0) / 75.0) ** 2 + ((y_mm - cy + 10.0) / 60.0) ** 2 + ((z_mm - cz) / 70.0) ** 2 <= 1.0
    image = np.where(body, 30.0, -1000.0) + np.where(spine, 670.0, 0.0) + np.where(liver & body, 80.0, 0.0)
    image = image + rng.normal(0.0, 12.0, shape)
    return image.astype(np.float32), np.broadcast_to(liver & body, shape).copy(), spacing


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Run a test module's tiny networks on one torch thread (restored afterwards).

    Tiny networks gain nothing from more threads, and on a machine shared by several jobs torch's spinning threads
    make them many times slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
