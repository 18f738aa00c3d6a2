"""Demo weights: SMALL Box2Mask and PropMask trained on CPU within a time budget, written as one bundle.

Settings (recorded in each checkpoint's metadata and in ``demo-training.json``):

- networks: :data:`propsam.config.SMALL_BOX2MASK` and :data:`propsam.config.SMALL_PROPMASK` (96 x 96 input);
- the budget is split 30:70 between Box2Mask and PropMask (PropMask learns slower);
- PropMask is warm-started from the trained Box2Mask (``TrainOptions.init_from``: image encoder and decoder copied,
  fusion set to pass the target's features), which the paper does not do: from random weights PropMask needs far
  more than a few CPU minutes;
- the paper's Eq. 1 loss (``propmask_bce_weight`` can add binary cross-entropy, ``TrainOptions.bce_weight``; in a
  6-minute CPU run on the demo collection it changed nothing measurable);
- the paper's optimiser, schedule, loss, sampling and augmentation, with epochs of 128 samples
  (Box2Mask, batches of 32) or 32 tasks (PropMask, batches of 8 tasks of 4 targets), validation on 64 samples
  or tasks when the budget runs out;
- ``min_area=25`` pixels instead of the paper's 100: demo volumes are about 96 x 96 voxels, where the paper's rule
  would drop most cross-sections of thin structures (100 pixels of a 512 x 512 CT slice are about 3.5 of 96 x 96).

Output folder::

    out_dir/box2mask/        training run (last.pt, best.pt, curves.csv, curves.png)
    out_dir/propmask/        training run
    out_dir/propsam-small.pt the bundle (propsam.checkpoint), from both runs' best.pt
    out_dir/demo-training.json settings, wall times and validation Dice of both networks
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from propsam.checkpoint import save_bundle
from propsam.config import SMALL_BOX2MASK, SMALL_PROPMASK, Box2MaskConfig, PropMaskConfig
from propsam.training.data import CaseSource, as_case_sequence
from propsam.training.loop import TrainOptions, TrainResult, train_box2mask, train_propmask
from propsam.training.samples import SampleSettings

__all__ = ["DemoSettings", "DEMO_BUNDLE", "train_demo_weights"]

#: File name of the bundle inside ``out_dir``.
DEMO_BUNDLE = "propsam-small.pt"


@dataclass(frozen=True)
class DemoSettings:
    """Knobs of :func:`train_demo_weights` (defaults as in the module docstring)."""

    box2mask_share: float = 0.3
    box2mask_samples_per_epoch: int = 128
    box2mask_batch_size: int = 32
    propmask_tasks_per_epoch: int = 32
    propmask_batch_size: int = 8
    val_samples: int = 64
    min_area: int = 25
    warm_start: bool = True
    propmask_bce_weight: float = 0.0
    propmask_end_bias: float = 0.0
    cache_cases: bool = True
    balance_objects: bool = False
    seed: int = 0
    threads: int | None = None
    box2mask: Box2MaskConfig = SMALL_BOX2MASK
    propmask: PropMaskConfig = SMALL_PROPMASK

    def __post_init__(self) -> None:
        if not 0.0 < self.box2mask_share < 1.0:
            raise ValueError(f"DemoSettings.box2mask_share must be in (0, 1), got {self.box2mask_share}")


def _summary(result: TrainResult) -> dict[str, object]:
    last = result.history[-1]
    return {"epochs": result.epochs_completed, "seconds": round(result.seconds, 1), "train_loss": last.train_loss,
            "val_loss": last.val_loss, "val_dice": last.val_dice, "checkpoint_sha256": result.best_sha256}


def train_demo_weights(cases_train: CaseSource, cases_val: CaseSource, out_dir: str | os.PathLike[str], *,
                       budget_s: float, settings: DemoSettings | None = None) -> Path:
    """Train SMALL Box2Mask and PropMask within ``budget_s`` seconds on CPU and write a bundle.

    Args:
        cases_train: Training cases.
        cases_val: Validation cases (the reported Dice is on 2D samples of these, at network resolution).
        out_dir: Output folder (see the module docstring); must not hold earlier runs.
        budget_s: Wall-time budget for both trainings, s (each stops after the epoch that passes its share).
        settings: Demo settings.

    Returns:
        The bundle file.

    Raises:
        ValueError: A non-positive budget, or no usable cases.
        FileExistsError: ``out_dir`` holds an earlier run.
    """
    if not budget_s > 0:
        raise ValueError(f"train_demo_weights budget_s must be > 0 s, got {budget_s}")
    settings = settings or DemoSettings()
    out = Path(out_dir)
    train = as_case_sequence(cases_train, argument="cases_train")
    val = as_case_sequence(cases_val, argument="cases_val")
    if settings.cache_cases:
        train, val = [train[i] for i in range(len(train))], [val[i] for i in range(len(val))]
    threads_before = torch.get_num_threads()
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    started = time.perf_counter()
    try:
        base = TrainOptions(epochs=100_000, val_every=100_000, val_samples=settings.val_samples, seed=settings.seed,
                            samples=SampleSettings(min_area=settings.min_area,
                                                   balance_objects=settings.balance_objects),
                            data_description=f"{len(train)} training cases, {len(val)} validation cases (demo)")
        b2m = train_box2mask(train, val, settings.box2mask, replace(
            base, samples_per_epoch=settings.box2mask_samples_per_epoch, batch_size=settings.box2mask_batch_size,
            time_budget_s=budget_s * settings.box2mask_share), out / "box2mask")
        remaining = max(budget_s - (time.perf_counter() - started), 1.0)
        prop = train_propmask(train, val, settings.propmask, replace(
            base, samples_per_epoch=settings.propmask_tasks_per_epoch, batch_size=settings.propmask_batch_size,
            time_budget_s=remaining, bce_weight=settings.propmask_bce_weight,
            samples=replace(base.samples, end_bias=settings.propmask_end_bias),
            init_from=str(b2m.best_checkpoint) if settings.warm_start else None),
            out / "propmask")
    finally:
        torch.set_num_threads(threads_before)
    bundle = out / DEMO_BUNDLE
    sha = save_bundle(bundle, b2m.best_checkpoint, prop.best_checkpoint)
    report = {"bundle": bundle.name, "bundle_sha256": sha, "budget_s": budget_s,
              "seconds": round(time.perf_counter() - started, 1), "threads": settings.threads or threads_before,
              "settings": {**asdict(replace(settings, box2mask=SMALL_BOX2MASK, propmask=SMALL_PROPMASK)),
                           "box2mask": settings.box2mask.to_dict(), "propmask": settings.propmask.to_dict()},
              "box2mask": _summary(b2m), "propmask": _summary(prop)}
    (out / "demo-training.json").write_text(json.dumps(report, indent=2) + "\n")
    return bundle
