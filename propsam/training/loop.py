"""Training loops of Box2Mask and PropMask (supplementary S1.3.3 and S1.4.3).

Defaults are the paper's: AdamW (learning rate 1e-3 for Box2Mask, 5e-4 for PropMask; weight decay 1e-4), cosine
annealing stepped per epoch (period 100 epochs, minimum 1e-5), epochs of 10,000 samples (PropMask: tasks of a guide
and four targets), validation on 5,000 samples every 20 epochs, the deep-supervision soft Dice loss of Eq. 1.
The paper's batch sizes (1,024 samples, 160 tasks) are left to the caller; the default 32 suits one GPU.

Output folder::

    out_dir/last.pt       checkpoint after every epoch, with the training state (optimizer, scheduler, epoch, RNG)
    out_dir/best.pt       checkpoint of the lowest validation loss (no training state)
    out_dir/final.pt      the weights after the last epoch (no training state), written at the end

The run's result (:attr:`TrainResult.checkpoint`) is ``final.pt``, as the paper ships the latest checkpoint, or
``best.pt`` with ``TrainOptions.keep=CheckpointChoice.BEST_VALIDATION``.
    out_dir/curves.csv    one row per epoch (propsam.training.curves)
    out_dir/curves.png    the loss plot, written at the end

``resume=True`` continues from ``last.pt`` exactly: same weights, optimizer and scheduler state, next epoch, RNG
state; samples are seeded per (seed, epoch, index), so the resumed run draws what the uninterrupted one would have.
``time_budget_s`` is a guard, not a stopping rule: a run that passes it fails with :class:`TrainingBudgetError`
after saving ``last.pt`` (so ``resume=True`` continues it), instead of returning weaker weights as if complete.
On a GPU the forward passes run under bf16 autocast (fp16 with gradient scaling where bf16 is unsupported) and
samples are prepared by data-loader workers.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from propsam.checkpoint import (
    CheckpointError,
    NetworkKind,
    TrainingMetadata,
    file_sha256,
    load_checkpoint,
    load_training_state,
    save_checkpoint,
)
from propsam.config import Box2MaskConfig, NetworkConfig, PropMaskConfig
from propsam.networks import build_network
from propsam.training.augment import NO_AUGMENTATION
from propsam.training.batches import TRAIN_STREAM, VAL_STREAM, SampleStream
from propsam.training.curves import EpochRecord, plot_curves, write_curves_csv
from propsam.training.data import CaseSource, as_case_sequence
from propsam.training.epochs import EpochRunner, resolve_precision
from propsam.training.options import DEFAULT_LR, CheckpointChoice, TrainOptions
from propsam.training.samples import build_index

__all__ = ["CheckpointChoice", "TrainOptions", "TrainResult", "TrainingBudgetError", "train_box2mask",
           "train_propmask", "DEFAULT_LR"]

_log = logging.getLogger("propsam.training")


class TrainingBudgetError(RuntimeError):
    """A run passed ``TrainOptions.time_budget_s`` before its last epoch (its ``last.pt`` is kept for a resume)."""

@dataclass(frozen=True)
class TrainResult:
    """What a training run produced.

    Attributes:
        kind: Which network.
        out_dir: The output folder.
        last_checkpoint: ``out_dir/last.pt``.
        best_checkpoint: ``out_dir/best.pt`` (the last one when there is no validation set).
        best_sha256: Checksum of ``best.pt``.
        history: One record per epoch, including epochs before a resume.
        epochs_completed: Epochs done.
        seconds: Wall time of this call, s.
        final_checkpoint: ``out_dir/final.pt``, the weights after the last epoch.
        final_sha256: Checksum of ``final.pt``.
        keep: Which of the two is the run's result (``TrainOptions.keep``).
    """

    kind: NetworkKind
    out_dir: Path
    last_checkpoint: Path
    best_checkpoint: Path
    best_sha256: str
    history: tuple[EpochRecord, ...]
    epochs_completed: int
    seconds: float
    final_checkpoint: Path
    final_sha256: str
    keep: CheckpointChoice = CheckpointChoice.FINAL

    @property
    def checkpoint(self) -> Path:
        """The run's result: ``final.pt`` or ``best.pt``, as ``keep`` says."""
        return self.final_checkpoint if self.keep is CheckpointChoice.FINAL else self.best_checkpoint

    @property
    def sha256(self) -> str:
        """Checksum of :attr:`checkpoint`."""
        return self.final_sha256 if self.keep is CheckpointChoice.FINAL else self.best_sha256


