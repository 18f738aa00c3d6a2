"""PropMask: segments N target slices against one guide slice and its mask (supplementary S1.4.1).

Structure: an image encoder (shared by targets and guide) and a mask encoder shaped like Box2Mask's encoder;
cross-attention on the ``attention_stages`` lowest resolutions (queries from the targets, keys from the guide image,
values from the guide mask); a UNet decoder whose skips are the attention outputs at those stages and the target's
own encoder features above them; deep supervision as in Box2Mask.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn

from propsam.config import PropMaskConfig
from propsam.networks.attention import CrossAttention
from propsam.networks.blocks import Decoder, Encoder
from propsam.networks.box2mask import Box2Mask, _check_input

__all__ = ["PropMask"]


class PropMask(nn.Module):
    """Guide-to-target propagation network with deep supervision.

    Args:
        config: Network shape.
    """

    config: PropMaskConfig

    def __init__(self, config: PropMaskConfig) -> None:
        super().__init__()
        if not isinstance(config, PropMaskConfig):
            raise TypeError(f"PropMask(config) needs a PropMaskConfig, got {type(config).__name__}")
        self.config = config
        self.image_encoder = Encoder(config.in_channels, config.channels, config.convs_per_stage,
                                     config.negative_slope)
        self.mask_encoder = Encoder(config.mask_channels, config.channels, config.convs_per_stage,
                                    config.negative_slope)
        self.attention_stages = config.attention_stage_indices
        self.attention = nn.ModuleList(
            CrossAttention(config.channels[s], config.key_channels or config.channels[s])
            for s in self.attention_stages)
        parts = 3 if config.fuse_guide else 2  # (attention output, target features[, guide mask features])
        self.fuse = nn.ModuleList(
            nn.Conv2d(parts * config.channels[s], config.channels[s], kernel_size=1) for s in self.attention_stages
        ) if config.fuse_query else None
        self.decoder = Decoder(config.channels, config.convs_per_stage, config.negative_slope,
                               bottleneck_head=config.bottleneck_head)

    @torch.no_grad()
    def init_from_box2mask(self, box2mask: Box2Mask) -> None:
        """Warm start from a trained Box2Mask of the same channels: its encoder becomes the image encoder, its
        decoder the decoder, and (with ``fuse_query``) the fusion convolutions pass the target's own features, so
        the network starts out as Box2Mask applied to each target crop and learns to use the guide from there.

        Raises:
            ValueError: Box2Mask's channels, convolutions per stage, input channels or heads differ.
        """
        mine, theirs = self.config, box2mask.config
        for name in ("channels", "convs_per_stage", "in_channels", "bottleneck_head"):
            if getattr(mine, name) != getattr(theirs, name):
                raise ValueError(f"init_from_box2mask: Box2Mask {name}={getattr(theirs, name)!r} differs from "
                                 f"PropMask {name}={getattr(mine, name)!r}; expected the same")
        self.image_encoder.load_state_dict(box2mask.encoder.state_dict())
        self.decoder.load_state_dict(box2mask.decoder.state_dict())
        if self.fuse is not None:
            for module, s in zip(self.fuse, self.attention_stages, strict=True):
                conv = cast(nn.Conv2d, module)
                width = mine.channels[s]
                conv.weight.zero_()
                # Input order: (attention output, target features[, guide mask features]); pass the targets only.
                conv.weight[:, width:2 * width, 0, 0] = torch.eye(width)
                if conv.bias is not None:
                    conv.bias.zero_()

    def encode_guide(self, guide_image: Tensor, guide_mask: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Image and mask features of the guide at the attention stages, lowest-attention-resolution... last.

        Args:
            guide_image: (G, in_channels, H, W).
            guide_mask: (G, mask_channels, H, W), 0/1.

        Returns:
            (image features, mask features), one (G, C_s, h_s, w_s) per attention stage.
        """
        cfg = self.config
        _check_input("PropMask guide_image", guide_image, cfg.in_channels, cfg.n_stages)
        _check_input("PropMask guide_mask", guide_mask, cfg.mask_channels, cfg.n_stages)
        if guide_mask.shape[0] != guide_image.shape[0] or guide_mask.shape[2:] != guide_image.shape[2:]:
            raise ValueError(f"PropMask guide_mask shape {tuple(guide_mask.shape)} does not match guide_image "
                             f"shape {tuple(guide_image.shape)} in batch size and (H, W)")
        image = self.image_encoder(guide_image)
        mask = self.mask_encoder(guide_mask.to(guide_image.dtype))
        return [image[s] for s in self.attention_stages], [mask[s] for s in self.attention_stages]

    def forward(self, targets: Tensor, guide_image: Tensor, guide_mask: Tensor) -> list[Tensor]:
        """Segment targets against a guide.

        Args:
            targets: (N, in_channels, H, W) normalised target slices.
            guide_image: (1 or N, in_channels, H, W) the guide slice (one guide is broadcast over N targets,
                its encoding computed once).
            guide_mask: (1 or N, mask_channels, H, W) the guide's mask, 0/1.

        Returns:
            Logits, one (N, 1, H / 2**s, W / 2**s) per supervised stage, full resolution first.

        Raises:
            ValueError: Shapes that do not fit the configuration or each other.
        """
        cfg = self.config
        _check_input("PropMask targets", targets, cfg.in_channels, cfg.n_stages)
        n = targets.shape[0]
        if guide_image.ndim != 4 or guide_image.shape[0] not in (1, n) or guide_image.shape[2:] != targets.shape[2:]:
            raise ValueError(f"PropMask guide_image must have shape (1 or {n}, {cfg.in_channels}, {targets.shape[2]}, "
                             f"{targets.shape[3]}) to match targets, got {tuple(guide_image.shape)}")
        guide_features, mask_features = self.encode_guide(guide_image, guide_mask)
        return self.decode(targets, guide_features, mask_features)

    def decode(self, targets: Tensor, guide_features: list[Tensor], mask_features: list[Tensor]) -> list[Tensor]:
        """Segment targets against a guide already encoded by :meth:`encode_guide` (lets callers reuse it)."""
        skips = self.image_encoder(targets)
        for i, s in enumerate(self.attention_stages):
            attended = self.attention[i](skips[s], guide_features[i], mask_features[i])
            if self.fuse is not None:
                parts = [attended, skips[s]]
                if self.config.fuse_guide:
                    parts.append(mask_features[i].expand(attended.shape[0], -1, -1, -1))
                attended = self.fuse[i](torch.cat(parts, dim=1))
            skips[s] = attended
        return self.decoder(skips)  # type: ignore[no-any-return]
