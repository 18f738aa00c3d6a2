"""Network configurations of PropSAM: frozen dataclasses and the presets used by the paper, demos and tests.

The paper's Box2Mask (supplementary S1.3.1) is a six-stage UNet with channels [32, 64, 128, 256, 512, 512], two
3x3 convolutions per stage, instance normalisation, LeakyReLU, stride-2 downsampling, skip connections and a
deep-supervision head on every decoding stage, on a 3-channel 224 x 224 input. "All six decoding stages are designed
to produce binary foreground segmentation predictions" and Eq. 1 averages over S = 6 stages, so the paper preset has
six 1x1 heads, at 224, 112, 56, 28, 14 and 7 pixels (the last on the bottleneck, ``bottleneck_head=True``). With
biased convolutions, affine instance normalisation and 2x2 transposed-convolution upsampling, Box2Mask has
20,618,661 + 513 = 20,619,174 parameters (the paper's 20.62 M) and PropMask 31,271,173 + 513 = 31,271,686.
``bottleneck_head=False`` (the dataclass default) drops the bottleneck head: five outputs, as in checkpoints written
before the paper preset had six; such checkpoints store their configuration and still load.

PropMask (S1.4.1) has an image encoder and a mask encoder shaped like Box2Mask's encoder, cross-attention on the
``attention_stages`` lowest resolutions (four in the paper: 56, 28, 14, 7) and the same decoder.

Presets:
    ``PAPER_*``: the paper's sizes (224 x 224 input), six supervised stages.
    ``SMALL_*``: a 96 x 96, narrow network that trains in minutes on 2 CPU cores (demo weights); its PropMask
    also fuses the target's own features and the guide mask's features into the attention output
    (``fuse_query``, ``fuse_guide``), which the paper's PropMask does not.
    ``TINY_*``: 32 x 32, four stages, for unit tests only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import Enum
from typing import Any

__all__ = [
    "NetworkKind",
    "Box2MaskConfig",
    "PropMaskConfig",
    "NetworkConfig",
    "PAPER_BOX2MASK",
    "PAPER_PROPMASK",
    "SMALL_BOX2MASK",
    "SMALL_PROPMASK",
    "TINY_BOX2MASK",
    "TINY_PROPMASK",
    "config_from_dict",
    "preset",
]


class NetworkKind(str, Enum):
    """The two networks of PropSAM."""

    BOX2MASK = "box2mask"
    PROPMASK = "propmask"

    def __str__(self) -> str:
        return str(self.value)


def _check_common(cls_name: str, channels: tuple[int, ...], in_channels: int, convs_per_stage: int,
                  input_size: int, negative_slope: float) -> None:
    if len(channels) < 2 or any(not isinstance(c, int) or isinstance(c, bool) or c < 1 for c in channels):
        raise ValueError(f"{cls_name}.channels must hold at least two positive ints, got {channels!r}")
    if in_channels < 1:
        raise ValueError(f"{cls_name}.in_channels must be >= 1, got {in_channels}")
    if convs_per_stage < 1:
        raise ValueError(f"{cls_name}.convs_per_stage must be >= 1, got {convs_per_stage}")
    factor = 2 ** (len(channels) - 1)
    if input_size < factor or input_size % factor:
        raise ValueError(f"{cls_name}.input_size must be a positive multiple of 2**(stages-1) = {factor} "
                         f"for {len(channels)} stages, got {input_size}")
    if not 0.0 <= negative_slope < 1.0:
        raise ValueError(f"{cls_name}.negative_slope must be in [0, 1), got {negative_slope}")


class _Stages:
    """Stage arithmetic shared by both configurations (which define channels, input_size, bottleneck_head)."""

    channels: tuple[int, ...]
    input_size: int
    bottleneck_head: bool

    @property
    def n_stages(self) -> int:
        return len(self.channels)

    @property
    def n_outputs(self) -> int:
        """Number of deep-supervision outputs of ``forward``."""
        return self.n_stages - 1 + int(self.bottleneck_head)

    @property
    def output_sizes(self) -> tuple[int, ...]:
        """Side in pixels of each output of ``forward``, full resolution first."""
        return tuple(self.input_size // 2**s for s in range(self.n_outputs))


@dataclass(frozen=True)
class Box2MaskConfig(_Stages):
    """Shape of a Box2Mask UNet.

    Attributes:
        channels: Feature channels per encoder stage, full resolution first.
        in_channels: Input channels (a grey slice replicated 3 times).
        convs_per_stage: 3x3 convolutions per stage (encoder and decoder).
        input_size: Side of the square input in pixels; a multiple of ``2 ** (len(channels) - 1)``.
        negative_slope: LeakyReLU slope.
        bottleneck_head: Add a deep-supervision head on the bottleneck, the sixth stage of Eq. 1 (paper: True).
        name: Preset name, recorded in checkpoints.
    """

    channels: tuple[int, ...] = (32, 64, 128, 256, 512, 512)
    in_channels: int = 3
    convs_per_stage: int = 2
    input_size: int = 224
    negative_slope: float = 0.01
    bottleneck_head: bool = False
    name: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        _check_common(type(self).__name__, self.channels, self.in_channels, self.convs_per_stage,
                      self.input_size, self.negative_slope)

    @property
    def kind(self) -> NetworkKind:
        return NetworkKind.BOX2MASK

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (lists, ints, floats, bools, strs), for checkpoints and JSON."""
        out = asdict(self)
        out["channels"] = list(self.channels)
        return out


