"""The two PropSAM networks: Box2Mask (box-cropped ROI to mask) and PropMask (guide-to-target propagation)."""

from __future__ import annotations

from torch import nn

from propsam.config import Box2MaskConfig, NetworkConfig, PropMaskConfig
from propsam.networks.blocks import count_parameters
from propsam.networks.box2mask import Box2Mask
from propsam.networks.propmask import PropMask

__all__ = ["Box2Mask", "PropMask", "build_network", "count_parameters"]


def build_network(config: NetworkConfig) -> nn.Module:
    """The network a configuration describes (:class:`Box2Mask` or :class:`PropMask`).

    Raises:
        TypeError: ``config`` is neither a :class:`Box2MaskConfig` nor a :class:`PropMaskConfig`.
    """
    if isinstance(config, Box2MaskConfig):
        return Box2Mask(config)
    if isinstance(config, PropMaskConfig):
        return PropMask(config)
    raise TypeError(f"build_network(config) needs a Box2MaskConfig or PropMaskConfig, got {type(config).__name__}")
