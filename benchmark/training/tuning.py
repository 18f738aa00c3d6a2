"""Tuning of the demo weights' PropMask learning rate and inference margin on the demo TRAINING cases only.

The demo collection's training split (benchmark.splits, as for the demo weights) is split again, seeded: a share of
its cases is held out as the tuning set, the rest trains. For each candidate learning rate the model's demo trainer
(``ModelSpec.demo_trainer``, shortened by its ``shortened(scale, propmask_lr=...)``: a full demo training is minutes
on 2 CPU cores) runs on the fitting cases; each candidate margin (the model's ``min_margin_px`` argument) is then
scored by the mean 3D Dice of every tuning object from a 2D mask prompt on its largest axial slice (objects
whose slice holds more than the protocol's ``min_area``). The validation split, on which the demo figures are
reported, is never read.

Run (writes the grid, each score and the choice)::

    python -m benchmark.training.tuning --out docs/demo-tuning.json [--scale 0.25] [--lrs 5e-4 1e-3 2e-3]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.catalog import load_catalog
from benchmark.data.geometry import Plane
from benchmark.errors import BenchmarkError
from benchmark.home.data_home import DataHome
from benchmark.home.selection import installed_demo_cards
from benchmark.metrics.dice import compute_dice
from benchmark.models.registry import get_spec, load_model, resolve
from benchmark.protocol.object_prompts import ProtocolOptions
from benchmark.protocol.simulation import mask2d_prompt
from benchmark.splits import Subset
from benchmark.training.volumes import TrainingVolume, split_volumes

#: The model whose demo weights are tuned (its 2D-mask variant scores the margins).
TUNED_MODEL = "PropSAM-2DMask"

__all__ = ["TuningSplit", "tuning_split", "score_margins", "main"]


@dataclass(frozen=True)
class TuningSplit:
    """The demo training cases split into fitting and tuning cases (IDs in the order drawn)."""

    fit: tuple[TrainingVolume, ...]
    tune: tuple[TrainingVolume, ...]


def tuning_split(cases: Sequence[TrainingVolume], fraction: float, seed: int) -> TuningSplit:
    """Hold out ``round(fraction * n)`` (at least 1) of ``cases``, drawn by a seeded permutation.

    Raises:
        ValueError: Fewer than 2 cases, or ``fraction`` outside (0, 1).
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"tuning fraction must be in (0, 1), got {fraction}")
    if len(cases) < 2:
        raise ValueError(f"tuning needs at least 2 training cases, got {len(cases)}")
    order = np.random.default_rng(seed).permutation(len(cases))
    n_tune = min(max(1, round(fraction * len(cases))), len(cases) - 1)
    return TuningSplit(fit=tuple(cases[i] for i in order[n_tune:]), tune=tuple(cases[i] for i in order[:n_tune]))


def score_margins(bundle: Path, cases: Sequence[TrainingVolume], margins: Sequence[float],
                  min_area: int) -> dict[str, float]:
    """Mean 3D Dice over every prompted object of ``cases`` from a 2D mask prompt, per margin (px)."""
    scores = {}
    for margin in margins:
        model = load_model(TUNED_MODEL, str(bundle), min_margin_px=float(margin))
        dices = []
        for case in cases:
            for mask in case.masks.values():
                prompt = mask2d_prompt(mask, Plane.AXIAL)
                if int(prompt.mask.sum()) <= min_area:
                    continue
                dices.append(compute_dice(model.segment(case, prompt), mask).dice)
        scores[f"{margin:g}"] = float(np.mean(dices)) if dices else math.nan
        scores["objects"] = len(dices)
    return scores


def _trained(split: TuningSplit, folder: Path, trainer: Any) -> Path:
    """The bundle ``trainer`` writes in ``folder``, reused when an earlier run there had the same trainer key."""
    key_file = folder / "trainer-key.txt"
    if key_file.is_file():
        if key_file.read_text(encoding="utf-8") == trainer.key():
            return Path(json.loads((folder / "bundle.json").read_text(encoding="utf-8"))["bundle"])
        raise BenchmarkError(f"{folder} holds a tuning run of other settings; remove it or choose another --work")
    fit: Sequence[Any] = split.fit  # TrainingVolume has the fields of a TrainingCase (duck-typed by the trainer)
    tune: Sequence[Any] = split.tune
    bundle = Path(trainer(fit, tune, folder))
    (folder / "bundle.json").write_text(json.dumps({"bundle": str(bundle)}), encoding="utf-8")
    key_file.write_text(trainer.key(), encoding="utf-8")
    return bundle


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmark.training.tuning", description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=None, help="the DataLad data home (default $PROPBENCH_HOME)")
    parser.add_argument("--cards", type=Path, default=None, help="folder of dataset cards")
    parser.add_argument("--out", type=Path, required=True, help="JSON file of the grid, scores and choice")
    parser.add_argument("--work", type=Path, default=None, help="folder for the trainings (default: a temporary one)")
    parser.add_argument("--lrs", type=float, nargs="+", default=[5e-4, 1e-3, 2e-3], help="PropMask learning rates")
    parser.add_argument("--margins", type=float, nargs="+", default=[0.0, 2.0, 4.0], help="inference margins, px")
    parser.add_argument("--scale", type=float, default=0.25, help="share of the demo's epochs and cosine period")
    parser.add_argument("--fraction", type=float, default=0.25, help="share of training cases held out for tuning")
    parser.add_argument("--seed", type=int, default=0, help="split seed (the demo weights' split) and hold-out seed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the grid (see the module docstring); the choice is the (lr, margin) of the highest tuning Dice, ties going
    to the earlier candidate in the order given."""
    args = _arguments(argv)
    if not 0.0 < args.scale <= 1.0:
        raise BenchmarkError(f"--scale must be in (0, 1], got {args.scale}")
    home = DataHome.resolve(args.home)
    cards = installed_demo_cards(home, load_catalog(args.cards))
    if not cards:
        raise BenchmarkError(f"no demo dataset installed in {home.path}; run 'propbench datasets demo' first")
    train = split_volumes(home, cards, Subset.TRAIN, seed=args.seed)
    split = tuning_split([train[i] for i in range(len(train))], args.fraction, args.seed)
    spec = get_spec(TUNED_MODEL)
    trainer = resolve(spec.demo_trainer, what=f"demo trainer of {spec.name!r}")
    work = args.work or Path(tempfile.mkdtemp(prefix="demo-tuning-"))
    grid = []
    for lr in args.lrs:
        started = time.perf_counter()
        bundle = _trained(split, work / f"lr-{lr:g}", trainer.shortened(args.scale, propmask_lr=lr))
        scores = score_margins(bundle, split.tune, args.margins, ProtocolOptions().min_area)
        grid.append({"propmask_lr": lr, "mean_dice_by_margin_px": scores,
                     "seconds": round(time.perf_counter() - started, 1)})
        print(f"lr {lr:g}: {scores}", flush=True)
    best = max(((g["propmask_lr"], m, d) for g in grid for m, d in g["mean_dice_by_margin_px"].items()
                if m != "objects"), key=lambda t: t[2])
    record = {"command": " ".join(["python -m benchmark.training.tuning", *(sys.argv[1:] if argv is None else argv)]),
              "fit_cases": [c.case_id for c in split.fit], "tune_cases": [c.case_id for c in split.tune],
              "scale": args.scale, "trainer": spec.demo_trainer, "grid": grid,
              "chosen": {"propmask_lr": best[0], "min_margin_px": float(best[1]), "tuning_dice": best[2]}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"chosen: PropMask lr {best[0]:g}, margin {best[1]} px (tuning Dice {best[2]:.3f}); written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
