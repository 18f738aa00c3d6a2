"""Training of Box2Mask and PropMask: cases, samples and tasks, augmentation, loops, loss curves."""

from __future__ import annotations

from propsam.training.augment import AugmentSettings
from propsam.training.curves import EpochRecord
from propsam.training.data import TrainingCase, read_case_folder, split_cases
from propsam.training.loop import TrainResult, train_box2mask, train_propmask
from propsam.training.options import CheckpointChoice, TrainOptions
from propsam.training.presets import PRESETS, TrainingPreset, training_preset
from propsam.training.samples import SampleSettings

__all__ = [
    "AugmentSettings",
    "CheckpointChoice",
    "EpochRecord",
    "PRESETS",
    "SampleSettings",
    "TrainOptions",
    "TrainResult",
    "TrainingPreset",
    "TrainingCase",
    "read_case_folder",
    "split_cases",
    "train_box2mask",
    "train_propmask",
    "training_preset",
]
