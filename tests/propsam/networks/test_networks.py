"""Tests of propsam.networks: parameter counts, output shapes, deep-supervision stages, guide broadcasting."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from propsam.config import (
    PAPER_BOX2MASK,
    PAPER_PROPMASK,
    SMALL_BOX2MASK,
    TINY_BOX2MASK,
    TINY_PROPMASK,
    Box2MaskConfig,
    PropMaskConfig,
    preset,
)
from propsam.networks import Box2Mask, PropMask, build_network, count_parameters


def test_paper_box2mask_has_the_papers_parameter_count() -> None:
    with torch.device("meta"):  # no memory, no initialisation: fast
        network = Box2Mask(PAPER_BOX2MASK)
    n = count_parameters(network)
    assert n == 20_618_661 + 513  # five decoder heads and the bottleneck head
    assert abs(n - 20.62e6) / 20.62e6 < 0.01


def test_bottleneck_head_is_the_sixth_stage() -> None:
    config = Box2MaskConfig(bottleneck_head=False)
    with torch.device("meta"):
        network = Box2Mask(config)
    assert count_parameters(network) == 20_618_661
    assert config.n_outputs == 5 and PAPER_BOX2MASK.n_outputs == 6
    assert PAPER_BOX2MASK.output_sizes == (224, 112, 56, 28, 14, 7)


@pytest.mark.parametrize(("bottleneck_head", "expected"), [(False, 31_271_173), (True, 31_271_686)])
def test_paper_propmask_parameter_count(bottleneck_head: bool, expected: int) -> None:
    config = dataclasses.replace(PAPER_PROPMASK, bottleneck_head=bottleneck_head)
    with torch.device("meta"):
        network = PropMask(config)
        box2mask = Box2Mask(dataclasses.replace(PAPER_BOX2MASK, bottleneck_head=bottleneck_head))
    assert count_parameters(network) == expected
    assert PAPER_PROPMASK.bottleneck_head  # the paper preset: 31,271,686, six supervised stages
    assert len(network.attention) == 4 and network.fuse is None
    assert [config.input_size // 2**s for s in network.attention_stages] == [56, 28, 14, 7]
    # Box2Mask's encoder and decoder, plus a mask encoder whose first convolution reads 1 channel instead of 3
    # (3 x 3 x 2 x 32 = 576 weights fewer), plus the query and key 1x1 projections at 128, 256, 512 and 512
    # channels: 2 x (128 x 129 + 256 x 257 + 2 x 512 x 513) = 1,215,232.
    assert count_parameters(network.image_encoder) == count_parameters(box2mask.encoder) == 9_437_856
    assert count_parameters(network.mask_encoder) == 9_437_856 - 576
    assert count_parameters(network.attention) == 1_215_232
    assert count_parameters(network.decoder) == count_parameters(box2mask.decoder)
    assert expected == count_parameters(box2mask) + 9_437_856 - 576 + 1_215_232


@pytest.mark.parametrize("config", [
    TINY_BOX2MASK,  # (B, 3, 32, 32) -> 32, 16, 8
    Box2MaskConfig(channels=(4, 8, 8), input_size=16, bottleneck_head=True),  # 16, 8, 4 (bottleneck)
])
def test_box2mask_output_shapes_full_resolution_first(config: Box2MaskConfig) -> None:
    torch.manual_seed(0)
    network = Box2Mask(config)
    x = torch.randn(2, 3, config.input_size, config.input_size)  # (B, 3, H, W)
    outputs = network(x)
    assert len(outputs) == config.n_outputs
    assert [tuple(o.shape) for o in outputs] == [(2, 1, s, s) for s in config.output_sizes]


def test_propmask_output_shapes() -> None:
    torch.manual_seed(0)
    network = PropMask(TINY_PROPMASK)
    size = TINY_PROPMASK.input_size
    outputs = network(torch.randn(5, 3, size, size), torch.randn(1, 3, size, size), torch.ones(1, 1, size, size))
    assert len(outputs) == TINY_PROPMASK.n_outputs == 3
    assert [tuple(o.shape) for o in outputs] == [(5, 1, 32, 32), (5, 1, 16, 16), (5, 1, 8, 8)]


@pytest.mark.parametrize(("fuse_query", "fuse_guide"), [(False, False), (True, False), (True, True)])
def test_propmask_broadcast_guide_equals_one_copy_per_target(fuse_query: bool, fuse_guide: bool) -> None:
    torch.manual_seed(0)
    config = PropMaskConfig(channels=(4, 8, 16, 16), input_size=32, attention_stages=3, fuse_query=fuse_query,
                            fuse_guide=fuse_guide)
    network = PropMask(config).eval()
    targets = torch.randn(4, 3, 32, 32)
    guide = torch.randn(1, 3, 32, 32)
    mask = (torch.rand(1, 1, 32, 32) > 0.5).float()
    with torch.no_grad():
        broadcast = network(targets, guide, mask)
        copied = network(targets, guide.expand(4, -1, -1, -1), mask.expand(4, -1, -1, -1))
        single = [network(targets[i:i + 1], guide, mask)[0] for i in range(4)]
    for a, b in zip(broadcast, copied, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(broadcast[0], torch.cat(single), rtol=1e-5, atol=1e-5)


def test_build_network_and_presets() -> None:
    assert isinstance(build_network(TINY_BOX2MASK), Box2Mask)
    assert isinstance(build_network(TINY_PROPMASK), PropMask)
    assert preset("box2mask", "small") is SMALL_BOX2MASK
    with pytest.raises(ValueError, match="unknown box2mask preset 'huge'"):
        preset("box2mask", "huge")
    with pytest.raises(TypeError, match="Box2MaskConfig or PropMaskConfig"):
        build_network("paper")  # type: ignore[arg-type]


def test_bad_inputs_name_the_argument() -> None:
    network = Box2Mask(TINY_BOX2MASK)
    with pytest.raises(ValueError, match=r"Box2Mask input x must have shape \(B, 3, H, W\).*got \(1, 1, 32, 32\)"):
        network(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="multiples of 8"):
        network(torch.zeros(1, 3, 30, 32))
    prop = PropMask(TINY_PROPMASK)
    with pytest.raises(ValueError, match="PropMask guide_image must have shape"):
        prop(torch.zeros(3, 3, 32, 32), torch.zeros(2, 3, 32, 32), torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match="PropMask guide_mask"):
        prop(torch.zeros(3, 3, 32, 32), torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32))
    with pytest.raises(TypeError, match="needs a Box2MaskConfig"):
        Box2Mask(TINY_PROPMASK)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"channels": (8,)}, "at least two positive ints"),
    ({"channels": (8, 16), "input_size": 31}, "multiple of 2"),
    ({"convs_per_stage": 0}, "convs_per_stage"),
])
def test_bad_configs(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Box2MaskConfig(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="attention_stages"):
        PropMaskConfig(channels=(4, 8), input_size=16, attention_stages=3)
    with pytest.raises(ValueError, match="fuse_guide=True needs fuse_query=True"):
        PropMaskConfig(fuse_guide=True)


def test_propmask_warm_started_from_box2mask_starts_as_box2mask() -> None:
    torch.manual_seed(0)
    box2mask = Box2Mask(TINY_BOX2MASK).eval()
    propmask = PropMask(PropMaskConfig(channels=(4, 8, 16, 16), input_size=32, attention_stages=2,
                                       fuse_query=True, fuse_guide=True)).eval()
    propmask.init_from_box2mask(box2mask)
    targets = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        expected = box2mask(targets)
        got = propmask(targets, torch.randn(1, 3, 32, 32), torch.ones(1, 1, 32, 32))
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b)


def test_warm_start_needs_the_same_channels() -> None:
    with pytest.raises(ValueError, match=r"Box2Mask channels=\(4, 8, 16, 16\) differs from PropMask channels"):
        PropMask(PropMaskConfig(channels=(4, 8, 8), input_size=32, attention_stages=2)).init_from_box2mask(
            Box2Mask(TINY_BOX2MASK))
