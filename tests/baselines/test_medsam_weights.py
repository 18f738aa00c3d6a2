from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from baselines.checkpoints import CheckpointError, CheckpointNotFoundError, UnsafeCheckpointError
from tests.baselines.conftest import tiny_sam_config

torch = pytest.importorskip("torch")
pytest.importorskip("transformers", reason="MedSAM needs transformers: pip install 'propsam-bench[medsam]'")

from baselines.medsam_weights import (  # noqa: E402
    LoadedSam,
    build_sam,
    hf_state_dict_from_sam,
    load_medsam,
    load_state_exactly,
    sam_state_dict_from_hf,
)

#: Names and shapes of Meta's SAM ViT-B state dict (the layout of MedSAM's medsam_vit_b.pth).
SAM_VIT_B = json.loads((Path(__file__).parent / "data" / "sam_vit_b_state_dict.json").read_text())["keys"]


def seeded_sam_state(layout: Mapping[str, Any]) -> dict[str, Any]:
    """A SAM-layout state dict with every tensor drawn from one seeded generator (names sorted)."""
    generator = torch.Generator().manual_seed(0)
    return {key: torch.randn(tuple(layout[key].shape), generator=generator) * 0.2 for key in sorted(layout)}


def _equal_states(a: Any, b: Any) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_every_medsam_key_maps_onto_vit_b_one_to_one_with_equal_shapes(vit_b: LoadedSam) -> None:
    network = vit_b.network
    assert sum(p.numel() for p in network.parameters()) == 93_735_728
    fake = {key: torch.empty(shape) for key, shape in SAM_VIT_B.items()}
    renamed = hf_state_dict_from_sam(fake)
    assert len(renamed) == len(SAM_VIT_B) == 314
    expected = dict(network.named_parameters())  # tied parameters once
    assert set(renamed) == set(expected)
    assert all(tuple(renamed[k].shape) == tuple(expected[k].shape) for k in renamed)
    assert set(sam_state_dict_from_hf(network.state_dict())) == set(SAM_VIT_B)


#: What Meta's segment-anything 1.0 computes with the narrow SAM of tests/baselines/conftest.py (its
#: ImageEncoderViT(depth=1, embed_dim=16, mlp_ratio=2, num_heads=1, window_size=14, out_chans=32), PromptEncoder(32)
#: and MaskDecoder(TwoWayTransformer(depth=2, embedding_dim=32, mlp_dim=64, num_heads=2), iou_head_hidden_dim=32))
#: at the weights of seeded_sam_state, on a seeded image and the box [200.3, 300.7, 600.2, 700.9].
META_REFERENCE = {"embedding_sum": -5250.60546875, "embedding_abs_sum": 28079.306640625,
                  "embedding_0_5_7_9": 0.444585919, "logits_sum": 1374.3797607421875, "logits_abs_sum": 2165.6884765625,
                  "logits_at": [0.0712200329, 0.0957031101, 0.0706771910, -0.0423947535, -0.0266634282]}


