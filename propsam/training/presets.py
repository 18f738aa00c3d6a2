"""Named training presets: each network's configuration and run settings, by name (``paper``, ``small``, ``tiny``).

``paper`` holds every value the supplement states (S1.3.2 to S1.3.4 for Box2Mask, S1.4.2 to S1.4.3 for PropMask):

============================  ==================  ==================  =========================
Value                         Box2Mask            PropMask            Source
============================  ==================  ==================  =========================
network                       PAPER_BOX2MASK      PAPER_PROPMASK      S1.3.1, S1.4.1
supervised stages (Eq. 1 S)   6                   6                   S1.3.3 (PropMask: S1.4.3)
loss                          soft Dice, Eq. 1    Eq. 1 over a task   S1.3.3, S1.4.3
optimiser                     AdamW               AdamW               S1.3.3, S1.4.3
initial learning rate         1e-3                5e-4                S1.3.3, S1.4.3
weight decay                  1e-4                1e-4                S1.3.3, S1.4.3
cosine annealing period       100 epochs          100 epochs          S1.3.3, S1.4.3
cosine minimum (eta_min)      1e-5                1e-5                S1.3.3, S1.4.3
samples (tasks) per epoch     10,000              10,000              S1.3.3, S1.4.3
validation                    5,000 every 20 ep.  5,000 every 20 ep.  S1.3.3, S1.4.3
epochs                        4,100               4,500               S1.3.3, S1.4.3
batch size                    1,024 samples       160 tasks           S1.3.3, S1.4.3
targets per task              -                   4                   S1.4.3
result                        final checkpoint    final checkpoint    S1.3.3, S1.4.3
least mask area of a slice    > 100 pixels        > 100 pixels        S1.3.2 (PropMask: as S1.3.2)
box / context scale           U(1.0, 1.25)        U(1.0, 2.0)         S1.3.2, S1.4.2
adjacent-slice window         -                   20 mm, N <= 20      S1.4.2
normalisation percentiles     0.5, 99.5           0.5, 99.5           S1.3.2, S1.4.2
flip probability              0.5                 0.5                 S1.3.2, S1.4.2
brightness/contrast           p 0.5, +-0.2        none                S1.3.2, S1.4.2
rotation                      p 0.5, up to 45 deg p 0.5, up to 45 deg S1.3.2, S1.4.2
input size                    224 x 224           224 x 224           S1.3.2, S1.4.2
============================  ==================  ==================  =========================

What the paper leaves open keeps the :class:`TrainOptions` defaults: the planes slices are drawn on (all three),
the seed, the device and precision. The search grid of the box prompt (S1.3.4) is an inference setting
(:mod:`propsam.inference.box_prompt`; the exhaustive 396 candidates are its default).

``small`` is for a CPU: the ``SMALL_*`` networks (96 x 96), 100 epochs of 1,000 samples or tasks, the Dice loss with
``smooth=1`` (an empty target then still gives a gradient; short runs need it), and the lowest validation loss as the
result, since the weights of a short run still move from one epoch to the next. ``tiny`` is for tests (seconds).
The demo weights have their own documented settings (:mod:`propsam.training.demo`).
"""

from __future__ import annotations

from dataclasses import dataclass

from propsam.config import (
    PAPER_BOX2MASK,
    PAPER_PROPMASK,
    SMALL_BOX2MASK,
    SMALL_PROPMASK,
    TINY_BOX2MASK,
    TINY_PROPMASK,
    Box2MaskConfig,
    NetworkKind,
    PropMaskConfig,
)
from propsam.training.augment import AugmentSettings
from propsam.training.options import DEFAULT_LR, CheckpointChoice, TrainOptions
from propsam.training.samples import SampleSettings

__all__ = ["TrainingPreset", "PAPER", "SMALL", "TINY", "PRESETS", "training_preset", "describe"]


@dataclass(frozen=True)
class TrainingPreset:
    """Configurations and run settings of both networks under one name.

    Attributes:
        name: Registry name.
        description: One line: what the preset is for.
        box2mask: Box2Mask's network configuration.
        propmask: PropMask's network configuration.
        box2mask_options: Box2Mask's run settings.
        propmask_options: PropMask's run settings.
    """

    name: str
    description: str
    box2mask: Box2MaskConfig
    propmask: PropMaskConfig
    box2mask_options: TrainOptions
    propmask_options: TrainOptions

    def __post_init__(self) -> None:
        if not isinstance(self.box2mask, Box2MaskConfig) or not isinstance(self.propmask, PropMaskConfig):
            raise TypeError(f"TrainingPreset {self.name!r} needs a Box2MaskConfig and a PropMaskConfig, got "
                            f"{type(self.box2mask).__name__} and {type(self.propmask).__name__}")

    def config(self, kind: NetworkKind | str) -> Box2MaskConfig | PropMaskConfig:
        """The network configuration of ``kind``."""
        return self.box2mask if NetworkKind(kind) is NetworkKind.BOX2MASK else self.propmask

    def options(self, kind: NetworkKind | str) -> TrainOptions:
        """The run settings of ``kind``."""
        return self.box2mask_options if NetworkKind(kind) is NetworkKind.BOX2MASK else self.propmask_options


