"""MedSAM's own preprocessing and geometry, as pure functions: intensities, slice orientation, boxes, resizing.

What MedSAM does (bowang-lab/MedSAM: ``pre_CT_MR.py`` built its training data, ``MedSAM_Inference.py`` and
``extensions/seg_3dnii_sparse_marker/medsam_infer_3Dbox_adrenal.py`` run it), and what this module does the same way:

1. Intensities, over the whole volume: CT is clipped to a window (level 40, width 400 HU by default), any other
   modality to the 0.5 and 99.5 percentiles of its voxels above 0; then min-max scaled to 0-255 and truncated to
   uint8. (MedSAM also resets voxels that were 0 to 0 afterwards; they lie below the lower clip bound, which is
   positive, so they are 0 already.)
2. Each axial slice is shown to the network as MedSAM saw its training slices (SimpleITK arrays of scans stored in
   the usual LPS order): anterior at the top, the patient's right on the image's left. On the canonical RAS+ grid
   that is slice ``[:, :, k]`` flipped on both axes and transposed, so rows (height H) follow y and columns (width
   W) follow x.
3. Three equal channels; bicubic resize to 1024 x 1024 (Keys kernel a = -0.75, half-pixel centres: what
   ``cv2.INTER_CUBIC`` computes in MedSAM's 3D script), rounded and clipped to 0-255 as cv2 returns a uint8 input;
   min-max to [0, 1] per slice. The image encoder gets this directly (no ImageNet mean and std).
4. A box is ``[x_min, y_min, x_max, y_max]`` in slice pixels (x = column, y = row, maxima inclusive as MedSAM's
   ``get_bbox`` gives them), scaled to 1024 by ``box / [W, H, W, H] * 1024``.
5. The decoder's 256 x 256 logits: sigmoid, bilinear upsampling to (H, W) (align_corners=False), threshold 0.5.
6. Propagation's next box: the previous slice's mask resized to 1024 x 1024 by nearest neighbour (cv2.INTER_NEAREST:
   source index ``floor(dst * n / 1024)``), its bounding box widened by 5 pixels and clipped to [0, 1024].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["INPUT_SIZE", "DEFAULT_CT_WINDOW", "PROPAGATION_BOX_SHIFT", "IntensityMapping", "intensity_mapping",
           "slice_view", "case_view", "view_box", "case_box", "box_to_1024", "box_from_1024", "images_1024",
           "masks_from_logits", "propagation_box_1024"]

#: Side of the square image the SAM ViT-B encoder takes, in pixels.
INPUT_SIZE = 1024
#: MedSAM's CT window (level, width) in HU: the abdomen window of ``pre_CT_MR.py``.
DEFAULT_CT_WINDOW = (40.0, 400.0)
#: Pixels (at 1024 scale) by which propagation widens the previous mask's box (``get_bbox(..., bbox_shift=5)``).
PROPAGATION_BOX_SHIFT = 5


@dataclass(frozen=True)
class IntensityMapping:
    """Clip to [low, high], scale to 0-255, truncate to uint8.

    ``low`` and ``high`` are the minimum and maximum of the clipped volume (MedSAM scales by those).
    """

    low: float
    high: float

    def apply(self, values: np.ndarray) -> np.ndarray:
        """``values`` (any shape) as uint8; a constant volume (high == low) maps to 0."""
        clipped = np.clip(values.astype(np.float64), self.low, self.high)
        span = self.high - self.low
        scaled = (clipped - self.low) / span * 255.0 if span > 0 else np.zeros_like(clipped)
        return scaled.astype(np.uint8)


def intensity_mapping(volume: np.ndarray, ct_window: tuple[float, float] | None) -> IntensityMapping:
    """MedSAM's intensity mapping of ``volume``: the CT window ``(level, width)``, or (None) the MR rule.

    Raises:
        ValueError: The MR rule finds no voxel above 0.
    """
    if ct_window is not None:
        level, width = ct_window
        lower, upper = level - width / 2.0, level + width / 2.0
    else:
        positive = volume[volume > 0]
        if positive.size == 0:
            raise ValueError(f"MedSAM's MR intensity rule clips to percentiles of the voxels above 0, but this "
                             f"volume (range {float(volume.min())} to {float(volume.max())}) has none")
        lower, upper = (float(v) for v in np.percentile(positive, [0.5, 99.5]))
    low = min(max(lower, float(volume.min())), upper)
    high = max(min(upper, float(volume.max())), lower)
    return IntensityMapping(low, high)


def slice_view(slice_xy: np.ndarray) -> np.ndarray:
    """An axial slice ``[:, :, k]`` (X, Y) as MedSAM's (H, W) = (Y, X) image: ``img[r, c] = s[X-1-c, Y-1-r]``."""
    return np.ascontiguousarray(slice_xy[::-1, ::-1].T)


