"""Running the two networks at inference: device, numeric precision, and logits to probabilities.

Both networks return a list of logits, one per decoder stage, full resolution first; inference uses only the
full-resolution output. Reduced precision runs under ``torch.autocast``; probabilities always come back as float32
numpy arrays so that thresholds and percentiles do not depend on the precision.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from propsam.options import parse_enum

if TYPE_CHECKING:
    import torch

    from propsam.networks import Box2Mask, PropMask

__all__ = ["Precision", "parse_precision", "autocast", "Runtime", "GuideEncoding"]


class Precision(str, Enum):
    """Numeric precision of the forward passes."""

    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"

    def __str__(self) -> str:
        return str(self.value)


def parse_precision(value: Precision | str, *, argument: str = "precision") -> Precision:
    """Turn "fp32", "bf16" or "fp16" into a :class:`Precision`.

    Raises:
        ValueError: an unknown value; the message names ``argument``.
    """
    return parse_enum(Precision, value, argument=argument, what="precision")


def _resolve_device(device: object) -> torch.device:
    import torch

    try:
        resolved = torch.device(str(device))
    except RuntimeError as err:
        raise ValueError(f"device: cannot parse {device!r} as a torch device (expected 'cpu', 'cuda', 'cuda:0', ...)"
                         ) from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but this torch build sees no CUDA device; use 'cpu'")
    return resolved


@contextlib.contextmanager
def autocast(device: torch.device, precision: Precision) -> Iterator[None]:
    """Mixed-precision autocast on ``device`` for bf16/fp16; nothing for fp32 (shared by inference and training)."""
    import torch

    if precision is Precision.FP32:
        yield
        return
    dtype = torch.bfloat16 if precision is Precision.BF16 else torch.float16
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


@dataclass(frozen=True)
class Runtime:
    """Where and how the networks run.

    Attributes:
        device: torch device the networks live on.
        precision: Precision of the forward passes (autocast for bf16 and fp16).
    """

    device: torch.device
    precision: Precision = Precision.FP32

    @classmethod
    def create(cls, device: object = "cpu", precision: Precision | str = Precision.FP32) -> Runtime:
        """Validate a device name and a precision name.

        Raises:
            ValueError: an unparsable device, a CUDA device without CUDA, or an unknown precision.
        """
        return cls(device=_resolve_device(device), precision=parse_precision(precision))

    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        return autocast(self.device, self.precision)

    def box2mask(self, network: Box2Mask, images: torch.Tensor) -> np.ndarray:
        """Foreground probabilities of Box2Mask.

        Args:
            network: A Box2Mask network in eval mode, on ``self.device``.
            images: (B, 3, H, W) normalised ROI images (any device).

        Returns:
            (B, H, W) float32 probabilities.
        """
        import torch

        with torch.inference_mode(), self._autocast():
            logits = network(images.to(self.device))[0]
        return _probabilities(logits)

    def encode_guide(self, network: PropMask, guide_image: torch.Tensor, guide_mask: torch.Tensor
                     ) -> GuideEncoding:
        """Encode a guide once so that several target batches can reuse it.

        Args:
            network: A PropMask network in eval mode, on ``self.device``.
            guide_image: (1, 3, H, W) normalised guide slice.
            guide_mask: (1, 1, H, W) guide mask in {0, 1}.
        """
        import torch

        with torch.inference_mode(), self._autocast():
            image, mask = network.encode_guide(guide_image.to(self.device), guide_mask.to(self.device))
        return GuideEncoding(image_features=list(image), mask_features=list(mask))

    def propmask(self, network: PropMask, targets: torch.Tensor, guide: GuideEncoding) -> np.ndarray:
        """Foreground probabilities of PropMask for N targets against one encoded guide.

        Args:
            network: The PropMask network that encoded ``guide``.
            targets: (N, 3, H, W) normalised target slices.
            guide: The output of :meth:`encode_guide`.

        Returns:
            (N, H, W) float32 probabilities.
        """
        import torch

        with torch.inference_mode(), self._autocast():
            logits = network.decode(targets.to(self.device), guide.image_features, guide.mask_features)[0]
        return _probabilities(logits)


@dataclass(frozen=True, eq=False)
class GuideEncoding:
    """A guide slice encoded by PropMask: image and mask features at its attention stages.

    Attributes:
        image_features: One (1, C_s, h_s, w_s) tensor per attention stage.
        mask_features: One (1, C_s, h_s, w_s) tensor per attention stage.
    """

    image_features: list[torch.Tensor]
    mask_features: list[torch.Tensor]


def _probabilities(logits: torch.Tensor) -> np.ndarray:
    import torch

    probs = torch.sigmoid(logits[:, 0].float())
    return np.ascontiguousarray(probs.cpu().numpy(), dtype=np.float32)