def test_medsam_weights_compute_what_metas_sam_computes_with_them() -> None:
    network = build_sam(tiny_sam_config(), seed=9)
    load_state_exactly(network, seeded_sam_state(sam_state_dict_from_hf(network.state_dict())), source="reference")
    image = torch.rand(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        embedding = network.get_image_embeddings(image)
        logits = network(image_embeddings=embedding, input_boxes=torch.tensor([[[200.3, 300.7, 600.2, 700.9]]]),
                         multimask_output=False).pred_masks[0, 0, 0]
    got = {"embedding_sum": embedding.sum(), "embedding_abs_sum": embedding.abs().sum(),
           "embedding_0_5_7_9": embedding[0, 5, 7, 9], "logits_sum": logits.sum(), "logits_abs_sum": logits.abs().sum()}
    for key, value in got.items():
        assert float(value) == pytest.approx(META_REFERENCE[key], rel=1e-4, abs=1e-5), key
    at = [float(logits[r, c]) for r, c in ((0, 0), (10, 200), (128, 128), (255, 17), (77, 199))]
    assert at == pytest.approx(META_REFERENCE["logits_at"], abs=1e-5)


def test_a_sam_format_state_dict_round_trips_through_the_loader(tmp_path: Path) -> None:
    source = build_sam(tiny_sam_config(), seed=1)
    path = tmp_path / "medsam_like.pth"
    torch.save(sam_state_dict_from_hf(source.state_dict()), path)
    loaded = load_medsam(path, tiny_sam_config())
    assert _equal_states(loaded.network, source)
    assert loaded.weights == "checkpoint" and loaded.checkpoint_sha256 and len(loaded.checkpoint_sha256) == 64
    assert not _equal_states(build_sam(tiny_sam_config(), seed=0), source)


def test_a_transformers_format_state_dict_and_a_training_checkpoint_load_too(tmp_path: Path) -> None:
    source = build_sam(tiny_sam_config(), seed=2)
    torch.save(source.state_dict(), tmp_path / "hf.pth")
    torch.save({"model": sam_state_dict_from_hf(source.state_dict()), "epoch": 7}, tmp_path / "train.pth")
    for name in ("hf.pth", "train.pth"):
        assert _equal_states(load_medsam(tmp_path / name, tiny_sam_config()).network, source)


def test_seeded_random_weights_are_reproducible_and_leave_the_global_seed_alone() -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, b = build_sam(tiny_sam_config(), seed=5), build_sam(tiny_sam_config(), seed=5)
    assert torch.equal(torch.rand(1), expected_next)
    assert _equal_states(a, b)
    assert float(a.vision_encoder.layers[0].attn.qkv.weight.detach().std()) > 1e-3  # torch's default init, not ~0


def _refused(tmp_path: Path, state: dict[str, Any], message: str) -> None:
    target = build_sam(tiny_sam_config(), seed=3)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CheckpointError, match=message):
        load_state_exactly(target, state, source="file.pth")
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items()), "partially loaded"


def test_another_architecture_is_refused_and_nothing_is_loaded(tmp_path: Path) -> None:
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Linear(8, 2)).state_dict()
    _refused(tmp_path, other, r"file.pth does not fit SAM ViT-B.*missing.*does not have .*nothing was loaded")
    sam = sam_state_dict_from_hf(build_sam(tiny_sam_config(), seed=4).state_dict())
    _refused(tmp_path, {**sam, "image_encoder.blocks.0.attn.extra": torch.ones(1)},
             r"1 tensor\(s\) the architecture does not have \(first: \['vision_encoder.layers.0.attn.extra'\]\)")
    del sam["mask_decoder.iou_token.weight"]
    _refused(tmp_path, sam, r"1 tensor\(s\) of the architecture missing \(first: \['mask_decoder.iou_token.weight'\]")
    vit_b_named = {key: torch.zeros(shape) for key, shape in SAM_VIT_B.items()}
    _refused(tmp_path, vit_b_named, r"\d+ shape\(s\) differ \(first: \['[\w.]+: file \(\d+")
    _refused(tmp_path, {"image_encoder.blocks.0.norm1.weight": torch.ones(1), "head.fc.weight": torch.ones(1)},
             r"is not a SAM ViT-B state dict: 1 key\(s\) are not SAM ViT-B tensors \(first: \['head.fc.weight'\]")


def test_checkpoint_errors_say_where_to_get_medsam(tmp_path: Path) -> None:
    with pytest.raises(CheckpointNotFoundError, match=r"MedSAM checkpoint: .*medsam_vit_b.pth does not exist; "
                                                      r"expected MedSAM's released .*github.com/bowang-lab/MedSAM"):
        load_medsam(tmp_path / "medsam_vit_b.pth")


def test_a_pickle_with_code_is_refused(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(tmp_path / "ran"),))  # type: ignore[return-value]

    torch.save({"image_encoder.pos_embed": Payload()}, tmp_path / "medsam_vit_b.pth")
    with pytest.raises(UnsafeCheckpointError, match="refused to load"):
        load_medsam(tmp_path / "medsam_vit_b.pth", tiny_sam_config())
    assert not (tmp_path / "ran").exists()
