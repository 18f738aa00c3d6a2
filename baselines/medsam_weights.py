"""MedSAM's network: the SAM ViT-B architecture of ``transformers`` (``SamModel``), and MedSAM's weights mapped onto it.

Why ``transformers``: MedSAM's checkpoint ``medsam_vit_b.pth`` is a plain state dict of Meta's ``segment_anything``
SAM ViT-B. The PyPI ``segment-anything`` package imports torchvision when it is imported, and the only torchvision
wheels for this project's CPU torch are CUDA builds that fail to import beside it; MedSAM's own fork of the package
clashes with it by name and asks for downloads with ``input()``. ``transformers`` maintains the same architecture
(``SamModel``; ViT-B is 93.7 M parameters either way), installs beside the CPU torch and the CUDA builds alike, and
needs no code copied into this repository. Its state dict names the same tensors differently, so
:func:`hf_state_dict_from_sam` renames each of MedSAM's keys by the rules of ``_RENAMES`` and the load refuses any
file in which a key is left over, a tensor of the architecture is missing, or a shape differs: nothing is loaded
partially. Files already in the ``transformers`` layout (``SamModel.state_dict()``) load unchanged.

Random weights (``random_weights = true``): the same architecture at a seeded initialisation (every layer reset with
torch's default initialiser, as Meta's SAM is built), for timings and for runs that must not depend on weights.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baselines.checkpoints import CheckpointError, file_sha256, read_state_dict

if TYPE_CHECKING:
    import torch
    from transformers import SamConfig, SamModel

__all__ = ["MEDSAM_CHECKPOINT_HINT", "LoadedSam", "vit_b_config", "build_sam", "hf_state_dict_from_sam",
           "load_state_exactly", "sam_state_dict_from_hf", "load_medsam", "random_sam"]

MEDSAM_CHECKPOINT_HINT = ("MedSAM's released SAM ViT-B state dict medsam_vit_b.pth (download it as the MedSAM README "
                          "says, github.com/bowang-lab/MedSAM, and set `checkpoint` to its path)")

# (Meta SAM prefix, transformers SamModel prefix); "{i}" is a layer index. A template without a trailing dot names a
# whole key. The first matching rule applies, in either direction.
_RENAMES: tuple[tuple[str, str], ...] = (
    ("image_encoder.patch_embed.proj.", "vision_encoder.patch_embed.projection."),
    ("image_encoder.pos_embed", "vision_encoder.pos_embed"),
    ("image_encoder.blocks.{i}.norm1.", "vision_encoder.layers.{i}.layer_norm1."),
    ("image_encoder.blocks.{i}.norm2.", "vision_encoder.layers.{i}.layer_norm2."),
    ("image_encoder.blocks.{i}.attn.", "vision_encoder.layers.{i}.attn."),
    ("image_encoder.blocks.{i}.mlp.", "vision_encoder.layers.{i}.mlp."),
    ("image_encoder.neck.0.", "vision_encoder.neck.conv1."),
    ("image_encoder.neck.1.", "vision_encoder.neck.layer_norm1."),
    ("image_encoder.neck.2.", "vision_encoder.neck.conv2."),
    ("image_encoder.neck.3.", "vision_encoder.neck.layer_norm2."),
    ("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", "shared_image_embedding.positional_embedding"),
    ("prompt_encoder.point_embeddings.{i}.", "prompt_encoder.point_embed.{i}."),
    ("prompt_encoder.not_a_point_embed.", "prompt_encoder.not_a_point_embed."),
    ("prompt_encoder.no_mask_embed.", "prompt_encoder.no_mask_embed."),
    ("prompt_encoder.mask_downscaling.0.", "prompt_encoder.mask_embed.conv1."),
    ("prompt_encoder.mask_downscaling.1.", "prompt_encoder.mask_embed.layer_norm1."),
    ("prompt_encoder.mask_downscaling.3.", "prompt_encoder.mask_embed.conv2."),
    ("prompt_encoder.mask_downscaling.4.", "prompt_encoder.mask_embed.layer_norm2."),
    ("prompt_encoder.mask_downscaling.6.", "prompt_encoder.mask_embed.conv3."),
    ("mask_decoder.iou_token.", "mask_decoder.iou_token."),
    ("mask_decoder.mask_tokens.", "mask_decoder.mask_tokens."),
    ("mask_decoder.transformer.layers.{i}.norm1.", "mask_decoder.transformer.layers.{i}.layer_norm1."),
    ("mask_decoder.transformer.layers.{i}.norm2.", "mask_decoder.transformer.layers.{i}.layer_norm2."),
    ("mask_decoder.transformer.layers.{i}.norm3.", "mask_decoder.transformer.layers.{i}.layer_norm3."),
    ("mask_decoder.transformer.layers.{i}.norm4.", "mask_decoder.transformer.layers.{i}.layer_norm4."),
    ("mask_decoder.transformer.layers.{i}.self_attn.", "mask_decoder.transformer.layers.{i}.self_attn."),
    ("mask_decoder.transformer.layers.{i}.cross_attn_token_to_image.",
     "mask_decoder.transformer.layers.{i}.cross_attn_token_to_image."),
    ("mask_decoder.transformer.layers.{i}.cross_attn_image_to_token.",
     "mask_decoder.transformer.layers.{i}.cross_attn_image_to_token."),
    ("mask_decoder.transformer.layers.{i}.mlp.", "mask_decoder.transformer.layers.{i}.mlp."),
    ("mask_decoder.transformer.final_attn_token_to_image.", "mask_decoder.transformer.final_attn_token_to_image."),
    ("mask_decoder.transformer.norm_final_attn.", "mask_decoder.transformer.layer_norm_final_attn."),
    ("mask_decoder.output_upscaling.0.", "mask_decoder.upscale_conv1."),
    ("mask_decoder.output_upscaling.1.", "mask_decoder.upscale_layer_norm."),
    ("mask_decoder.output_upscaling.3.", "mask_decoder.upscale_conv2."),
    # SAM's three-layer MLPs (layers.0-2) are transformers' proj_in, layers.0 and proj_out.
    ("mask_decoder.output_hypernetworks_mlps.{i}.layers.0.", "mask_decoder.output_hypernetworks_mlps.{i}.proj_in."),
    ("mask_decoder.output_hypernetworks_mlps.{i}.layers.1.", "mask_decoder.output_hypernetworks_mlps.{i}.layers.0."),
    ("mask_decoder.output_hypernetworks_mlps.{i}.layers.2.", "mask_decoder.output_hypernetworks_mlps.{i}.proj_out."),
    ("mask_decoder.iou_prediction_head.layers.0.", "mask_decoder.iou_prediction_head.proj_in."),
    ("mask_decoder.iou_prediction_head.layers.1.", "mask_decoder.iou_prediction_head.layers.0."),
    ("mask_decoder.iou_prediction_head.layers.2.", "mask_decoder.iou_prediction_head.proj_out."),
)


def _pattern(template: str) -> re.Pattern[str]:
    body = re.escape(template).replace(re.escape("{i}"), r"(?P<i>\d+)")
    return re.compile(body if template.endswith(".") else body + "$")


_SAM_TO_HF = tuple((_pattern(sam), hf) for sam, hf in _RENAMES)
_HF_TO_SAM = tuple((_pattern(hf), sam) for sam, hf in _RENAMES)


def _rename(key: str, rules: tuple[tuple[re.Pattern[str], str], ...]) -> str | None:
    for pattern, target in rules:
        found = pattern.match(key)
        if found:
            prefix = target.replace("{i}", found.group("i")) if "{i}" in target else target
            return prefix + key[found.end():]
    return None


@dataclass(frozen=True)
class LoadedSam:
    """A SAM network and where its weights came from (``"checkpoint"`` or ``"random"``, and the file's SHA-256)."""

    network: SamModel
    weights: str
    checkpoint_sha256: str | None = None


def vit_b_config(**vision: Any) -> SamConfig:
    """SAM ViT-B as MedSAM uses it, stated explicitly (1024 px input, 16 px patches, 12 blocks of width 768,
    global attention in blocks 2, 5, 8, 11, 14 x 14 windows elsewhere, 256-channel neck). ``vision`` overrides
    vision-encoder fields (tests build narrower, shallower encoders on the same code path)."""
    from transformers import SamConfig, SamVisionConfig

    fields: dict[str, Any] = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                              "global_attn_indexes": [2, 5, 8, 11], "window_size": 14, "image_size": 1024,
                              "patch_size": 16, "output_channels": 256, "mlp_ratio": 4.0}
    fields.update(vision)
    return SamConfig(vision_config=SamVisionConfig(**fields).to_dict())


