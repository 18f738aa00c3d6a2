"""Seeded sample streams as torch datasets, and the forward pass of a batch through either network.

Sample ``i`` of epoch ``e`` of stream ``s`` (0: training, 1: validation) is drawn with
``numpy.random.default_rng([seed, s, e, i])``: it does not depend on worker count, batch order or on whether the
run was resumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from propsam.config import NetworkKind
from propsam.training.augment import AugmentSettings, augment_box2mask, augment_task
from propsam.training.data import TrainingCase
from propsam.training.samples import SampleSettings, SliceRef, box2mask_sample, propmask_task

__all__ = ["TRAIN_STREAM", "VAL_STREAM", "SampleStream", "forward_batch"]

TRAIN_STREAM = 0
VAL_STREAM = 1
_MAX_DRAWS = 50


@dataclass(frozen=True)
class SampleStream(Dataset[tuple[np.ndarray, np.ndarray]]):
    """``length`` seeded samples of one epoch.

    Items: Box2Mask ``(image (S, S) float32, mask (S, S) bool)``; PropMask ``(images (1 + T, S, S), masks
    (1 + T, S, S))`` with the guide first. Batched by the default collate into (B, S, S) or (B, 1 + T, S, S).
    """

    kind: NetworkKind
    cases: Sequence[TrainingCase]
    refs: Sequence[SliceRef]
    size: int
    samples: SampleSettings
    augment: AugmentSettings
    seed: int
    stream: int
    epoch: int
    length: int

    def __len__(self) -> int:
        return self.length

    @cached_property
    def _refs_by_object(self) -> list[list[SliceRef]]:
        groups: dict[str, list[SliceRef]] = {}
        for ref in self.refs:
            groups.setdefault(ref.object_name, []).append(ref)
        return [groups[name] for name in sorted(groups)]

    def _draw_ref(self, rng: np.random.Generator) -> SliceRef:
        if not self.samples.balance_objects:
            return self.refs[int(rng.integers(len(self.refs)))]
        group = self._refs_by_object[int(rng.integers(len(self._refs_by_object)))]
        return group[int(rng.integers(len(group)))]

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, self.stream, self.epoch, int(i)])
        for _ in range(_MAX_DRAWS):
            ref = self._draw_ref(rng)
            case = self.cases[ref.case_index]
            if self.kind is NetworkKind.BOX2MASK:
                sample = box2mask_sample(case, ref, self.size, rng, self.samples)
                return augment_box2mask(sample.image, sample.mask, rng, self.augment)
            task = propmask_task(case, ref, self.size, rng, self.samples)
            if task is not None:
                images = np.concatenate([task.guide_image[None], task.targets])
                masks = np.concatenate([task.guide_mask[None], task.target_masks])
                return augment_task(images, masks, rng, self.augment)
        raise ValueError(f"no PropMask task could be drawn in {_MAX_DRAWS} tries: the eligible guide slices have no "
                         "adjacent slice (volumes one slice thick on the chosen planes?)")


def forward_batch(kind: NetworkKind, network: torch.nn.Module, images: Tensor, masks: Tensor,
                  device: torch.device) -> tuple[list[Tensor], Tensor, int]:
    """Run a collated batch through the network.

    Args:
        kind: Which network.
        network: Box2Mask or PropMask.
        images: Box2Mask (B, S, S); PropMask (B, 1 + T, S, S), guide first.
        masks: Same shape as ``images``, bool.
        device: Where the network lives.

    Returns:
        (logits per stage, full resolution first, each (N, 1, h, w); target (N, 1, S, S) float; rows per sample),
        with N = B and 1 row per sample for Box2Mask, N = B * T and T rows per task for PropMask (each task's guide
        is encoded once and shared by its T targets; its rows are consecutive).
    """
    images = images.to(device, dtype=torch.float32, non_blocking=True)
    masks = masks.to(device, non_blocking=True)
    if kind is NetworkKind.BOX2MASK:
        # Contiguous copies: convolutions on stride-0 (expanded) inputs take a much slower path on CPU.
        x = images[:, None].expand(-1, 3, -1, -1).contiguous()
        return network(x), masks[:, None].float(), 1
    b, t1, s, _ = images.shape
    t = t1 - 1
    guide = images[:, :1].expand(-1, 3, -1, -1).contiguous()
    guide_features, mask_features = network.encode_guide(guide, masks[:, :1].float())  # type: ignore[operator]
    guide_features = [f.repeat_interleave(t, dim=0) for f in guide_features]
    mask_features = [f.repeat_interleave(t, dim=0) for f in mask_features]
    targets = images[:, 1:].reshape(b * t, 1, s, s).expand(-1, 3, -1, -1).contiguous()
    logits = network.decode(targets, guide_features, mask_features)  # type: ignore[operator]
    return logits, masks[:, 1:].reshape(b * t, 1, s, s).float(), t