def train_box2mask(cases_train: CaseSource, cases_val: CaseSource | None, config: Box2MaskConfig,
                   options: TrainOptions, out_dir: str | os.PathLike[str]) -> TrainResult:
    """Train Box2Mask (see the module docstring for the output folder).

    Args:
        cases_train: Training cases.
        cases_val: Validation cases (None or empty: no validation; best.pt is then the last epoch).
        config: Network configuration.
        options: Run settings.
        out_dir: Output folder.

    Raises:
        TypeError: ``config`` is not a Box2MaskConfig.
        ValueError: No cases or no eligible slice.
        FileExistsError: ``out_dir`` holds a run and ``resume`` is off.
        TrainingBudgetError: ``options.time_budget_s`` passed before the last epoch.
    """
    if not isinstance(config, Box2MaskConfig):
        raise TypeError(f"train_box2mask config must be a Box2MaskConfig, got {type(config).__name__}")
    return replace(_train(NetworkKind.BOX2MASK, cases_train, cases_val, config, options, Path(out_dir)),
                   keep=options.keep)


def train_propmask(cases_train: CaseSource, cases_val: CaseSource | None, config: PropMaskConfig,
                   options: TrainOptions, out_dir: str | os.PathLike[str]) -> TrainResult:
    """Train PropMask; as :func:`train_box2mask`, with tasks instead of samples and flips/rotations only."""
    if not isinstance(config, PropMaskConfig):
        raise TypeError(f"train_propmask config must be a PropMaskConfig, got {type(config).__name__}")
    # The paper augments PropMask tasks with flips and rotations only.
    options = replace(options, augment=replace(options.augment, p_intensity=0.0))
    return replace(_train(NetworkKind.PROPMASK, cases_train, cases_val, config, options, Path(out_dir)),
                   keep=options.keep)


def _streams(kind: NetworkKind, config: NetworkConfig, options: TrainOptions, cases_train: CaseSource,
             cases_val: CaseSource | None) -> tuple[SampleStream, SampleStream | None]:
    train = as_case_sequence(cases_train, argument="cases_train")
    base = SampleStream(kind=kind, cases=train, refs=build_index(train, options.samples), size=config.input_size,
                        samples=options.samples, augment=options.augment, seed=options.seed, stream=TRAIN_STREAM,
                        epoch=0, length=options.samples_per_epoch)
    val_list = [] if cases_val is None else list(cases_val)
    if not val_list:
        return base, None
    val = as_case_sequence(val_list, argument="cases_val")
    return base, replace(base, cases=val, refs=build_index(val, options.samples), augment=NO_AUGMENTATION,
                         stream=VAL_STREAM, length=options.val_samples)


def _train(kind: NetworkKind, cases_train: CaseSource, cases_val: CaseSource | None, config: NetworkConfig,
           options: TrainOptions, out_dir: Path) -> TrainResult:
    started = time.perf_counter()
    last, best = out_dir / "last.pt", out_dir / "best.pt"
    if last.exists() and not options.resume:
        raise FileExistsError(f"{out_dir} already holds a training run (last.pt); pass resume=True (--resume) to "
                              "continue it, or choose another output folder")
    device = torch.device(options.device)
    torch.manual_seed(options.seed)
    network = build_network(config).to(device)
    runner = EpochRunner.create(kind, network, options, device, resolve_precision(options.precision, device),
                                DEFAULT_LR[kind] if options.lr is None else options.lr)
    history: list[EpochRecord] = []
    best_val: float | None = None
    if options.init_from is not None and kind is NetworkKind.PROPMASK and not (options.resume and last.exists()):
        _warm_start(network, options.init_from)
    if options.resume and last.exists():
        history, best_val = _restore(last, kind, config, network, runner, device)
        _log.info("resuming %s from %s after epoch %d", kind.value, last, len(history))
    train_stream, val_stream = _streams(kind, config, options, cases_train, cases_val)
    for epoch in range(len(history) + 1, options.epochs + 1):
        t0 = time.perf_counter()
        lr = runner.lr
        train_loss = runner.train_epoch(replace(train_stream, epoch=epoch))
        validate = val_stream is not None and (epoch % options.val_every == 0 or epoch == options.epochs)
        val_loss, val_dice = runner.validate(val_stream) if validate and val_stream is not None else (None, None)
        record = EpochRecord(epoch, train_loss, val_loss, val_dice, lr, time.perf_counter() - t0)
        history.append(record)
        _log.info("%s epoch %d: train %.4f val %s dice %s lr %.2e (%.1f s)", kind.value, epoch, train_loss,
                  val_loss, val_dice, lr, record.seconds)
        metadata = _metadata(record, options)
        if val_loss is not None and (best_val is None or val_loss < best_val):
            best_val = val_loss
            save_checkpoint(best, network, config, kind=kind, metadata=metadata)
        save_checkpoint(last, network, config, kind=kind, metadata=metadata,
                        training_state=runner.state(epoch, [r.to_dict() for r in history], best_val))
        write_curves_csv(history, out_dir / "curves.csv")
        _check_budget(kind, options, epoch, time.perf_counter() - started, last)
    return _finish(kind, out_dir, config, history, started)