def case_view(image_hw: np.ndarray) -> np.ndarray:
    """The inverse of :func:`slice_view`: an (H, W) image back on the slice's (X, Y) grid."""
    return np.ascontiguousarray(image_hw.T[::-1, ::-1])


def view_box(box_xy: tuple[int, int, int, int], shape_xy: tuple[int, int]) -> tuple[int, int, int, int]:
    """A half-open transverse box (x0, y0, x1, y1) of the canonical grid as MedSAM's box in the slice view:
    (x_min, y_min, x_max, y_max), x = column, y = row, maxima inclusive."""
    x0, y0, x1, y1 = box_xy
    size_x, size_y = shape_xy
    return size_x - x1, size_y - y1, size_x - x0 - 1, size_y - y0 - 1


def case_box(box_view: tuple[int, int, int, int], shape_xy: tuple[int, int]) -> tuple[int, int, int, int]:
    """The inverse of :func:`view_box`."""
    x_min, y_min, x_max, y_max = box_view
    size_x, size_y = shape_xy
    return size_x - x_max - 1, size_y - y_max - 1, size_x - x_min, size_y - y_min


def box_to_1024(box_view: tuple[int, int, int, int] | np.ndarray, height: int, width: int) -> np.ndarray:
    """MedSAM's ``box / [W, H, W, H] * 1024`` (float64, shape (4,))."""
    scale = np.array([width, height, width, height], dtype=np.float64)
    return np.asarray(np.asarray(box_view, dtype=np.float64) / scale * INPUT_SIZE)


def box_from_1024(box: np.ndarray, height: int, width: int) -> tuple[int, int, int, int]:
    """The inverse of :func:`box_to_1024`, rounded to whole pixels."""
    back = np.rint(np.asarray(box, dtype=np.float64) * np.array([width, height, width, height]) / INPUT_SIZE)
    x_min, y_min, x_max, y_max = (int(v) for v in back)
    return x_min, y_min, x_max, y_max


def images_1024(slices: torch.Tensor) -> torch.Tensor:
    """(B, H, W) uint8 slice views -> (B, 3, 1024, 1024) float32 encoder input in [0, 1] (steps 3 of the module)."""
    import torch.nn.functional as F

    resized = F.interpolate(slices.float()[:, None], size=(INPUT_SIZE, INPUT_SIZE), mode="bicubic",
                            align_corners=False).round_().clamp_(0.0, 255.0)
    low = resized.amin(dim=(1, 2, 3), keepdim=True)
    high = resized.amax(dim=(1, 2, 3), keepdim=True)
    scaled = (resized - low) / (high - low).clamp(min=1e-8)
    return scaled.expand(-1, 3, -1, -1)


def masks_from_logits(low_res_logits: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, 256, 256) decoder logits -> (B, H, W) boolean masks (sigmoid, bilinear upsampling, > 0.5)."""
    import torch
    import torch.nn.functional as F

    probabilities = torch.sigmoid(low_res_logits.float())[:, None]
    upsampled = F.interpolate(probabilities, size=(height, width), mode="bilinear", align_corners=False)
    return upsampled[:, 0] > 0.5


def _nearest_sources(size: int) -> np.ndarray:
    """For each of the 1024 output indices, the source index cv2.INTER_NEAREST reads: floor(dst * size / 1024)."""
    return np.minimum((np.arange(INPUT_SIZE) * size) // INPUT_SIZE, size - 1)


def propagation_box_1024(mask_hw: np.ndarray, shift: int = PROPAGATION_BOX_SHIFT) -> np.ndarray | None:
    """The next slice's box at 1024 scale from the previous slice's (H, W) mask, or None when the mask is empty."""
    height, width = mask_hw.shape
    resized = mask_hw[np.ix_(_nearest_sources(height), _nearest_sources(width))]
    rows, cols = np.nonzero(resized)
    if rows.size == 0:
        return None
    x_min, x_max, y_min, y_max = int(cols.min()), int(cols.max()), int(rows.min()), int(rows.max())
    return np.array([max(0, x_min - shift), max(0, y_min - shift), min(INPUT_SIZE, x_max + shift),
                     min(INPUT_SIZE, y_max + shift)], dtype=np.float64)
