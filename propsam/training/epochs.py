"""One epoch of training or validation: optimizer, scheduler, mixed precision and data loading."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader

from propsam.checkpoint import NetworkKind
from propsam.inference.runtime import Precision, autocast
from propsam.losses import deep_supervision_dice_loss, dice_score
from propsam.training.batches import SampleStream, forward_batch

if TYPE_CHECKING:
    from propsam.training.options import TrainOptions

__all__ = ["EpochRunner", "resolve_precision"]


def resolve_precision(precision: Precision | str | None, device: torch.device) -> Precision:
    """The precision to train with: as given, or bf16 on CUDA (fp16 without bf16 support) and fp32 elsewhere."""
    if precision is not None:
        return Precision(precision)
    if device.type != "cuda":
        return Precision.FP32
    return Precision.BF16 if torch.cuda.is_bf16_supported() else Precision.FP16


@dataclass
class EpochRunner:
    """Optimizer, scheduler and precision of a run; trains and validates epochs of a :class:`SampleStream`."""

    kind: NetworkKind
    network: torch.nn.Module
    optimizer: torch.optim.AdamW
    scheduler: torch.optim.lr_scheduler.CosineAnnealingLR
    scaler: torch.amp.GradScaler | None
    precision: Precision
    device: torch.device
    batch_size: int
    workers: int
    smooth: float
    bce_weight: float

    @classmethod
    def create(cls, kind: NetworkKind, network: torch.nn.Module, options: TrainOptions, device: torch.device,
               precision: Precision, lr: float) -> EpochRunner:
        optimizer = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=options.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=options.cosine_period,
                                                               eta_min=options.min_lr)
        # fp16 gradients underflow without scaling; bf16 and fp32 need none.
        scaler = torch.amp.GradScaler(device.type) if precision is Precision.FP16 else None
        workers = options.workers
        if workers is None:
            workers = min(8, os.cpu_count() or 1) if device.type == "cuda" else 0
        return cls(kind, network, optimizer, scheduler, scaler, precision, device, options.batch_size, workers,
                   options.smooth, options.bce_weight)

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        return autocast(self.device, self.precision)

    def _loader(self, stream: SampleStream) -> DataLoader[Any]:
        return DataLoader(stream, batch_size=self.batch_size, shuffle=False, num_workers=self.workers,
                          pin_memory=self.device.type == "cuda", drop_last=False)

    def train_epoch(self, stream: SampleStream) -> float:
        """One pass over ``stream``; steps the scheduler; returns the mean loss per sample."""
        self.network.train()
        total, count = 0.0, 0
        for images, masks in self._loader(stream):
            with self._autocast():
                logits, target, group = forward_batch(self.kind, self.network, images, masks, self.device)
            loss = deep_supervision_dice_loss(logits, target, smooth=self.smooth, group=group,
                                              bce_weight=self.bce_weight)
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                loss.backward()
                self.optimizer.step()
            total += float(loss.detach()) * images.shape[0]
            count += images.shape[0]
        self.scheduler.step()
        return total / max(count, 1)

    @torch.no_grad()
    def validate(self, stream: SampleStream) -> tuple[float, float]:
        """Mean loss and mean hard Dice (full resolution) over ``stream``."""
        self.network.eval()
        loss_sum, dice_sum, batches, n = 0.0, 0.0, 0, 0
        for images, masks in self._loader(stream):
            with self._autocast():
                logits, target, group = forward_batch(self.kind, self.network, images, masks, self.device)
            loss = deep_supervision_dice_loss(logits, target, smooth=self.smooth, group=group,
                                              bce_weight=self.bce_weight)
            loss_sum += float(loss) * images.shape[0]
            dice = dice_score(logits[0], target)
            dice_sum += float(dice.sum())
            batches += images.shape[0]
            n += dice.numel()
        return loss_sum / max(batches, 1), dice_sum / max(n, 1)

    def state(self, epoch: int, history: list[dict[str, Any]], best_val_loss: float | None) -> dict[str, Any]:
        """Everything needed to resume after ``epoch`` (plain types and tensors only)."""
        return {
            "epoch": epoch,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "history": history,
            "best_val_loss": best_val_loss,
        }

    def load_state(self, state: Mapping[str, Any], device: torch.device) -> None:
        """Restore what :meth:`state` saved."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler") is not None:
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng"):
            torch.cuda.set_rng_state_all(state["cuda_rng"])
