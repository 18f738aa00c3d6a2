"""PropMask uses its guide: the paper's network (no fusion layers) reads the guide image as keys and the guide mask as
values, and its output moves when either changes.

Cross-attention is checked on hand-built inputs whose output is derived by hand; the network's wiring is checked
by capturing what each attention module receives and comparing it with the two encoders' own features.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from propsam.config import PAPER_PROPMASK
from propsam.networks import PropMask
from propsam.networks.attention import CrossAttention


@pytest.fixture(scope="module")
def paper() -> Iterator[PropMask]:
    """The paper's PropMask (fusion layers off) with seeded random weights, in eval mode, on one torch thread."""
    assert not PAPER_PROPMASK.fuse_query and not PAPER_PROPMASK.fuse_guide
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield PropMask(PAPER_PROPMASK).eval()
    torch.set_num_threads(threads)


def _square(size: int, lo: int, hi: int) -> Tensor:
    """A (1, 1, size, size) 0/1 mask with the square [lo, hi) x [lo, hi) set."""
    mask = torch.zeros(1, 1, size, size)
    mask[..., lo:hi, lo:hi] = 1.0
    return mask


def _identity_projections(attention: CrossAttention, scale: float = 1.0) -> None:
    """Query and key projections become ``scale`` x identity with zero bias (channels == key_channels)."""
    with torch.no_grad():
        for conv in (attention.query, attention.key):
            conv.weight.copy_(scale * torch.eye(conv.out_channels)[:, :, None, None])
            assert conv.bias is not None
            conv.bias.zero_()


# --- CrossAttention on hand-built inputs -----------------------------------------------------------------------------

def test_attention_output_is_the_hand_derived_mixture_of_guide_mask_values() -> None:
    # One channel, d_k = 1 (scale 1 / sqrt(1) = 1), two tokens (h, w) = (1, 2).
    # Target features t = (1, 2), guide image features g = (0, ln 3), guide mask values v = (4, 8).
    # Target token 1: scores (1 * 0, 1 * ln 3) -> softmax (1/4, 3/4) -> 4/4 + 8 * 3/4 = 7.
    # Target token 2: scores (0, 2 ln 3) -> softmax (1/10, 9/10) -> 0.4 + 7.2 = 7.6.
    # Keys taken from the target instead would give (6.92, 7.52) (scores t_i * t_j), values taken from the guide
    # image (0.82, 0.99).
    attention = CrossAttention(channels=1, key_channels=1)
    _identity_projections(attention)
    target = torch.tensor([1.0, 2.0]).reshape(1, 1, 1, 2)
    guide = torch.tensor([0.0, math.log(3.0)]).reshape(1, 1, 1, 2)
    values = torch.tensor([4.0, 8.0]).reshape(1, 1, 1, 2)
    with torch.no_grad():
        out = attention(target, guide, values)
    torch.testing.assert_close(out, torch.tensor([7.0, 7.6]).reshape(1, 1, 1, 2), rtol=0, atol=1e-5)


def test_attention_scale_is_one_over_sqrt_key_channels() -> None:
    # d_k = 4: every channel of t and g carries the same value, so a score is 4 * t * g / sqrt(4) = 2 t g.
    # t = 1, g = (0, ln(3) / 2): scores (0, ln 3) -> weights (1/4, 3/4) -> 4/4 + 8 * 3/4 = 7.
    attention = CrossAttention(channels=4, key_channels=4)
    _identity_projections(attention)
    target = torch.ones(1, 4, 1, 1)
    guide = torch.tensor([0.0, math.log(3.0) / 2]).reshape(1, 1, 1, 2).expand(1, 4, 1, 2)
    values = torch.tensor([4.0, 8.0]).reshape(1, 1, 1, 2)
    with torch.no_grad():
        out = attention(target.expand(1, 4, 1, 2), guide, values)
    torch.testing.assert_close(out, torch.full((1, 1, 1, 2), 7.0), rtol=0, atol=1e-5)


