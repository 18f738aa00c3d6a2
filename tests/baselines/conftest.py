"""Fixtures of the adapter tests: a narrow SAM (the MedSAM code path at a fraction of ViT-B's cost) and cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

if TYPE_CHECKING:
    from baselines.medsam_weights import LoadedSam


@dataclass(frozen=True, eq=False)
class Case:
    """A case as models see it (benchmark.models.protocol.CaseLike)."""

    image: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 2.0)
    modality: str = "CT"
    dataset_id: str = "T1"


def tiny_sam_config() -> Any:
    """SAM with the ViT-B input (1024 px, 16 px patches, 64 x 64 embedding grid) but a 16-wide, one-block, windowed
    encoder and a 32-wide decoder: every stage of MedSAM's code path, about 0.1 M parameters."""
    from transformers import SamConfig, SamMaskDecoderConfig, SamPromptEncoderConfig, SamVisionConfig

    vision = SamVisionConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=1, global_attn_indexes=[],
                             output_channels=32, mlp_dim=32, num_pos_feats=16)
    prompt = SamPromptEncoderConfig(hidden_size=32, mask_input_channels=4)
    decoder = SamMaskDecoderConfig(hidden_size=32, mlp_dim=64, num_attention_heads=2, iou_head_hidden_dim=32)
    return SamConfig(vision_config=vision.to_dict(), prompt_encoder_config=prompt.to_dict(),
                     mask_decoder_config=decoder.to_dict())


@pytest.fixture(scope="session")
def tiny_sam() -> LoadedSam:
    pytest.importorskip("transformers", reason="MedSAM needs transformers: pip install 'propsam-bench[medsam]'")
    from baselines.medsam_weights import random_sam

    return random_sam(tiny_sam_config(), seed=0)


@pytest.fixture(scope="session")
def vit_b() -> LoadedSam:
    """The real SAM ViT-B (MedSAM's architecture, 93.7 M parameters) at seeded random weights, built once."""
    pytest.importorskip("transformers", reason="MedSAM needs transformers: pip install 'propsam-bench[medsam]'")
    from baselines.medsam_weights import random_sam, vit_b_config

    return random_sam(vit_b_config(), seed=0)


def ct_case(shape: tuple[int, int, int] = (40, 36, 6), seed: int = 0, modality: str = "CT",
            dataset_id: str = "T1") -> Case:
    """A CT-like (1, X, Y, Z) volume: soft tissue with a brighter block at x 10-25, y 8-20 on every slice."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0.0, 15.0, shape).astype(np.float32)
    image[10:26, 8:21] += 120.0
    return Case(image[None], modality=modality, dataset_id=dataset_id)
