"""A model folder in the layout of the released ``BAAI/SegVol``, built by the tests (the real weights cannot be
downloaded here). Each file stands in for the released file of the same name:

- ``config.json``: the released config, verbatim in content (``auto_map`` to ``model_segvol_single``).
- ``model_segvol_single.py``: stands in for the released remote code. It keeps the contract the adapter relies on:
  ``SegVolConfig(test_mode=True)`` with ``spatial_size`` and ``patch_size``; ``SegVolModel(config)`` with ``.config``
  and ``.model``, the network, called as ``model(image, text=None, boxes=box, points=None)`` with an image of the
  window size (1, 1, D, H, W) and a box ``[[d_min, h_min, w_min, d_max, h_max, w_max]]`` (maxima inclusive),
  returning logits of the image's shape; its state dict keys start with ``model.``. Its network echoes the box:
  logits ``+gain`` inside it and ``-gain`` outside, so a test can follow a box through every mapping. Importing it
  touches ``imported.marker`` in the folder, so a test sees whether the code ran.
- ``pytorch_model.bin``: a ``SegVolModel`` state dict (gain 10), plus the CLIP ``position_ids`` buffer that the
  released weights carry.
- The tokenizer files (``tokenizer.json``, ``vocab.json``, ...) are left out: box prompts never read them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["RELEASED_CONFIG", "write_folder", "POSITION_IDS_KEY"]

RELEASED_CONFIG: dict[str, Any] = {
    "architectures": ["SegVolModel"],
    "auto_map": {"AutoConfig": "model_segvol_single.SegVolConfig", "AutoModel": "model_segvol_single.SegVolModel"},
    "model_type": "segvol",
    "patch_size": [4, 16, 16],
    "spatial_size": [32, 256, 256],
    "test_mode": True,
    "torch_dtype": "float32",
    "transformers_version": "4.18.0",
}
POSITION_IDS_KEY = "model.text_encoder.clip_text_model.text_model.embeddings.position_ids"

_CODE = '''
import pathlib

import torch
from torch import nn

pathlib.Path(__file__).with_name("imported.marker").touch()
{extra_import}
SPATIAL_SIZE = {spatial_size}


class SegVolConfig:
    model_type = "segvol"

    def __init__(self, test_mode=True, **kwargs):
        self.spatial_size = list(SPATIAL_SIZE)
        self.patch_size = [4, 16, 16]
        self.test_mode = test_mode


class BoxEcho(nn.Module):
    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.randn(()))
        self.image_encoder = nn.Linear(1, 1)

    def forward(self, image, text=None, boxes=None, points=None, **kwargs):
        if tuple(image.shape[2:]) != tuple(SPATIAL_SIZE):
            raise ValueError(f"the network takes windows of {{SPATIAL_SIZE}}, got {{tuple(image.shape)}}")
        box = boxes.reshape(-1)
        axes = [torch.arange(n, device=image.device) for n in image.shape[2:]]
        inside = [(a >= box[i]) & (a <= box[i + 3]) for i, a in enumerate(axes)]
        cube = inside[0][:, None, None] & inside[1][None, :, None] & inside[2][None, None, :]
        return torch.where(cube, self.gain, -self.gain)[None, None] + 0.0 * image


class SegVolModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.model = BoxEcho()
'''


def write_folder(root: Path, *, spatial_size: tuple[int, int, int] = (8, 32, 32), gain: float = 10.0,
                 weights: dict[str, Any] | None = None, extra_import: str = "") -> Path:
    """Write the stand-in folder at ``root``; ``weights`` replaces the state dict written to pytorch_model.bin."""
    import torch

    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps(RELEASED_CONFIG, indent=2), encoding="utf-8")
    (root / "model_segvol_single.py").write_text(
        _CODE.format(spatial_size=list(spatial_size), extra_import=extra_import), encoding="utf-8")
    if weights is None:
        linear = torch.nn.Linear(1, 1)
        weights = {"model.gain": torch.tensor(gain), "model.image_encoder.weight": linear.weight.detach(),
                   "model.image_encoder.bias": linear.bias.detach(), POSITION_IDS_KEY: torch.arange(77)[None]}
    torch.save(weights, root / "pytorch_model.bin")
    return root