def test_attention_reads_the_guide_mask_at_the_guide_pixel_that_matches() -> None:
    # Each pixel carries a one-hot position code; the guide is the target shifted one pixel to the right, so with
    # sharp (scaled) attention target pixel p matches guide pixel p + 1 and reads the guide mask there: the output is
    # the guide mask shifted one pixel to the left. Keys from the target would match p itself (output = the guide mask
    # unshifted); values from the guide image would have 4 channels, not 2.
    codes = torch.eye(4).reshape(4, 1, 4)  # (C = 4, h = 1, w = 4): pixel p has code e_p
    target = codes[None]
    guide = torch.roll(codes, shifts=1, dims=2)[None]  # guide pixel p + 1 carries code e_p
    guide_mask = torch.tensor([[[[0.0, 1.0, 0.0, 0.0]]], [[[0.0, 0.0, 5.0, 3.0]]]]).reshape(1, 2, 1, 4)
    attention = CrossAttention(channels=4, key_channels=4)
    _identity_projections(attention, scale=20.0)  # scores 400 / 2 = 200 for a match, 0 otherwise: one-hot weights
    with torch.no_grad():
        out = attention(target, guide, guide_mask)
    expected = torch.roll(guide_mask, shifts=-1, dims=3)  # output[p] = guide_mask[p + 1]
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)
    # One guide broadcast over several targets: each target attends on its own.
    with torch.no_grad():
        batch = attention(torch.cat([target, guide]), guide, guide_mask)
    torch.testing.assert_close(batch, torch.cat([expected, guide_mask]), rtol=0, atol=1e-5)


# --- the paper's PropMask ------------------------------------------------------------------------------------------

def _capture_attention_inputs(network: PropMask) -> tuple[list[tuple[Tensor, ...]], list[RemovableHandle]]:
    """Record the (target, guide image, guide mask) features each attention module is called with, in order."""
    seen: list[tuple[Tensor, ...]] = []

    def hook(module: nn.Module, args: tuple[Tensor, ...], output: Tensor) -> None:
        seen.append(tuple(a.detach().clone() for a in args))

    return seen, [module.register_forward_hook(hook) for module in network.attention]


def test_paper_propmask_attends_with_guide_image_keys_and_guide_mask_values(paper: PropMask) -> None:
    # Three different inputs, so that any mix-up of target, guide image and guide mask shows.
    torch.manual_seed(1)
    targets, guide = torch.randn(2, 3, 64, 64), torch.randn(1, 3, 64, 64)
    mask = _square(64, 16, 40)
    seen, handles = _capture_attention_inputs(paper)
    try:
        with torch.no_grad():
            paper(targets, guide, mask)
            target_features = paper.image_encoder(targets)
            guide_features = paper.image_encoder(guide)
            mask_features = paper.mask_encoder(mask)
    finally:
        for handle in handles:
            handle.remove()
    assert [s for s in paper.attention_stages] == [2, 3, 4, 5]
    assert len(seen) == 4
    for (query_in, key_in, value_in), s in zip(seen, paper.attention_stages, strict=True):
        torch.testing.assert_close(query_in, target_features[s])
        torch.testing.assert_close(key_in, guide_features[s])
        torch.testing.assert_close(value_in, mask_features[s])


@pytest.mark.parametrize("size", [64, PAPER_PROPMASK.input_size])
def test_paper_propmask_output_follows_the_guide_mask_and_the_guide_image(paper: PropMask, size: int) -> None:
    # Random weights, eval mode: the full-resolution logits move when only the guide mask moves, and when only the
    # guide image changes. A network that ignored either input would return identical logits (difference 0).
    # Measured with seed 0: differences of about 0.1 on logits of magnitude about 1.5.
    torch.manual_seed(2)
    targets, guide, other_guide = torch.randn(1, 3, size, size), torch.randn(1, 3, size, size), torch.randn(
        1, 3, size, size)
    mask, moved_mask = _square(size, size // 4, size // 2), _square(size, size // 2, 3 * size // 4)
    with torch.no_grad():
        reference = paper(targets, guide, mask)[0]
        with_moved_mask = paper(targets, guide, moved_mask)[0]
        with_other_guide = paper(targets, other_guide, mask)[0]
        again = paper(targets, guide, mask)[0]
    torch.testing.assert_close(again, reference, rtol=0, atol=0)  # deterministic: the differences below are real
    assert (with_moved_mask - reference).abs().max() > 1e-2
    assert (with_other_guide - reference).abs().max() > 1e-2


def test_paper_propmask_empty_guide_mask_differs_from_a_full_one(paper: PropMask) -> None:
    torch.manual_seed(3)
    targets, guide = torch.randn(1, 3, 64, 64), torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        empty = paper(targets, guide, torch.zeros(1, 1, 64, 64))[0]
        square = paper(targets, guide, _square(64, 16, 48))[0]
    assert (square - empty).abs().max() > 1e-2