@dataclass(frozen=True)
class PropMaskConfig(_Stages):
    """Shape of a PropMask network.

    Attributes:
        channels: Feature channels per encoder stage (image and mask encoders alike), full resolution first.
        in_channels: Image input channels (3: a grey slice replicated).
        mask_channels: Mask-encoder input channels (1: the guide mask).
        convs_per_stage: 3x3 convolutions per stage.
        input_size: Side of the square input in pixels.
        negative_slope: LeakyReLU slope.
        attention_stages: Cross-attention on this many lowest-resolution stages (paper: 4, i.e. 56, 28, 14, 7).
        key_channels: Width of the query/key projections; 0 means the stage's own channel count.
        fuse_query: Concatenate the target's own encoder features to the attention output (1x1 convolution)
            before the decoder; the paper passes the attention output alone (False).
        fuse_guide: With ``fuse_query``, also concatenate the guide's mask features at the same position (a local
            prior: adjacent slices overlap), which CPU-sized training learns far faster than attention alone;
            not in the paper (False).
        bottleneck_head: As in :class:`Box2MaskConfig`.
        name: Preset name, recorded in checkpoints.
    """

    channels: tuple[int, ...] = (32, 64, 128, 256, 512, 512)
    in_channels: int = 3
    mask_channels: int = 1
    convs_per_stage: int = 2
    input_size: int = 224
    negative_slope: float = 0.01
    attention_stages: int = 4
    key_channels: int = 0
    fuse_query: bool = False
    fuse_guide: bool = False
    bottleneck_head: bool = False
    name: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        _check_common(type(self).__name__, self.channels, self.in_channels, self.convs_per_stage,
                      self.input_size, self.negative_slope)
        if self.fuse_guide and not self.fuse_query:
            raise ValueError("PropMaskConfig.fuse_guide=True needs fuse_query=True (the fusion convolution)")
        if not 1 <= self.attention_stages <= len(self.channels):
            raise ValueError(f"PropMaskConfig.attention_stages must be in [1, {len(self.channels)}], "
                             f"got {self.attention_stages}")
        if self.mask_channels < 1 or self.key_channels < 0:
            raise ValueError(f"PropMaskConfig.mask_channels must be >= 1 and key_channels >= 0, got "
                             f"{self.mask_channels} and {self.key_channels}")

    @property
    def kind(self) -> NetworkKind:
        return NetworkKind.PROPMASK

    @property
    def attention_stage_indices(self) -> tuple[int, ...]:
        """Encoder stages (0 = full resolution) that carry cross-attention."""
        return tuple(range(self.n_stages - self.attention_stages, self.n_stages))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["channels"] = list(self.channels)
        return out


NetworkConfig = Box2MaskConfig | PropMaskConfig

PAPER_BOX2MASK = Box2MaskConfig(bottleneck_head=True, name="paper")
PAPER_PROPMASK = PropMaskConfig(bottleneck_head=True, name="paper")
SMALL_BOX2MASK = Box2MaskConfig(channels=(8, 16, 32, 64, 96, 96), input_size=96, name="small")
SMALL_PROPMASK = PropMaskConfig(channels=(8, 16, 32, 64, 96, 96), input_size=96, fuse_query=True, fuse_guide=True,
                                name="small")
TINY_BOX2MASK = Box2MaskConfig(channels=(4, 8, 16, 16), input_size=32, name="tiny")
TINY_PROPMASK = PropMaskConfig(channels=(4, 8, 16, 16), input_size=32, attention_stages=2, name="tiny")

_PRESETS: dict[tuple[NetworkKind, str], NetworkConfig] = {
    (NetworkKind.BOX2MASK, "paper"): PAPER_BOX2MASK,
    (NetworkKind.PROPMASK, "paper"): PAPER_PROPMASK,
    (NetworkKind.BOX2MASK, "small"): SMALL_BOX2MASK,
    (NetworkKind.PROPMASK, "small"): SMALL_PROPMASK,
    (NetworkKind.BOX2MASK, "tiny"): TINY_BOX2MASK,
    (NetworkKind.PROPMASK, "tiny"): TINY_PROPMASK,
}


def preset(kind: NetworkKind | str, name: str) -> NetworkConfig:
    """The preset configuration ``name`` ("paper", "small" or "tiny") of network ``kind``.

    Raises:
        ValueError: Unknown kind or preset name.
    """
    kind = NetworkKind(kind)
    try:
        return _PRESETS[(kind, name)]
    except KeyError:
        names = sorted({n for _, n in _PRESETS})
        raise ValueError(f"unknown {kind} preset {name!r}; expected one of {names}") from None


def config_from_dict(kind: NetworkKind | str, data: Mapping[str, Any], *, source: str = "<dict>") -> NetworkConfig:
    """Rebuild a configuration from :meth:`to_dict` output.

    Args:
        kind: Which network the dictionary describes.
        data: Plain-typed fields.
        source: Where the dictionary came from (a file name), for error messages.

    Raises:
        ValueError: Unknown or missing keys, or invalid values.
    """
    cls: type[Box2MaskConfig] | type[PropMaskConfig] = (
        Box2MaskConfig if NetworkKind(kind) is NetworkKind.BOX2MASK else PropMaskConfig)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{source}: unknown {cls.__name__} keys {unknown}; expected a subset of {sorted(known)}")
    values = dict(data)
    if "channels" in values:
        values["channels"] = tuple(int(c) for c in values["channels"])
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: invalid {cls.__name__}: {err}") from err
