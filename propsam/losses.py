"""The deep-supervision soft Dice loss of the paper (supplementary Eq. 1) and a hard Dice score for validation.

Eq. 1: for every supervised stage s, P_s = sigmoid(logits_s), M_s the ground truth rescaled to that stage's
resolution, and the stage loss is 1 - 2 sum(P M) / (sum(P^2) + sum(M^2)); the total is the mean over stages.
Sums run over the pixels of one sample; the batch loss is the mean over samples. For PropMask the paper extends
the loss "to accommodate the number of adjacent slices" (S1.4.3): with ``group=T`` the sums run over the pixels of
all T target slices of a task (T consecutive rows of the batch), so a target past the object's end that is predicted
as foreground raises the task's denominator instead of saturating a loss of its own.

Eq. 1 exactly, per stage s (``smooth=0``, the paper preset)::

    L_s = 1 - 2 sum_ij(P_sij M_sij) / (sum_ij(P_sij^2) + sum_ij(M_sij^2))

and L = (1 / S) sum_s L_s. The one case Eq. 1 leaves undefined is 0 / 0: the denominator is 0 only when P and M
are both zero everywhere (an empty target predicted empty, which a sigmoid reaches only by underflow). There the
ratio is defined as 1 (perfect agreement) and L_s = 0; no epsilon is added anywhere else, so every other value is
Eq. 1's. An empty target with any non-zero prediction gives L_s = 1 exactly, whatever the prediction, hence no
gradient: that is Eq. 1's behaviour, kept as such.

``smooth > 0`` (not the paper) adds ``smooth`` to numerator and denominator, 1 - (2 sum(P M) + smooth) /
(sum(P^2) + sum(M^2) + smooth), which gives empty targets a gradient towards predicting nothing; the demo and
``small`` presets use 1.0.

Optional, not in the paper: ``bce_weight`` adds that multiple of the binary cross-entropy to every stage's loss
(as nnU-Net's Dice + CE). Soft Dice alone gives almost no gradient against false positives on a slice with no
foreground once they cover more than a few pixels, which is how PropMask learns to stop; short CPU trainings
(the demo weights) need the per-pixel signal. The default 0 is Eq. 1.

The target is rescaled to each stage by averaging 2**s x 2**s blocks and thresholding at 0.5, which keeps M_s binary
as Eq. 1 requires.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["soft_dice_loss", "deep_supervision_dice_loss", "downsample_target", "dice_score"]

def downsample_target(target: Tensor, size: tuple[int, int]) -> Tensor:
    """Rescale a binary target (B, 1, H, W) to (B, 1, h, w), keeping it binary (block mean >= 0.5)."""
    target = target.float()
    if tuple(target.shape[-2:]) == tuple(size):
        return target
    return (F.adaptive_avg_pool2d(target, size) >= 0.5).float()


def soft_dice_loss(prob: Tensor, target: Tensor, *, smooth: float = 1.0, group: int = 1) -> Tensor:
    """Per-sample soft Dice loss 1 - (2 sum(P M) + smooth) / (sum(P^2) + sum(M^2) + smooth).

    ``smooth=0`` is Eq. 1 exactly; where the denominator is 0 (P and M both zero everywhere) the ratio is 1 and the
    loss 0 (see the module docstring).

    Args:
        prob: (B, 1, h, w) probabilities.
        target: (B, 1, h, w) binary target.
        smooth: Smoothing term, >= 0 (see the module docstring).
        group: Rows per sample: sums run over ``group`` consecutive rows (B must be a multiple).

    Returns:
        (B / group,) losses in [0, 1].

    Raises:
        ValueError: B is not a multiple of ``group``, or a negative ``smooth``.
    """
    if group < 1 or prob.shape[0] % group:
        raise ValueError(f"soft_dice_loss group={group} must be >= 1 and divide the batch size {prob.shape[0]}")
    if smooth < 0:
        raise ValueError(f"soft_dice_loss smooth must be >= 0, got {smooth}")
    prob = prob.float().reshape(prob.shape[0] // group, -1)
    target = target.float().reshape(target.shape[0] // group, -1)
    numerator = 2.0 * (prob * target).sum(dim=1) + smooth
    denominator = (prob * prob).sum(dim=1) + (target * target).sum(dim=1) + smooth
    defined = denominator > 0
    # 0 / 0 (both empty) is perfect agreement; the inner where keeps the unused branch (and its gradient) finite.
    ratio = torch.where(defined, numerator / torch.where(defined, denominator, torch.ones_like(denominator)),
                        torch.ones_like(denominator))
    return 1.0 - ratio


def deep_supervision_dice_loss(logits: Sequence[Tensor], target: Tensor, *, smooth: float = 1.0,
                               group: int = 1, bce_weight: float = 0.0) -> Tensor:
    """Eq. 1: the soft Dice loss averaged over the supervised stages (and over the batch).

    Args:
        logits: One (B, 1, h_s, w_s) logit map per stage, as the networks return them.
        target: (B, 1, H, W) or (B, H, W) binary ground truth at full resolution.
        smooth: Smoothing term (see the module docstring).
        group: Rows per sample (PropMask: targets per task; see the module docstring).
        bce_weight: Weight of an added binary cross-entropy term (0: Eq. 1 alone).

    Returns:
        Scalar loss (float32).

    Raises:
        ValueError: No stages, a target whose batch size does not match, or a batch not a multiple of ``group``.
    """
    if len(logits) == 0:
        raise ValueError("deep_supervision_dice_loss needs at least one stage of logits, got none")
    if target.ndim == 3:
        target = target[:, None]
    if target.ndim != 4 or target.shape[0] != logits[0].shape[0]:
        raise ValueError(f"deep_supervision_dice_loss target must be (B, 1, H, W) with B = {logits[0].shape[0]}, "
                         f"got {tuple(target.shape)}")
    stage_losses = []
    for stage in logits:
        m = downsample_target(target, (stage.shape[-2], stage.shape[-1]))
        loss = soft_dice_loss(torch.sigmoid(stage.float()), m, smooth=smooth, group=group).mean()
        if bce_weight:
            loss = loss + bce_weight * F.binary_cross_entropy_with_logits(stage.float(), m)
        stage_losses.append(loss)
    return torch.stack(stage_losses).mean()


def dice_score(logits: Tensor, target: Tensor, *, threshold: float = 0.5) -> Tensor:
    """Hard Dice per sample of ``sigmoid(logits) > threshold`` against a binary target, both (B, 1, H, W).

    Returns:
        (B,) scores; 1.0 where prediction and target are both empty.
    """
    pred = (torch.sigmoid(logits.float()) > threshold).flatten(1).float()
    truth = downsample_target(target, (logits.shape[-2], logits.shape[-1])).flatten(1)
    both = pred.sum(1) + truth.sum(1)
    return torch.where(both > 0, 2.0 * (pred * truth).sum(1) / both.clamp_min(1.0), torch.ones_like(both))
