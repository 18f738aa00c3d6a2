"""``propsam train box2mask|propmask``: train a network on a folder of NIfTI image/label pairs.

``propsam train box2mask --data DIR --out OUT [--preset paper|small|tiny] [--config small|paper|tiny] [--epochs N]
[--samples-per-epoch N] [--val-every K] [--keep final|best_validation] [--device cpu|cuda] [--resume] ...``

``--preset`` (default ``small``, sized for a CPU) sets the network and every run setting
(:mod:`propsam.training.presets`); ``--preset paper`` is the paper's recipe. Each other option overrides one value of
the preset. The preset and its key values are printed before training.

DIR layout (see :mod:`propsam.training.data`): ``images/<id>.nii.gz`` and ``labels/<id>.nii.gz`` (each non-zero
label value is one object), optionally ``labels.json`` naming the values. Cases are split 80:20 into training and
validation (``--val-fraction``), seeded. OUT receives ``last.pt``, ``best.pt``, ``final.pt``, ``curves.csv`` and
``curves.png``. The Python API is :func:`propsam.training.train_box2mask` / :func:`propsam.training.train_propmask`.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from propsam.config import NetworkKind, preset
from propsam.training.options import CheckpointChoice, TrainOptions
from propsam.training.presets import describe, training_preset

__all__ = ["register", "run_train"]


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to a ``propsam`` parser; its handler is :func:`run_train`."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "train", help="train Box2Mask or PropMask on NIfTI image/label pairs", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("network", choices=[k.value for k in NetworkKind], help="which network to train")
    p.add_argument("--data", required=True, metavar="DIR", help="folder with images/ and labels/ (NIfTI pairs)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (checkpoints, curves)")
    p.add_argument("--preset", choices=["paper", "small", "tiny"], default="small",
                   help="training preset: network and run settings (default: small, sized for a CPU)")
    p.add_argument("--config", choices=["small", "paper", "tiny"], default=None,
                   help="network size preset (default: the training preset's)")
    p.add_argument("--epochs", type=int, default=None, help="total epochs (default: the preset's)")
    p.add_argument("--samples-per-epoch", type=int, default=None, help="samples or tasks per epoch")
    p.add_argument("--batch-size", type=int, default=None, help="samples or tasks per step")
    p.add_argument("--val-every", type=int, default=None, help="validate every K epochs")
    p.add_argument("--val-samples", type=int, default=None, help="validation samples or tasks")
    p.add_argument("--keep", choices=[c.value for c in CheckpointChoice], default=None,
                   help="the run's result: final weights or lowest validation loss (paper: final)")
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of cases for validation (default: 0.2)")
    p.add_argument("--lr", type=float, default=None, help="initial learning rate (default: 1e-3 / 5e-4)")
    p.add_argument("--min-area", type=int, default=None, help="least mask area of a sampled slice, pixels")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default=None,
                   help="default: bf16 autocast on CUDA, fp32 on CPU")
    p.add_argument("--workers", type=int, default=None, help="data-loader workers (default: 0 on CPU, 8 on CUDA)")
    p.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    p.add_argument("--time-budget", type=float, default=None, metavar="S",
                   help="a guard: fail (keeping OUT/last.pt for --resume) if not done within S seconds")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.set_defaults(handler=run_train)
    return p


def _options(args: argparse.Namespace, base: TrainOptions, description: str) -> tuple[TrainOptions, list[str]]:
    """``base`` with the values given on the command line, and the names of the values overridden."""
    given = {"epochs": args.epochs, "samples_per_epoch": args.samples_per_epoch, "batch_size": args.batch_size,
             "val_every": args.val_every, "val_samples": args.val_samples, "lr": args.lr, "keep": args.keep,
             "precision": args.precision, "workers": args.workers, "time_budget_s": args.time_budget}
    changes: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    overridden = [f"{k}={v}" for k, v in changes.items()]
    if args.min_area is not None:
        changes["samples"] = replace(base.samples, min_area=args.min_area)
        overridden.append(f"min_area={args.min_area}")
    options = replace(base, **changes, device=args.device, seed=args.seed, resume=args.resume,  # type: ignore[arg-type]
                      data_description=description)
    return options, overridden


def run_train(args: argparse.Namespace) -> int:
    """Run ``propsam train`` with parsed arguments; returns the exit status."""
    from propsam.training import read_case_folder, split_cases
    from propsam.training.loop import train_box2mask, train_propmask

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if (Path(args.out) / "last.pt").exists() and not args.resume:
        raise ValueError(f"--out {args.out} already holds a training run (last.pt); add --resume to continue it, or "
                         "choose another output folder")
    kind = NetworkKind(args.network)
    recipe = training_preset(args.preset)
    config = recipe.config(kind) if args.config is None else preset(kind, args.config)
    print(describe(recipe, kind))
    cases = read_case_folder(args.data)
    train, val = split_cases(cases, args.val_fraction, seed=args.seed)
    print(f"{len(cases)} cases in {args.data}: {len(train)} for training, {len(val)} for validation")
    options, overridden = _options(args, recipe.options(kind), f"{args.data}: {[c.case_id for c in train]}")
    if args.config is not None:
        overridden.insert(0, f"network={config.name} ({config.n_outputs} supervised stages)")
    if overridden:
        print(f"overriding the preset: {', '.join(overridden)}")
    trainer = train_box2mask if kind is NetworkKind.BOX2MASK else train_propmask
    result = trainer(train, val, config, options, args.out)  # type: ignore[arg-type]
    final = result.history[-1]
    print(f"{kind.value} ({config.name}): {result.epochs_completed} epochs in {result.seconds:.1f} s; last train "
          f"loss {final.train_loss:.4f}, val loss {final.val_loss}, val Dice {final.val_dice}")
    print(f"result ({result.keep.value}): {result.checkpoint} (sha256 {result.sha256}); also {result.best_checkpoint} "
          f"and {result.last_checkpoint}")
    return 0
