"""Cross-attention between a target slice and the guide slice (supplementary S1.4.1, Eq. 2).

Queries come from the target's image features, keys from the guide's image features and values from the guide's
mask features; each is a 2D map flattened to h * w tokens. The output, softmax(Q K^T / sqrt(d_k)) V, is reshaped
back to a (C_v, h, w) map: "the guide's mask, read through the similarity of target and guide pixels".
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["CrossAttention"]


class CrossAttention(nn.Module):
    """Single-head cross-attention with 1x1-convolution query and key projections.

    Args:
        channels: Channels of the image features (queries and keys).
        key_channels: Width d_k of the projected queries and keys.
    """

    def __init__(self, channels: int, key_channels: int) -> None:
        super().__init__()
        self.query = nn.Conv2d(channels, key_channels, kernel_size=1)
        self.key = nn.Conv2d(channels, key_channels, kernel_size=1)

    def forward(self, target: Tensor, guide: Tensor, guide_mask: Tensor) -> Tensor:
        """Attend.

        Args:
            target: (N, C, h, w) image features of the slices to segment.
            guide: (G, C, h, w) image features of the guide, G = 1 (broadcast over N) or N.
            guide_mask: (G, C_v, h, w) mask features of the guide.

        Returns:
            (N, C_v, h, w) attention output.
        """
        n, _, h, w = target.shape
        q = self.query(target).flatten(2).transpose(1, 2)  # (N, hw, d)
        k = self.key(guide).flatten(2).transpose(1, 2)  # (G, hw, d)
        v = guide_mask.flatten(2).transpose(1, 2)  # (G, hw, C_v)
        if k.shape[0] != n:
            # Broadcast one guide over N targets without copying its memory.
            k = k.expand(n, -1, -1)
            v = v.expand(n, -1, -1)
        out = F.scaled_dot_product_attention(q, k, v)  # default scale is 1 / sqrt(d_k), as in Eq. 2
        return out.transpose(1, 2).reshape(n, v.shape[-1], h, w)