def _paper_options(*, epochs: int, batch_size: int, lr: float, augment: AugmentSettings) -> TrainOptions:
    return TrainOptions(epochs=epochs, samples_per_epoch=10_000, batch_size=batch_size, val_every=20,
                        val_samples=5_000, lr=lr, weight_decay=1e-4, cosine_period=100, min_lr=1e-5, smooth=0.0,
                        bce_weight=0.0, keep=CheckpointChoice.FINAL,
                        samples=SampleSettings(min_area=100, box_scale=(1.0, 1.25), context_scale=(1.0, 2.0),
                                               window_mm=20.0, max_slices=20, targets_per_task=4,
                                               percentiles=(0.5, 99.5), end_bias=0.0, balance_objects=False),
                        augment=augment)


#: Every value the supplement states (see the module docstring's table).
PAPER = TrainingPreset(
    name="paper",
    description="the paper's recipe (supplementary S1.3.3, S1.4.3): 224 px networks, weeks on GPUs",
    box2mask=PAPER_BOX2MASK,
    propmask=PAPER_PROPMASK,
    box2mask_options=_paper_options(
        epochs=4_100, batch_size=1_024, lr=1e-3,
        augment=AugmentSettings(p_flip=0.5, p_intensity=0.5, brightness=0.2, contrast=0.2, p_rotate=0.5,
                                max_rotation_deg=45.0, fill=-1.0)),
    propmask_options=_paper_options(
        epochs=4_500, batch_size=160, lr=5e-4,
        augment=AugmentSettings(p_flip=0.5, p_intensity=0.0, p_rotate=0.5, max_rotation_deg=45.0, fill=-1.0)),
)

_SMALL_OPTIONS = TrainOptions(epochs=100, samples_per_epoch=1_000, batch_size=32, val_every=10, val_samples=500,
                              smooth=1.0, keep=CheckpointChoice.BEST_VALIDATION)

#: CPU-sized: the SMALL networks, minutes per epoch on a few cores.
SMALL = TrainingPreset(
    name="small",
    description="CPU-sized: 96 px narrow networks, 100 epochs of 1,000 samples, best validation checkpoint",
    box2mask=SMALL_BOX2MASK,
    propmask=SMALL_PROPMASK,
    box2mask_options=_SMALL_OPTIONS,
    propmask_options=_SMALL_OPTIONS,
)

_TINY_OPTIONS = TrainOptions(epochs=2, samples_per_epoch=8, batch_size=4, val_every=1, val_samples=4, smooth=1.0,
                             samples=SampleSettings(min_area=20), keep=CheckpointChoice.BEST_VALIDATION)

#: For tests: 32 px, four stages, seconds.
TINY = TrainingPreset(
    name="tiny",
    description="tests only: 32 px four-stage networks, 2 epochs of 8 samples",
    box2mask=TINY_BOX2MASK,
    propmask=TINY_PROPMASK,
    box2mask_options=_TINY_OPTIONS,
    propmask_options=_TINY_OPTIONS,
)

#: The registry, by name.
PRESETS: dict[str, TrainingPreset] = {p.name: p for p in (PAPER, SMALL, TINY)}


def training_preset(name: str) -> TrainingPreset:
    """The preset called ``name``.

    Raises:
        ValueError: An unknown name.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown training preset {name!r}; expected one of {sorted(PRESETS)}") from None


def describe(preset: TrainingPreset, kind: NetworkKind | str) -> str:
    """One line of the key values of ``preset`` for ``kind``, as ``propsam train`` prints them."""
    config, o = preset.config(kind), preset.options(kind)
    lr = DEFAULT_LR[NetworkKind(kind)] if o.lr is None else o.lr
    return (f"preset {preset.name!r} ({preset.description}); {NetworkKind(kind).value}: {config.input_size} px, "
            f"{config.n_outputs} supervised stages, {o.epochs} epochs x {o.samples_per_epoch} samples, batch "
            f"{o.batch_size}, lr {lr}, weight decay {o.weight_decay}, cosine period {o.cosine_period} min "
            f"{o.min_lr}, validation {o.val_samples} every {o.val_every} epochs, Dice smooth {o.smooth}, result "
            f"{o.keep.value}")
