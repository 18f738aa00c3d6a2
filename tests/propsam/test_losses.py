"""Tests of propsam.losses against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from propsam.losses import deep_supervision_dice_loss, dice_score, downsample_target, soft_dice_loss


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_soft_dice_matches_a_hand_computed_value() -> None:
    prob = torch.tensor([[[[0.8, 0.2], [0.6, 0.0]]]])  # (1, 1, 2, 2)
    target = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
    # sum(PM) = 0.8 + 0.6 = 1.4; sum(P^2) = 0.64 + 0.04 + 0.36 = 1.04; sum(M^2) = 2
    assert soft_dice_loss(prob, target, smooth=0.0).item() == pytest.approx(1 - 2.8 / 3.04, abs=1e-6)
    assert soft_dice_loss(prob, target, smooth=1.0).item() == pytest.approx(1 - 3.8 / 4.04, abs=1e-6)


def test_deep_supervision_loss_averages_stages_with_downsampled_targets() -> None:
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, :2, :] = 1  # top half: each 2x2 block is all-in or all-out, downsampled exactly
    full = torch.full((1, 1, 4, 4), _logit(0.5))
    half = torch.tensor([[[[_logit(0.9), _logit(0.9)], [_logit(0.1), _logit(0.1)]]]])
    # Stage 1 (4x4): sum(PM) = 8 * 0.5 = 4, sum(P^2) = 16 * 0.25 = 4, sum(M^2) = 8 -> 1 - 8/12
    # Stage 2 (2x2): sum(PM) = 1.8, sum(P^2) = 2 * 0.81 + 2 * 0.01 = 1.64, sum(M^2) = 2 -> 1 - 3.6/3.64
    expected = ((1 - 8 / 12) + (1 - 3.6 / 3.64)) / 2
    loss = deep_supervision_dice_loss([full, half], target, smooth=0.0)
    assert loss.item() == pytest.approx(expected, abs=1e-5)


def test_empty_target_still_gives_a_gradient_with_smoothing() -> None:
    logits = torch.zeros(1, 1, 4, 4, requires_grad=True)
    deep_supervision_dice_loss([logits], torch.zeros(1, 1, 4, 4)).backward()
    assert logits.grad is not None and (logits.grad > 0).all()  # pushes the prediction down


def test_downsample_target_stays_binary() -> None:
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, 0, 0:3] = 1
    target[0, 0, 1, 0:2] = 1
    assert downsample_target(target, (2, 2)).tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]


def test_dice_score() -> None:
    target = torch.zeros(2, 1, 2, 2)
    target[0, 0, 0] = 1
    logits = torch.full((2, 1, 2, 2), -5.0)
    logits[0, 0, 0, 0] = 5.0
    assert dice_score(logits, target).tolist() == pytest.approx([2 / 3, 1.0])


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="at least one stage"):
        deep_supervision_dice_loss([], torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match=r"target must be \(B, 1, H, W\) with B = 2, got \(1, 1, 2, 2\)"):
        deep_supervision_dice_loss([torch.zeros(2, 1, 2, 2)], torch.zeros(1, 1, 2, 2))


def test_grouped_rows_sum_over_a_task() -> None:
    prob = torch.tensor([[[[0.8, 0.2]]], [[[0.5, 0.0]]]])  # two target slices (2, 1, 1, 2) of one task
    target = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 0.0]]]])  # the second is past the object's end
    # Task sums: sum(PM) = 0.8; sum(P^2) = 0.64 + 0.04 + 0.25 = 0.93; sum(M^2) = 1
    assert soft_dice_loss(prob, target, smooth=0.0, group=2).item() == pytest.approx(1 - 1.6 / 1.93, abs=1e-6)
    with pytest.raises(ValueError, match="group=3 must be >= 1 and divide the batch size 2"):
        soft_dice_loss(prob, target, group=3)


def test_optional_cross_entropy_term() -> None:
    logits = torch.tensor([[[[_logit(0.8), _logit(0.4)]]]])  # (1, 1, 1, 2)
    target = torch.tensor([[[[1.0, 0.0]]]])
    dice = 1 - 1.6 / (0.64 + 0.16 + 1.0)
    bce = -(math.log(0.8) + math.log(0.6)) / 2
    loss = deep_supervision_dice_loss([logits], target, smooth=0.0, bce_weight=0.5)
    assert loss.item() == pytest.approx(dice + 0.5 * bce, abs=1e-5)


def _eq1(prob: torch.Tensor, target: torch.Tensor) -> float:
    """Eq. 1 of the supplement (S1.3.3) for one stage, written out: 1 - 2 sum(PM) / (sum(P^2) + sum(M^2))."""
    return 1.0 - 2.0 * float((prob * target).sum()) / float((prob**2).sum() + (target**2).sum())


def test_smooth_zero_is_eq1_exactly_on_a_small_object() -> None:
    torch.manual_seed(0)
    prob = torch.rand(1, 1, 8, 8)
    target = torch.zeros(1, 1, 8, 8)
    target[0, 0, 3:5, 3:5] = 1  # a small object, where a smoothing term of 1 moves the loss most
    assert soft_dice_loss(prob, target, smooth=0.0).item() == pytest.approx(_eq1(prob, target), abs=1e-6)
    assert abs(soft_dice_loss(prob, target, smooth=1.0).item() - _eq1(prob, target)) > 1e-3


def test_both_empty_is_perfect_agreement_with_finite_gradients() -> None:
    logits = torch.full((1, 1, 4, 4), -200.0, requires_grad=True)  # sigmoid underflows to exactly 0 in float32
    loss = deep_supervision_dice_loss([logits], torch.zeros(1, 1, 4, 4), smooth=0.0)
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


def test_empty_target_with_a_prediction_is_one_without_gradient_in_eq1() -> None:
    logits = torch.zeros(1, 1, 4, 4, requires_grad=True)
    loss = deep_supervision_dice_loss([logits], torch.zeros(1, 1, 4, 4), smooth=0.0)
    assert loss.item() == 1.0
    loss.backward()
    assert logits.grad is not None and (logits.grad == 0).all()


def test_negative_smooth_is_refused() -> None:
    with pytest.raises(ValueError, match="smooth must be >= 0"):
        soft_dice_loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), smooth=-1.0)
