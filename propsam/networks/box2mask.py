"""Box2Mask: the UNet that turns a box-cropped ROI into a 2D mask (supplementary S1.3.1)."""

from __future__ import annotations

from torch import Tensor, nn

from propsam.config import Box2MaskConfig
from propsam.networks.blocks import Decoder, Encoder

__all__ = ["Box2Mask"]


class Box2Mask(nn.Module):
    """Six-stage UNet (with the paper's configuration) with deep supervision.

    Args:
        config: Network shape; :data:`propsam.config.PAPER_BOX2MASK` has 20,619,174 parameters (six heads).
    """

    config: Box2MaskConfig

    def __init__(self, config: Box2MaskConfig) -> None:
        super().__init__()
        if not isinstance(config, Box2MaskConfig):
            raise TypeError(f"Box2Mask(config) needs a Box2MaskConfig, got {type(config).__name__}")
        self.config = config
        self.encoder = Encoder(config.in_channels, config.channels, config.convs_per_stage, config.negative_slope)
        self.decoder = Decoder(config.channels, config.convs_per_stage, config.negative_slope,
                               bottleneck_head=config.bottleneck_head)

    def forward(self, x: Tensor) -> list[Tensor]:
        """Segment ROI images.

        Args:
            x: (B, in_channels, H, W) normalised ROIs; H and W multiples of 2**(stages-1).

        Returns:
            Logits, one (B, 1, H / 2**s, W / 2**s) per supervised stage, full resolution first.

        Raises:
            ValueError: Wrong rank, channel count or a side that is not a multiple of 2**(stages-1).
        """
        _check_input("Box2Mask input x", x, self.config.in_channels, self.config.n_stages)
        return self.decoder(self.encoder(x))  # type: ignore[no-any-return]


def _check_input(what: str, x: Tensor, channels: int, n_stages: int) -> None:
    factor = 2 ** (n_stages - 1)
    if x.ndim != 4 or x.shape[1] != channels or x.shape[2] % factor or x.shape[3] % factor or x.shape[0] < 1:
        raise ValueError(f"{what} must have shape (B, {channels}, H, W) with B >= 1 and H, W multiples of "
                         f"{factor}, got {tuple(x.shape)}")
