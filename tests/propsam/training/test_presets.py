"""The training presets: every value of ``paper`` against the supplement, six supervised stages, the final checkpoint.

The expected numbers below are copied from the supplementary text (section cited on each row), not from the code.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from propsam.checkpoint import load_checkpoint, save_checkpoint
from propsam.config import TINY_BOX2MASK, NetworkKind, config_from_dict
from propsam.losses import deep_supervision_dice_loss
from propsam.networks import Box2Mask, PropMask, build_network, count_parameters
from propsam.training.loop import train_box2mask
from propsam.training.options import CheckpointChoice, TrainOptions
from propsam.training.presets import PAPER, PRESETS, SMALL, TINY, describe, training_preset
from tests.propsam.training.phantoms import phantom_case

B, P = NetworkKind.BOX2MASK, NetworkKind.PROPMASK

#: (network, dotted attribute of the preset's TrainOptions, value stated, section of the supplement)
PAPER_TABLE: list[tuple[NetworkKind, str, Any, str]] = [
    (B, "epochs", 4_100, "S1.3.3: 'The training lasted for 4,100 epochs'"),
    (P, "epochs", 4_500, "S1.4.3: 'The training extended over 4,500 epochs'"),
    (B, "batch_size", 1_024, "S1.3.3: 'with a batch size of 1,024'"),
    (P, "batch_size", 160, "S1.4.3: 'with a batch size of 160'"),
    (B, "samples_per_epoch", 10_000, "S1.3.3: 'we randomly selected 10,000 samples for training'"),
    (P, "samples_per_epoch", 10_000, "S1.4.3: 'we randomly selected 10,000 tasks per epoch'"),
    (B, "val_samples", 5_000, "S1.3.3: 'a set of 5,000 randomly sampled validation samples'"),
    (P, "val_samples", 5_000, "S1.4.3: 'a set of 5,000 randomly selected validation tasks'"),
    (B, "val_every", 20, "S1.3.3: 'conducted evaluations every 20 epochs'"),
    (P, "val_every", 20, "S1.4.3: 'Evaluations were conducted every 20 epochs'"),
    (B, "lr", 1e-3, "S1.3.3: 'an initial learning rate of 1e-3'"),
    (P, "lr", 5e-4, "S1.4.3: 'a learning rate of 5e-4'"),
    (B, "weight_decay", 1e-4, "S1.3.3: 'a weight decay of 1e-4'"),
    (P, "weight_decay", 1e-4, "S1.4.3: 'a weight decay of 1e-4'"),
    (B, "cosine_period", 100, "S1.3.3: 'Cosine Annealing LR schedule with a maximum period of 100 epochs'"),
    (P, "cosine_period", 100, "S1.4.3: 'a maximum period of 100 epochs'"),
    (B, "min_lr", 1e-5, "S1.3.3: 'a minimum eta of 1e-5'"),
    (P, "min_lr", 1e-5, "S1.4.3: 'a minimum eta of 1e-5'"),
    (B, "smooth", 0.0, "S1.3.3 Eq. 1: soft Dice with no smoothing term"),
    (P, "smooth", 0.0, "S1.4.3: the loss of S1.3.3"),
    (B, "bce_weight", 0.0, "S1.3.3 Eq. 1: soft Dice alone"),
    (P, "bce_weight", 0.0, "S1.4.3: the loss of S1.3.3"),
    (B, "keep", CheckpointChoice.FINAL, "S1.3.3: 'We selected the latest checkpoint as the final weight'"),
    (P, "keep", CheckpointChoice.FINAL, "S1.4.3: 'We chose the most recent checkpoint as the final weight'"),
    (P, "samples.targets_per_task", 4, "S1.4.3: 'the guiding slice and four randomly sampled adjacent slices'"),
    (B, "samples.min_area", 100, "S1.3.2 step 1: 'any mask annotation with an area exceeding 100 pixels'"),
    (B, "samples.box_scale", (1.0, 1.25), "S1.3.2 step 1: 'a scaling ratio bewteen 1.0 to 1.25'"),
    (P, "samples.context_scale", (1.0, 2.0), "S1.4.2 step 1: 'a scaling ratio between 1.0 to 2.0'"),
    (P, "samples.window_mm", 20.0, "S1.4.2: 'within a 20mm range'"),
    (P, "samples.max_slices", 20, "S1.4.2: 'the maximum number N of adjacent slices set at 20'"),
    (B, "samples.percentiles", (0.5, 99.5), "S1.3.2 step 2: 'the 0.5th and 99.5th percentiles'"),
    (P, "samples.percentiles", (0.5, 99.5), "S1.4.2 step 2: 'the 0.5th and 99.5th percentiles'"),
    (B, "augment.p_flip", 0.5, "S1.3.2 step 3: 'a 50% chance of being flipped'"),
    (P, "augment.p_flip", 0.5, "S1.4.2 step 3: 'a 50% chance of being flipped'"),
    (B, "augment.p_intensity", 0.5, "S1.3.2 step 3: 'brightness and contrast, also with a 50% probability'"),
    (P, "augment.p_intensity", 0.0, "S1.4.2 step 3: flips and rotations only"),
    (B, "augment.brightness", 0.2, "S1.3.2 step 3: 'adjustment ranges to [-0.2, 0.2]'"),
    (B, "augment.contrast", 0.2, "S1.3.2 step 3: 'adjustment ranges to [-0.2, 0.2]'"),
    (B, "augment.p_rotate", 0.5, "S1.3.2 step 3: 'rotated randomly up to 45 degrees with a 50% probability'"),
    (P, "augment.p_rotate", 0.5, "S1.4.2 step 3: 'rotated up to 45 degrees with a 50% probability'"),
    (B, "augment.max_rotation_deg", 45.0, "S1.3.2 step 3: 'up to 45 degrees'"),
    (P, "augment.max_rotation_deg", 45.0, "S1.4.2 step 3: 'up to 45 degrees'"),
    (B, "augment.fill", -1.0, "S1.3.2 step 3: 'a constant value (typically black)'"),
]


def _get(obj: object, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize(("kind", "attribute", "stated", "source"), PAPER_TABLE,
                         ids=[f"{k.value}-{a}" for k, a, _, _ in PAPER_TABLE])
def test_paper_preset_value_is_the_supplements(kind: NetworkKind, attribute: str, stated: Any, source: str) -> None:
    assert _get(PAPER.options(kind), attribute) == stated, source


@pytest.mark.parametrize(("kind", "stated"), [(B, 20_618_661 + 513), (P, 31_271_173 + 513)])
def test_paper_networks_supervise_six_stages(kind: NetworkKind, stated: int) -> None:
    # S1.3.3: predictions at "six distinct stages ... S = 6"; S1.3.1: 20.62 M parameters.
    config = PAPER.config(kind)
    assert config.input_size == 224 and config.n_outputs == 6  # S1.3.2: 224 x 224
    assert config.output_sizes == (224, 112, 56, 28, 14, 7)
    with torch.device("meta"):
        network = Box2Mask(config) if kind is B else PropMask(config)  # type: ignore[arg-type]
    assert count_parameters(network) == stated
    if kind is B:
        assert round(stated / 1e6, 2) == 20.62


def test_paper_loss_is_eq1_over_six_stages() -> None:
    # Eq. 1 written out with the paper preset's own loss setting: mean over six stages of 1 - 2 sum(PM) / (sum(P^2)
    # + sum(M^2)), on a small object where a smoothing term of 1 changes the value.
    torch.manual_seed(0)
    target = torch.zeros(1, 1, 64, 64)
    target[0, 0, 28:36, 28:36] = 1
    logits = [torch.randn(1, 1, 64 // 2**s, 64 // 2**s) for s in range(6)]
    expected = 0.0
    for stage in logits:
        p = torch.sigmoid(stage)
        m = (torch.nn.functional.adaptive_avg_pool2d(target, stage.shape[-2:]) >= 0.5).float()
        expected += (1 - 2 * float((p * m).sum()) / float((p**2).sum() + (m**2).sum())) / 6
    options = PAPER.options(B)
    loss = deep_supervision_dice_loss(logits, target, smooth=options.smooth, bce_weight=options.bce_weight)
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_registry_and_descriptions() -> None:
    assert set(PRESETS) == {"paper", "small", "tiny"} and training_preset("small") is SMALL
    assert training_preset("tiny") is TINY and SMALL.config(B).input_size == 96
    line = describe(PAPER, "box2mask")
    assert "'paper'" in line and "4100 epochs x 10000 samples" in line and "batch 1024" in line
    assert "6 supervised stages" in line and "result final" in line
    with pytest.raises(ValueError, match=r"unknown training preset 'huge'; expected one of \['paper', 'small'"):
        training_preset("huge")
    with pytest.raises(ValueError, match="TrainOptions.keep: unknown checkpoint choice 'latest'"):
        TrainOptions(keep="latest")  # type: ignore[arg-type]


def test_old_five_head_checkpoints_still_load(tmp_path: Path) -> None:
    # A checkpoint written before the sixth head: its stored configuration has no bottleneck_head key.
    five = build_network(TINY_BOX2MASK)
    save_checkpoint(tmp_path / "old.pt", five, TINY_BOX2MASK, kind=B)
    data = torch.load(tmp_path / "old.pt", weights_only=False)
    del data["config"]["bottleneck_head"]
    torch.save(data, tmp_path / "old.pt")
    loaded = load_checkpoint(tmp_path / "old.pt", kind=B)
    assert loaded.config.bottleneck_head is False and loaded.config.n_outputs == 3
    assert len(loaded.network(torch.zeros(1, 3, 32, 32))) == 3
    assert config_from_dict(B, {"name": "paper"}).n_outputs == 5  # an old paper-size configuration


@pytest.mark.parametrize(("keep", "expected"), [(CheckpointChoice.FINAL, "final.pt"),
                                                (CheckpointChoice.BEST_VALIDATION, "best.pt")])
def test_the_result_is_the_final_or_the_best_checkpoint(keep: CheckpointChoice, expected: str,
                                                        tmp_path: Path) -> None:
    cases = [phantom_case(seed) for seed in range(3)]
    options = replace(TINY.options(B), epochs=3, keep=keep)
    result = train_box2mask(cases[:2], cases[2:], TINY_BOX2MASK, options, tmp_path)
    assert result.keep is keep and result.checkpoint == tmp_path / expected
    assert load_checkpoint(result.checkpoint).sha256 == result.sha256
    final = load_checkpoint(result.final_checkpoint).network.state_dict()
    last = load_checkpoint(result.last_checkpoint).network.state_dict()
    assert all(torch.equal(final[k], last[k]) for k in final)  # final.pt: the last epoch's weights
    assert load_checkpoint(result.final_checkpoint).metadata.epochs == 3  # type: ignore[union-attr]


@pytest.mark.parametrize(("argv", "printed"), [
    (["--preset", "paper"], "preset 'paper' (the paper's recipe"),
    ([], "preset 'small' (CPU-sized"),  # the default on a CPU
])
def test_cli_prints_the_preset_it_uses(argv: list[str], printed: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from propsam.cli import main

    # No data folder: the run stops after printing the preset, before any training.
    assert main(["train", "propmask", "--data", str(tmp_path), "--out", str(tmp_path / "o"), *argv]) == 2
    out = capsys.readouterr().out
    assert printed in out
    if argv:
        assert "propmask: 224 px, 6 supervised stages, 4500 epochs x 10000 samples, batch 160, lr 0.0005" in out
