"""Demo weights: small Box2Mask and PropMask trained on CPU for a fixed number of steps, written as one bundle.

Settings (the defaults of :class:`DemoSettings`; recorded in each checkpoint's metadata and in
``demo-training.json``). Where they differ from the paper, it is because a few CPU minutes are not the paper's
GPU weeks:

- networks: :data:`DEMO_BOX2MASK` and :data:`DEMO_PROPMASK`, the ``SMALL_*`` presets at 64 x 64 input instead of
  96 x 96 (demo objects span at most ~50 pixels, and a step costs about half as much, so twice the steps fit);
- a fixed step budget, not a time budget, so that the same command gives the same weights on any machine with the
  same software: 80 Box2Mask epochs of 128 samples (batches of 32: 320 steps) and 100 PropMask epochs of 64 tasks
  (batches of 8 tasks of 4 targets: 800 steps): the epochs that the former 300-second budget reached on 2 idle
  CPU cores (about a quarter of the time is Box2Mask's: mask prompts skip it; it serves box prompts and PropMask's
  warm start); a loaded machine takes longer and gives the same weights. Everything is seeded: weights by
  ``seed``, every sample by (seed, epoch, index), and the torch thread count is fixed (``threads``) because float
  sums split over a different number of threads round differently;
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
- PropMask's initial learning rate 2e-3 (``propmask_lr``) instead of the paper's 5e-4, chosen by
  :mod:`benchmark.training.tuning` on a hold-out of 8 of the 30 demo TRAINING cases (never the validation cases the
  reported figures come from), with the step counts cut to 5 % (4 and 5 epochs, cosine period 5): mean 3D Dice from
  a mask prompt 0.655 at 2e-3, 0.491 at 1e-3, 0.356 at 5e-4 (``docs/demo-tuning.json``). So short a run favours
  large rates; the full run was not tuned;
- the paper's optimiser, schedule (cosine period 100 epochs) and augmentation, validation on 64 samples or tasks
  after the last epoch;
- the case sequences are read into memory once (``cache_cases``): the suite's training volumes load from disk on
  every access (about 0.5 s each), which would dominate a sample-per-access training loop.

Output folder::

    out_dir/box2mask/        training run (last.pt, best.pt, curves.csv, curves.png)
    out_dir/propmask/        training run
    out_dir/propsam-small.pt the bundle (propsam.checkpoint), from both runs' best.pt
    out_dir/demo-training.json settings, step counts, wall times and validation Dice of both networks
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from propsam.checkpoint import save_bundle
from propsam.config import SMALL_BOX2MASK, SMALL_PROPMASK, Box2MaskConfig, PropMaskConfig
from propsam.training.data import CaseSource, as_case_sequence
from propsam.training.loop import TrainOptions, TrainResult, train_box2mask, train_propmask
from propsam.training.samples import SampleSettings

__all__ = ["DemoSettings", "DemoTrainer", "DEMO_BUNDLE", "DEMO_BOX2MASK", "DEMO_PROPMASK", "DEMO_TRAINER",
           "settings_record", "train_demo_weights"]

#: File name of the bundle inside ``out_dir``.
DEMO_BUNDLE = "propsam-small.pt"
#: The demo networks: the SMALL presets at 64 x 64 input (see the module docstring).
DEMO_BOX2MASK = replace(SMALL_BOX2MASK, input_size=64, name="small-64")
DEMO_PROPMASK = replace(SMALL_PROPMASK, input_size=64, name="small-64")


@dataclass(frozen=True)
class DemoSettings:
    """Knobs of :func:`train_demo_weights`; the defaults are the demo's choices, explained in the module docstring.

    Every field changes the weights, so every field is part of the demo-weights cache key (:meth:`DemoTrainer.key`).

    Attributes:
        box2mask_epochs: Box2Mask epochs.
        propmask_epochs: PropMask epochs.
        box2mask_samples_per_epoch: Box2Mask samples per epoch.
        box2mask_batch_size: Box2Mask samples per step.
        propmask_tasks_per_epoch: PropMask tasks per epoch.
        propmask_batch_size: PropMask tasks per step.
        val_samples: Validation samples or tasks (after the last epoch).
        min_area: Smallest eligible cross-section, pixels (exclusive).
        warm_start: Warm-start PropMask from the trained Box2Mask.
        propmask_bce_weight: Binary cross-entropy added to PropMask's Dice loss.
        propmask_end_bias: ``SampleSettings.end_bias`` of PropMask's tasks.
        propmask_lr: PropMask's initial learning rate; None: the paper's 5e-4.
        cosine_period: Cosine annealing period of both networks, epochs (the paper's 100).
        cache_cases: Read the case sequences into memory once before training.
        balance_objects: ``SampleSettings.balance_objects`` of both networks.
        seed: Seed of weights and samples.
        threads: torch CPU threads during training (results depend on it); None: leave torch's setting.
        box2mask: Box2Mask configuration.
        propmask: PropMask configuration (same channels as ``box2mask`` for the warm start).
    """

    box2mask_epochs: int = 80
    propmask_epochs: int = 100
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
    cosine_period: int = 100
    cache_cases: bool = True
    balance_objects: bool = True
    seed: int = 0
    threads: int | None = 2
    box2mask: Box2MaskConfig = DEMO_BOX2MASK
    propmask: PropMaskConfig = DEMO_PROPMASK

    def __post_init__(self) -> None:
        for name in ("box2mask_epochs", "propmask_epochs", "box2mask_samples_per_epoch", "box2mask_batch_size",
                     "propmask_tasks_per_epoch", "propmask_batch_size", "val_samples", "cosine_period"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"DemoSettings.{name} must be a positive int, got {value!r}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"DemoSettings.threads must be >= 1 or None, got {self.threads}")


def settings_record(settings: DemoSettings) -> dict[str, object]:
    """Every value of ``settings`` as JSON-ready data (network configurations included)."""
    return {**asdict(replace(settings, box2mask=DEMO_BOX2MASK, propmask=DEMO_PROPMASK)),
            "box2mask": settings.box2mask.to_dict(), "propmask": settings.propmask.to_dict()}


def _summary(result: TrainResult, options: TrainOptions) -> dict[str, object]:
    last = result.history[-1]
    return {"epochs": result.epochs_completed, "steps": result.epochs_completed * -(-options.samples_per_epoch
                                                                                     // options.batch_size),
            "seconds": round(result.seconds, 1), "train_loss": last.train_loss, "val_loss": last.val_loss,
            "val_dice": last.val_dice, "checkpoint_sha256": result.best_sha256}


def _options(settings: DemoSettings, n_train: int, n_val: int) -> tuple[TrainOptions, TrainOptions]:
    base = TrainOptions(val_every=100_000, val_samples=settings.val_samples, seed=settings.seed,
                        cosine_period=settings.cosine_period,
                        samples=SampleSettings(min_area=settings.min_area, balance_objects=settings.balance_objects),
                        data_description=f"{n_train} training cases, {n_val} validation cases (demo)")
    b2m = replace(base, epochs=settings.box2mask_epochs, samples_per_epoch=settings.box2mask_samples_per_epoch,
                  batch_size=settings.box2mask_batch_size)
    prop = replace(base, epochs=settings.propmask_epochs, samples_per_epoch=settings.propmask_tasks_per_epoch,
                   batch_size=settings.propmask_batch_size, bce_weight=settings.propmask_bce_weight,
                   lr=settings.propmask_lr, samples=replace(base.samples, end_bias=settings.propmask_end_bias))
    return b2m, prop


def train_demo_weights(cases_train: CaseSource, cases_val: CaseSource, out_dir: str | os.PathLike[str], *,
                       settings: DemoSettings | None = None) -> Path:
    """Train small Box2Mask and PropMask for the settings' fixed epochs on CPU and write a bundle.

    The same cases and settings give the same weights, bit for bit, on any machine with the same software.

    Args:
        cases_train: Training cases.
        cases_val: Validation cases (the reported Dice is on 2D samples of these, at network resolution).
        out_dir: Output folder (see the module docstring); must not hold earlier runs.
        settings: Demo settings.

    Returns:
        The bundle file.

    Raises:
        ValueError: No usable cases.
        FileExistsError: ``out_dir`` holds an earlier run.
    """
    settings = settings or DemoSettings()
    out = Path(out_dir)
    train = as_case_sequence(cases_train, argument="cases_train")
    val = as_case_sequence(cases_val, argument="cases_val")
    if settings.cache_cases:
        train, val = [train[i] for i in range(len(train))], [val[i] for i in range(len(val))]
    b2m_options, prop_options = _options(settings, len(train), len(val))
    threads_before = torch.get_num_threads()
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    started = time.perf_counter()
    try:
        b2m = train_box2mask(train, val, settings.box2mask, b2m_options, out / "box2mask")
        prop = train_propmask(train, val, settings.propmask, replace(
            prop_options, init_from=str(b2m.best_checkpoint) if settings.warm_start else None), out / "propmask")
    finally:
        torch.set_num_threads(threads_before)
    bundle = out / DEMO_BUNDLE
    sha = save_bundle(bundle, b2m.best_checkpoint, prop.best_checkpoint)
    report = {"bundle": bundle.name, "bundle_sha256": sha, "seconds": round(time.perf_counter() - started, 1),
              "threads": settings.threads or threads_before, "settings": settings_record(settings),
              "box2mask": _summary(b2m, b2m_options), "propmask": _summary(prop, prop_options)}
    (out / "demo-training.json").write_text(json.dumps(report, indent=2) + "\n")
    return bundle


@dataclass(frozen=True)
class DemoTrainer:
    """A demo trainer for the suite's demo-weights cache: :func:`train_demo_weights` with fixed settings and a key.

    Attributes:
        settings: The demo settings.
    """

    settings: DemoSettings = DemoSettings()

    def key(self) -> str:
        """Every setting that changes the weights, as canonical JSON (part of the demo-weights cache key)."""
        return json.dumps(_canonical(settings_record(self.settings)), sort_keys=True, separators=(",", ":"))

    def __call__(self, cases_train: CaseSource, cases_val: CaseSource, out_dir: str | os.PathLike[str]) -> Path:
        """Train and write the bundle (see :func:`train_demo_weights`)."""
        return train_demo_weights(cases_train, cases_val, out_dir, settings=self.settings)

    def shortened(self, scale: float, *, propmask_lr: float) -> DemoTrainer:
        """The same trainer with its epochs and cosine period scaled by ``scale`` (rounded up) and PropMask's
        learning rate set, for tuning runs (benchmark.training.tuning).

        Raises:
            ValueError: ``scale`` outside (0, 1] or a non-positive learning rate.
        """
        if not 0.0 < scale <= 1.0 or not propmask_lr > 0:
            raise ValueError(f"DemoTrainer.shortened: scale must be in (0, 1] and propmask_lr > 0, got {scale} and "
                             f"{propmask_lr}")
        s = self.settings
        return DemoTrainer(replace(s, box2mask_epochs=math.ceil(s.box2mask_epochs * scale),
                                   propmask_epochs=math.ceil(s.propmask_epochs * scale),
                                   cosine_period=math.ceil(s.cosine_period * scale), propmask_lr=propmask_lr))


def _canonical(value: object) -> object:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


#: The demo trainer the model registry names for PropSAM.
DEMO_TRAINER = DemoTrainer()
