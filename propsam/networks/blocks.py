"""Building blocks shared by Box2Mask and PropMask: convolution stages, the UNet encoder and decoder.

Layout follows nnU-Net's plain convolutional UNet: each stage is ``convs_per_stage`` x (3x3 convolution with bias,
affine instance normalisation, LeakyReLU); stages after the first start with a stride-2 convolution; the decoder
upsamples with 2x2 stride-2 transposed convolutions, concatenates the skip features and runs one stage; every decoder
stage has a 1x1 convolution head giving one logit channel (deep supervision).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ConvNormAct", "ConvStage", "Encoder", "Decoder", "count_parameters"]


class ConvNormAct(nn.Sequential):
    """3x3 convolution, instance normalisation, LeakyReLU. Maps (B, C_in, H, W) to (B, C_out, H/stride, W/stride)."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1, negative_slope: float = 0.01) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=True),
            nn.InstanceNorm2d(out_channels, eps=1e-5, affine=True),
            nn.LeakyReLU(negative_slope, inplace=True),
        )


class ConvStage(nn.Sequential):
    """``n_convs`` :class:`ConvNormAct` layers; the first may downsample with ``stride``."""

    def __init__(self, in_channels: int, out_channels: int, n_convs: int, *, stride: int = 1,
                 negative_slope: float = 0.01) -> None:
        layers = [ConvNormAct(in_channels, out_channels, stride=stride, negative_slope=negative_slope)]
        layers += [ConvNormAct(out_channels, out_channels, negative_slope=negative_slope) for _ in range(n_convs - 1)]
        super().__init__(*layers)


class Encoder(nn.Module):
    """A UNet encoder: stage s works at 1/2**s of the input resolution.

    Args:
        in_channels: Input channels.
        channels: Output channels per stage, full resolution first.
        convs_per_stage: Convolutions per stage.
        negative_slope: LeakyReLU slope.
    """

    def __init__(self, in_channels: int, channels: tuple[int, ...], convs_per_stage: int,
                 negative_slope: float = 0.01) -> None:
        super().__init__()
        stages = []
        previous = in_channels
        for s, width in enumerate(channels):
            stages.append(ConvStage(previous, width, convs_per_stage, stride=1 if s == 0 else 2,
                                    negative_slope=negative_slope))
            previous = width
        self.stages = nn.ModuleList(stages)

    def forward(self, x: Tensor) -> list[Tensor]:
        """Features of every stage: (B, channels[s], H / 2**s, W / 2**s) for s = 0 .. n-1."""
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class Decoder(nn.Module):
    """A UNet decoder with one deep-supervision head per decoder stage.

    Args:
        channels: Encoder channels per stage, full resolution first (the skips have these widths).
        convs_per_stage: Convolutions per decoder stage.
        negative_slope: LeakyReLU slope.
        bottleneck_head: Add a head on the bottleneck features too.
        out_channels: Logit channels per head.
    """

    def __init__(self, channels: tuple[int, ...], convs_per_stage: int, negative_slope: float = 0.01, *,
                 bottleneck_head: bool = False, out_channels: int = 1) -> None:
        super().__init__()
        ups, blocks, heads = [], [], []
        # Modules are listed from the lowest decoder resolution up, in the order forward uses them.
        for s in reversed(range(len(channels) - 1)):
            ups.append(nn.ConvTranspose2d(channels[s + 1], channels[s], kernel_size=2, stride=2, bias=True))
            blocks.append(ConvStage(2 * channels[s], channels[s], convs_per_stage, negative_slope=negative_slope))
            heads.append(nn.Conv2d(channels[s], out_channels, kernel_size=1, bias=True))
        self.ups = nn.ModuleList(ups)
        self.blocks = nn.ModuleList(blocks)
        self.heads = nn.ModuleList(heads)
        self.bottleneck = nn.Conv2d(channels[-1], out_channels, kernel_size=1) if bottleneck_head else None

    def forward(self, skips: list[Tensor]) -> list[Tensor]:
        """Decode.

        Args:
            skips: Features per stage, full resolution first; the last is the bottleneck.

        Returns:
            Logits (B, out_channels, H / 2**s, W / 2**s), full resolution first.
        """
        x = skips[-1]
        outputs = [self.bottleneck(x)] if self.bottleneck is not None else []
        for i, (up, block, head) in enumerate(zip(self.ups, self.blocks, self.heads, strict=True)):
            x = up(x)
            x = block(torch.cat([x, skips[len(skips) - 2 - i]], dim=1))
            outputs.append(head(x))
        return outputs[::-1]


def count_parameters(module: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (elements) of ``module``; works on the meta device."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
