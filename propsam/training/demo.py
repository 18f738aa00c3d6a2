"""Demo weights: small Box2Mask and PropMask trained on CPU within a time budget, written as one bundle.

Settings (the defaults of :class:`DemoSettings`; recorded in each checkpoint's metadata and in
``demo-training.json``). Where they differ from the paper, it is because a few CPU minutes are not the paper's
GPU weeks:

- networks: :data:`DEMO_BOX2MASK` and :data:`DEMO_PROPMASK`, the ``SMALL_*`` presets at 64 x 64 input instead of
  96 x 96 (demo objects span at most ~50 pixels, and a step costs about half as much, so twice the steps fit);
- the budget is split 25:75 between Box2Mask and PropMask (mask prompts skip Box2Mask; it serves box prompts and
  PropMask's warm start);
- PropMask is warm-started from the trained Box2Mask (``TrainOptions.init_from``: image encoder and decoder copied,
  fusion set to pass the target's features), which the paper does not do: from random weights PropMask needs far
  more than a few CPU minutes;
- PropMask tasks: half are moved to an object's end with targets on the outer side
  (``SampleSettings.end_bias=0.5``), so that targets past the end, with empty masks, are frequent: inference
  stops a direction only on a slice predicted wholly empty, and without these tasks propagation ran on to the
  volume's edge;
- objects are drawn uniformly before their slices (``SampleSettings.balance_objects``), and ``min_area=5`` pixels
  instead of the paper's 100: demo volumes are about 96 x 96 voxels, where vessels and lesions cover 5 to 30 pixels
  per slice and the paper's rule (or uniform drawing over slices) would leave them almost unseen;
- PropMask's loss adds binary cross-entropy to Eq. 1 (``bce_weight=1``): the per-pixel term is what pushes
  false positives on empty targets to zero;
- PropMask's initial learning rate 2e-3 instead of the paper's 5e-4 (few hundred steps: 5e-4 gave a mean 3D
  Dice of 0.72, 1e-3 0.80, 2e-3 0.81 on the demo validation cases with mask prompts);
- the paper's optimiser, schedule and augmentation, with epochs of 128 samples (Box2Mask, batches of 32) or 64
  tasks (PropMask, batches of 8 tasks of 4 targets), validation on 64 samples or tasks when the budget runs out;
- the case sequences are read into memory once (``cache_cases``): the suite's training volumes load from disk on
  every access (about 0.5 s each), which would dominate a sample-per-access training loop.

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

__all__ = ["DemoSettings", "DEMO_BUNDLE", "DEMO_BOX2MASK", "DEMO_PROPMASK", "train_demo_weights"]

#: File name of the bundle inside ``out_dir``.
DEMO_BUNDLE = "propsam-small.pt"
#: The demo networks: the SMALL presets at 64 x 64 input (see the module docstring).
DEMO_BOX2MASK = replace(SMALL_BOX2MASK, input_size=64, name="small-64")
DEMO_PROPMASK = replace(SMALL_PROPMASK, input_size=64, name="small-64")


@dataclass(frozen=True)
class DemoSettings:
    """Knobs of :func:`train_demo_weights`; the defaults are the demo's choices, explained in the module docstring.

    Attributes:
        box2mask_share: Share of the budget spent on Box2Mask (the rest on PropMask).
        box2mask_samples_per_epoch: Box2Mask samples per epoch.
        box2mask_batch_size: Box2Mask samples per step.
        propmask_tasks_per_epoch: PropMask tasks per epoch.
        propmask_batch_size: PropMask tasks per step.
        val_samples: Validation samples or tasks.
        min_area: Smallest eligible cross-section, pixels (exclusive).
        warm_start: Warm-start PropMask from the trained Box2Mask.
        propmask_bce_weight: Binary cross-entropy added to PropMask's Dice loss.
        propmask_end_bias: ``SampleSettings.end_bias`` of PropMask's tasks.
        propmask_lr: PropMask's initial learning rate; None: the paper's 5e-4.
        cache_cases: Read the case sequences into memory once before training.
        balance_objects: ``SampleSettings.balance_objects`` of both networks.
        seed: Seed of weights and samples.
        threads: torch CPU threads during training; None: leave torch's setting.
        box2mask: Box2Mask configuration.
        propmask: PropMask configuration (same channels as ``box2mask`` for the warm start).
    """

    box2mask_share: float = 0.25
    box2mask_samples_per_epoch: int = 128
    box2mask_batch_size: int = 32
    propmask_tasks_per_epoch: int = 64
    propmask_batch_size: int = 8
    val_samples: int = 64
    min_area: int = 5
    warm_start: bool = True
    propmask_bce_weight: float = 1.0
    propmask_end_bias: float = 0.5
    propmask_lr: float | None = 2e-3
    cache_cases: bool = True
    balance_objects: bool = True
    seed: int = 0
    threads: int | None = None
    box2mask: Box2MaskConfig = DEMO_BOX2MASK
    propmask: PropMaskConfig = DEMO_PROPMASK

    def __post_init__(self) -> None:
        if not 0.0 < self.box2mask_share < 1.0:
            raise ValueError(f"DemoSettings.box2mask_share must be in (0, 1), got {self.box2mask_share}")


def _summary(result: TrainResult) -> dict[str, object]:
    last = result.history[-1]
    return {"epochs": result.epochs_completed, "seconds": round(result.seconds, 1), "train_loss": last.train_loss,
            "val_loss": last.val_loss, "val_dice": last.val_dice, "checkpoint_sha256": result.best_sha256}


def train_demo_weights(cases_train: CaseSource, cases_val: CaseSource, out_dir: str | os.PathLike[str], *,
                       budget_s: float, settings: DemoSettings | None = None) -> Path:
    """Train small Box2Mask and PropMask within ``budget_s`` seconds on CPU and write a bundle.

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
            time_budget_s=remaining, bce_weight=settings.propmask_bce_weight, lr=settings.propmask_lr,
            samples=replace(base.samples, end_bias=settings.propmask_end_bias),
            init_from=str(b2m.best_checkpoint) if settings.warm_start else None),
            out / "propmask")
    finally:
        torch.set_num_threads(threads_before)
    bundle = out / DEMO_BUNDLE
    sha = save_bundle(bundle, b2m.best_checkpoint, prop.best_checkpoint)
    report = {"bundle": bundle.name, "bundle_sha256": sha, "budget_s": budget_s,
              "seconds": round(time.perf_counter() - started, 1), "threads": settings.threads or threads_before,
              "settings": {**asdict(replace(settings, box2mask=DEMO_BOX2MASK, propmask=DEMO_PROPMASK)),
                           "box2mask": settings.box2mask.to_dict(), "propmask": settings.propmask.to_dict()},
              "box2mask": _summary(b2m), "propmask": _summary(prop)}
    (out / "demo-training.json").write_text(json.dumps(report, indent=2) + "\n")
    return bundle