def _check_budget(kind: NetworkKind, options: TrainOptions, epoch: int, seconds: float, last: Path) -> None:
    """Fail loudly when the time guard has passed before the last epoch: never ship a silently shortened run."""
    if options.time_budget_s is None or epoch >= options.epochs or seconds < options.time_budget_s:
        return
    raise TrainingBudgetError(
        f"{kind.value} training passed its time budget: {seconds:.1f} s >= time_budget_s={options.time_budget_s:g} s "
        f"after epoch {epoch} of {options.epochs}; expected all {options.epochs} epochs within the budget. The run "
        f"is saved in {last}: raise the budget and pass resume=True (--resume) to finish it")


def _warm_start(network: torch.nn.Module, path: str) -> None:
    source = load_checkpoint(path, kind=NetworkKind.BOX2MASK)
    try:
        network.init_from_box2mask(source.network)  # type: ignore[operator]
    except ValueError as err:
        raise CheckpointError(f"TrainOptions.init_from {path}: {err}") from err
    _log.info("PropMask warm-started from Box2Mask %s (sha256 %s)", path, source.sha256[:12])


def _metadata(record: EpochRecord, options: TrainOptions) -> TrainingMetadata:
    notes = (f"batch_size={options.batch_size}, weight_decay={options.weight_decay}, cosine_period="
             f"{options.cosine_period}, min_lr={options.min_lr}, smooth={options.smooth}, "
             f"bce_weight={options.bce_weight}, {options.samples}, {options.augment}")
    if options.init_from is not None:
        notes += f", init_from={options.init_from}"
    return TrainingMetadata(epochs=record.epoch, samples_per_epoch=options.samples_per_epoch,
                            train_loss=record.train_loss, val_loss=record.val_loss, val_dice=record.val_dice,
                            seed=options.seed, data=options.data_description, notes=notes)


def _restore(last: Path, kind: NetworkKind, config: NetworkConfig, network: torch.nn.Module, runner: EpochRunner,
             device: torch.device) -> tuple[list[EpochRecord], float | None]:
    loaded = load_checkpoint(last, kind=kind, config=config, map_location=device)
    network.load_state_dict(loaded.network.state_dict())
    state = load_training_state(last, map_location="cpu")
    runner.load_state(state, device)
    history = [EpochRecord(**r) for r in state["history"]]
    best = state.get("best_val_loss")
    return history, None if best is None else float(best)


def _finish(kind: NetworkKind, out_dir: Path, config: NetworkConfig, history: Sequence[EpochRecord],
            started: float) -> TrainResult:
    last, best, final = out_dir / "last.pt", out_dir / "best.pt", out_dir / "final.pt"
    loaded = load_checkpoint(last, kind=kind)
    # The last epoch's weights without the training state: the paper's shipped checkpoint.
    final_sha256 = save_checkpoint(final, loaded.network, config, kind=kind, metadata=loaded.metadata)
    if not best.exists():  # no validation set: the last weights are the best too
        save_checkpoint(best, loaded.network, config, kind=kind, metadata=loaded.metadata)
    try:
        plot_curves(history, out_dir / "curves.png", title=f"{kind.value} ({config.name}) loss curves")
    except ImportError as err:
        _log.warning("no loss plot: %s", err)
    return TrainResult(kind=kind, out_dir=out_dir, last_checkpoint=last, best_checkpoint=best,
                       best_sha256=file_sha256(best), history=tuple(history),
                       epochs_completed=len(history), seconds=time.perf_counter() - started,
                       final_checkpoint=final, final_sha256=final_sha256)
