"""Settings of a training run (:class:`TrainOptions`), which checkpoint is its result, the paper's learning rates.

Named presets holding these settings (``paper``, ``small``, ``tiny``) are in :mod:`propsam.training.presets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from propsam.checkpoint import NetworkKind
from propsam.inference.runtime import Precision, parse_precision
from propsam.options import parse_enum
from propsam.training.augment import AugmentSettings
from propsam.training.samples import SampleSettings

__all__ = ["CheckpointChoice", "TrainOptions", "DEFAULT_LR"]

#: The paper's initial learning rates.
DEFAULT_LR = {NetworkKind.BOX2MASK: 1e-3, NetworkKind.PROPMASK: 5e-4}


class CheckpointChoice(str, Enum):
    """Which weights a training run gives as its result (:attr:`TrainResult.checkpoint`)."""

    #: The weights after the last epoch, ``final.pt``: the paper ships "the latest checkpoint" (S1.3.3, S1.4.3).
    FINAL = "final"
    #: The weights of the lowest validation loss, ``best.pt``.
    BEST_VALIDATION = "best_validation"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class TrainOptions:
    """Settings of one training run.

    The defaults are the paper's except ``epochs``, ``batch_size``, ``val_samples`` and ``smooth`` (1.0, not the
    paper's 0); :data:`propsam.training.presets.PAPER` holds every value the paper states.

    Attributes:
        epochs: Total epochs (a resumed run continues up to this number; paper: 4,100 and 4,500).
        samples_per_epoch: Samples (Box2Mask) or tasks (PropMask) per epoch.
        batch_size: Samples or tasks per optimisation step (paper: 1,024 and 160).
        val_every: Validate every this many epochs (and after the last).
        val_samples: Validation samples or tasks (a fixed seeded set).
        lr: Initial learning rate; None: 1e-3 (Box2Mask) or 5e-4 (PropMask).
        weight_decay: AdamW weight decay.
        cosine_period: Cosine annealing period T_max, epochs.
        min_lr: Cosine annealing minimum.
        device: torch device.
        precision: None: bf16 autocast on CUDA (fp16 where bf16 is unsupported), fp32 on CPU; or "fp32"/"bf16"/"fp16".
        workers: Data-loader workers; None: 0 on CPU, min(8, CPUs) on CUDA.
        seed: Seeds weights initialisation and every sample.
        resume: Continue from ``out_dir/last.pt`` if it exists.
        smooth: Smoothing term of the Dice loss (propsam.losses); 0 is Eq. 1 exactly (the paper).
        bce_weight: Weight of a binary cross-entropy term added to the Dice loss (propsam.losses); 0 (the paper)
            keeps Eq. 1 alone.
        samples: Sampling settings.
        augment: Augmentation settings (PropMask uses flips and rotations only).
        time_budget_s: A guard, not a stopping rule: fail (``TrainingBudgetError``, ``last.pt`` kept) when an epoch
            before the last ends past this wall time, s; None: no limit. Runs are bounded by ``epochs`` alone, so
            the same settings give the same weights on a busy machine as on an idle one.
        data_description: Free text stored in checkpoint metadata.
        init_from: PropMask only: a Box2Mask checkpoint of the same channels to warm-start from
            (:meth:`PropMask.init_from_box2mask`); ignored when resuming. None: random initialisation (the paper).
        keep: Which checkpoint is the run's result: the final weights (the paper) or the best validation loss.
    """

    epochs: int = 100
    samples_per_epoch: int = 10_000
    batch_size: int = 32
    val_every: int = 20
    val_samples: int = 5_000
    lr: float | None = None
    weight_decay: float = 1e-4
    cosine_period: int = 100
    min_lr: float = 1e-5
    device: str = "cpu"
    precision: Precision | str | None = None
    workers: int | None = None
    seed: int = 0
    resume: bool = False
    smooth: float = 1.0
    bce_weight: float = 0.0
    samples: SampleSettings = field(default_factory=SampleSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    time_budget_s: float | None = None
    data_description: str = ""
    init_from: str | None = None
    keep: CheckpointChoice = CheckpointChoice.FINAL

    def __post_init__(self) -> None:
        object.__setattr__(self, "keep", parse_enum(CheckpointChoice, self.keep, argument="TrainOptions.keep",
                                                    what="checkpoint choice"))
        if self.smooth < 0:
            raise ValueError(f"TrainOptions.smooth must be >= 0, got {self.smooth}")
        for name in ("epochs", "samples_per_epoch", "batch_size", "val_every", "val_samples", "cosine_period"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainOptions.{name} must be a positive int, got {value!r}")
        if self.workers is not None and self.workers < 0:
            raise ValueError(f"TrainOptions.workers must be >= 0 or None, got {self.workers}")
        if self.precision is not None:
            object.__setattr__(self, "precision", parse_precision(self.precision, argument="TrainOptions.precision"))