def build_sam(config: SamConfig | None = None, *, seed: int = 0) -> SamModel:
    """The architecture at a seeded random initialisation (torch's default initialiser of every layer), in eval mode.

    The global torch random state is left as it was.
    """
    import torch
    from transformers import SamModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = SamModel(config if config is not None else vit_b_config())
        for module in network.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    network.eval()
    return network


def _unique_names(network: torch.nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The state dict's tensors under their first names, and each tied alias name -> its first name."""
    first_name: dict[int, str] = {}
    unique: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    for name, tensor in network.state_dict(keep_vars=True).items():
        owner = first_name.setdefault(id(tensor), name)
        if owner == name:
            unique[name] = tensor
        else:
            aliases[name] = owner
    return unique, aliases


def hf_state_dict_from_sam(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename Meta SAM keys (``image_encoder.blocks.0.norm1.weight``) to transformers' (``vision_encoder.layers...``).

    Raises:
        CheckpointError: A key matches no rule, or two keys would get one name.
    """
    renamed: dict[str, torch.Tensor] = {}
    unknown = []
    for key, tensor in state.items():
        target = _rename(key, _SAM_TO_HF)
        if target is None:
            unknown.append(key)
        elif target in renamed:
            raise CheckpointError(f"SAM state dict: two keys map to {target!r}; expected one tensor per name")
        else:
            renamed[target] = tensor
    if unknown:
        raise CheckpointError(f"{len(unknown)} key(s) are not SAM ViT-B tensors (first: {sorted(unknown)[:5]}); "
                              f"expected keys under image_encoder., prompt_encoder. and mask_decoder.")
    return renamed


def sam_state_dict_from_hf(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of :func:`hf_state_dict_from_sam` (a ``SamModel`` state dict in Meta's SAM layout, tied alias
    ``prompt_encoder.shared_embedding.*`` dropped): what ``segment_anything``'s ``Sam.load_state_dict`` reads."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        target = _rename(key, _HF_TO_SAM)
        if target is not None:
            out[target] = tensor
    return out


def _problems(state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor]) -> list[str]:
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    shapes = [f"{k}: file {tuple(state[k].shape)}, architecture {tuple(expected[k].shape)}"
              for k in sorted(set(state) & set(expected)) if state[k].shape != expected[k].shape]
    problems = []
    if missing:
        problems.append(f"{len(missing)} tensor(s) of the architecture missing (first: {missing[:3]})")
    if extra:
        problems.append(f"{len(extra)} tensor(s) the architecture does not have (first: {extra[:3]})")
    if shapes:
        problems.append(f"{len(shapes)} shape(s) differ (first: {shapes[:3]})")
    return problems


def load_state_exactly(network: SamModel, state: Mapping[str, torch.Tensor], *, source: str) -> None:
    """Load ``state`` (SAM or transformers layout) into ``network`` when every tensor matches, else load nothing.

    Raises:
        CheckpointError: Names ``source``, what is missing, left over or of another shape.
    """
    try:
        renamed = hf_state_dict_from_sam(state) if any(k.startswith("image_encoder.") for k in state) else dict(state)
    except CheckpointError as err:
        raise CheckpointError(f"{source} is not a SAM ViT-B state dict: {err}; nothing was loaded") from err
    expected, aliases = _unique_names(network)
    for alias, owner in aliases.items():
        if alias in renamed and owner in renamed and not bool((renamed[alias] == renamed[owner]).all()):
            raise CheckpointError(f"{source}: {alias} and {owner} must hold one tied tensor but differ")
        renamed.pop(alias, None)
    problems = _problems(renamed, expected)
    if problems:
        raise CheckpointError(f"{source} does not fit SAM ViT-B (MedSAM's architecture): {'; '.join(problems)}; "
                              f"nothing was loaded")
    full = dict(renamed)
    full.update({alias: renamed[owner] for alias, owner in aliases.items()})
    network.load_state_dict(full, strict=True)


def load_medsam(checkpoint: str | Path, config: SamConfig | None = None) -> LoadedSam:
    """SAM ViT-B with the weights of ``checkpoint`` (MedSAM's ``medsam_vit_b.pth``, read with weights_only=True).

    Raises:
        CheckpointNotFoundError: The file does not exist.
        UnsafeCheckpointError: It is a pickle holding more than tensors.
        CheckpointError: It is not a SAM ViT-B state dict (another architecture, missing or extra tensors).
    """
    state = read_state_dict(checkpoint, what="MedSAM checkpoint", hint=MEDSAM_CHECKPOINT_HINT,
                            wrapper_keys=("model", "state_dict"))
    network = build_sam(config)
    load_state_exactly(network, state, source=f"MedSAM checkpoint {checkpoint}")
    return LoadedSam(network, "checkpoint", file_sha256(checkpoint))


def random_sam(config: SamConfig | None = None, *, seed: int = 0) -> LoadedSam:
    """SAM ViT-B at a seeded random initialisation (no checkpoint)."""
    return LoadedSam(build_sam(config, seed=seed), "random", None)
