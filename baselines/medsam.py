"""MedSAM (Ma et al., 2024) on 3D-box prompts, slice by slice, in two protocols; each a registered model.

- ``MedSAM-3DBox`` (the paper's protocol): the 3D box's transverse box is the prompt on every axial slice of its
  z-range; slices outside it stay empty.
- ``MedSAM-Propagate`` (MedSAM's own 3D routine, ``medsam_infer_3Dbox_adrenal.py``): the transverse box prompts the
  slice it was drawn on; each next slice, upwards to the top of the z-range and then downwards to its bottom, is
  prompted with the box of the previous slice's predicted mask (at 1024 scale, widened by 5 pixels); when that mask
  is empty, the previous slice's box is used again, as MedSAM's nearest-box fallback does.

Both receive the 3D box and so leak the object's z-extent. Preprocessing and geometry are MedSAM's
(:mod:`baselines.medsam_preprocessing`); the network is SAM ViT-B of ``transformers`` with MedSAM's weights mapped
onto it (:mod:`baselines.medsam_weights`, which says why this route). Slices go through the image encoder in batches
of ``batch_size``; the box decoder runs per batch (3D box) or per slice (propagation, each box needs the previous
mask). ``precision = "bf16"`` runs both under bf16 autocast on CPU or GPU.

Settings (keys of the run config's ``[models."MedSAM-3DBox"]`` or ``[models."MedSAM-Propagate"]`` table)::

    checkpoint = "/path/to/medsam_vit_b.pth"   # or random_weights = true (seeded architecture, no checkpoint)
    seed = 0                                    # the random initialisation's seed
    ct_window = [40, 400]                       # CT window [level, width] in HU
    ct_windows = { D3 = [60, 360] }             # per-dataset windows, by catalog ID
    batch_size = 4                              # slices per image-encoder batch
    precision = "fp32"                          # or "bf16" (autocast)
    channel = 0                                 # the image channel MedSAM sees
    device = "cpu"                              # the harness also moves the model with .to(device)
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from baselines.box3d import require_box3d
from baselines.medsam_preprocessing import (
    DEFAULT_CT_WINDOW,
    box_to_1024,
    case_view,
    images_1024,
    intensity_mapping,
    masks_from_logits,
    propagation_box_1024,
    slice_view,
    view_box,
)
from baselines.medsam_weights import LoadedSam, load_medsam, random_sam
from baselines.runtime import (
    Precision,
    SettingsError,
    as_bool,
    as_int,
    as_window,
    autocast,
    check_known,
    synchronize,
)
from benchmark.protocol.prompts import PromptKind

if TYPE_CHECKING:
    import torch

__all__ = ["MedSAMProtocol", "MedSAMSettings", "MedSAM", "medsam_3dbox", "medsam_propagate", "CT_MODALITIES"]

#: Modalities whose channel 0 is CT (PET-CT cards list CT first), windowed in HU; others use the MR rule.
CT_MODALITIES = frozenset({"CT", "PET-CT"})


class MedSAMProtocol(str, Enum):
    """How MedSAM's 2D prompts are built from a 3D box."""

    BOX_EVERY_SLICE = "3dbox"
    PROPAGATE = "propagate"

    def __str__(self) -> str:
        return str(self.value)


_NAMES = {MedSAMProtocol.BOX_EVERY_SLICE: "MedSAM-3DBox", MedSAMProtocol.PROPAGATE: "MedSAM-Propagate"}


@dataclass(frozen=True, kw_only=True)
class MedSAMSettings:
    """How MedSAM runs (see the module docstring for the keys)."""

    batch_size: int = 4
    precision: Precision = Precision.FP32
    ct_window: tuple[float, float] = DEFAULT_CT_WINDOW
    ct_windows: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    channel: int = 0

    def window_for(self, modality: str, dataset_id: str) -> tuple[float, float] | None:
        """The CT window of a CT channel of ``dataset_id``; None (the MR rule) for other modalities."""
        if modality not in CT_MODALITIES or self.channel != 0:
            return None
        return self.ct_windows.get(dataset_id, self.ct_window)

    @classmethod
    def from_kwargs(cls, model: str, values: Mapping[str, Any]) -> MedSAMSettings:
        """Settings from run-config values (keys as in the module docstring).

        Raises:
            SettingsError: A value has the wrong type or range (names the key).
        """
        out: dict[str, Any] = {}
        if "batch_size" in values:
            out["batch_size"] = as_int(model, "batch_size", values["batch_size"], minimum=1)
        if "channel" in values:
            out["channel"] = as_int(model, "channel", values["channel"], minimum=0)
        if "ct_window" in values:
            out["ct_window"] = as_window(model, "ct_window", values["ct_window"])
        if "ct_windows" in values:
            table = values["ct_windows"]
            if not isinstance(table, Mapping):
                raise SettingsError(f"{model}: setting ct_windows = {table!r}; expected a table of dataset ID -> "
                                    f"[level, width], e.g. {{ D3 = [60, 360] }}")
            out["ct_windows"] = {str(k): as_window(model, f"ct_windows.{k}", v) for k, v in table.items()}
        if "precision" in values:
            try:
                out["precision"] = Precision(values["precision"])
            except ValueError:
                raise SettingsError(f"{model}: setting precision = {values['precision']!r}; expected one of "
                                    f"{[p.value for p in Precision]}") from None
        return cls(**out)


_SETTING_KEYS = ("batch_size", "channel", "ct_window", "ct_windows", "precision")
_FACTORY_KEYS = ("random_weights", "seed", "device")


class MedSAM:
    """MedSAM on a 3D-box prompt under one protocol: the model protocol's name, prompt kinds, ``to``, ``segment``.

    Attributes:
        weights: ``"checkpoint"`` or ``"random"`` (the harness records it).
        checkpoint_sha256: SHA-256 of the checkpoint file, None with random weights.
        last_trace: What the latest ``segment`` did: slices, batches, empty slices, stage seconds.
    """

    prompt_kinds = frozenset({PromptKind.BOX_3D.value})

    def __init__(self, loaded: LoadedSam, protocol: MedSAMProtocol, settings: MedSAMSettings | None = None,
                 device: str = "cpu") -> None:
        import torch

        self.protocol = MedSAMProtocol(protocol)
        self.name = _NAMES[self.protocol]
        self.settings = settings or MedSAMSettings()
        self.network = loaded.network.eval()
        self.weights = loaded.weights
        self.checkpoint_sha256 = loaded.checkpoint_sha256
        self.device = torch.device("cpu")
        self.last_trace: dict[str, Any] = {}
        self.to(device)

    def to(self, device: str) -> MedSAM:
        import torch

        self.device = torch.device(device)
        self.network.to(self.device)
        return self

    # ---- network ---------------------------------------------------------------------------------------------

    def _encode(self, slices_u8: np.ndarray, clock: dict[str, float]) -> torch.Tensor:
        """(B, H, W) uint8 slice views -> (B, 256, 64, 64) image embeddings."""
        import torch

        start = time.perf_counter()
        images = images_1024(torch.from_numpy(slices_u8).to(self.device))
        synchronize(self.device)
        middle = time.perf_counter()
        with torch.inference_mode(), autocast(self.device, self.settings.precision):
            embeddings: torch.Tensor = self.network.get_image_embeddings(images)
        synchronize(self.device)
        clock["seconds_resize"] += middle - start
        clock["seconds_encode"] += time.perf_counter() - middle
        return embeddings

    def _decode(self, embeddings: torch.Tensor, boxes_1024: np.ndarray, height: int, width: int,
                clock: dict[str, float]) -> np.ndarray:
        """Embeddings (B, 256, 64, 64) and boxes (B, 4) at 1024 scale -> (B, H, W) boolean masks."""
        import torch

        start = time.perf_counter()
        boxes = torch.as_tensor(boxes_1024, dtype=torch.float32, device=self.device)[:, None, :]
        with torch.inference_mode(), autocast(self.device, self.settings.precision):
            output = self.network(image_embeddings=embeddings, input_boxes=boxes, multimask_output=False)
        masks = masks_from_logits(output.pred_masks[:, 0, 0], height, width).cpu().numpy()
        clock["seconds_decode"] += time.perf_counter() - start
        return masks

    def _embeddings(self, views: Any, order: Sequence[int], clock: dict[str, float]) -> Iterator[
            tuple[int, torch.Tensor]]:
        """(slice, (1, 256, 64, 64) embedding) in ``order``, encoded ``batch_size`` slices at a time."""
        size = self.settings.batch_size
        for start in range(0, len(order), size):
            chunk = order[start:start + size]
            embeddings = self._encode(np.stack([views(z) for z in chunk]), clock)
            clock["encoder_batches"] += 1
            for index, z in enumerate(chunk):
                yield z, embeddings[index:index + 1]

    # ---- protocols -------------------------------------------------------------------------------------------

    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        """The (X, Y, Z) boolean mask of the object in ``prompt``'s 3D box.

        Raises:
            ValueError: The prompt is not a 3D box, its box leaves the image, or the channel does not exist.
        """
        image = case.image
        shape = tuple(int(n) for n in image.shape[-3:])
        box = require_box3d(self.name, prompt, shape)
        channel = self.settings.channel
        if channel >= image.shape[0]:
            raise ValueError(f"{self.name}: setting channel = {channel}, but the case has {image.shape[0]} channel(s)")
        volume = image[channel]
        window = self.settings.window_for(str(case.modality), str(case.dataset_id))
        mapping = intensity_mapping(volume, window)

        def views(z: int) -> np.ndarray:
            return slice_view(mapping.apply(volume[:, :, z]))

        clock: dict[str, float] = {"seconds_resize": 0.0, "seconds_encode": 0.0, "seconds_decode": 0.0,
                                   "encoder_batches": 0}
        start = time.perf_counter()
        out = np.zeros(shape, dtype=bool)
        if self.protocol is MedSAMProtocol.BOX_EVERY_SLICE:
            self._every_slice(views, box.box, shape, out, clock)
        else:
            self._propagate(views, box.box, box.slice_index, shape, out, clock)
        z0, z1 = box.box[2], box.box[5]
        self.last_trace = {"protocol": self.protocol.value, "weights": self.weights,
                           "precision": self.settings.precision.value, "device": str(self.device),
                           "ct_window": "MR rule" if window is None else f"{window[0]:g}/{window[1]:g}",
                           "slices": z1 - z0, "batch_size": self.settings.batch_size,
                           "empty_slices": int(sum(not out[:, :, z].any() for z in range(z0, z1))),
                           "seconds_total": time.perf_counter() - start, **clock}
        return out

    def _every_slice(self, views: Any, box: tuple[int, ...], shape: tuple[int, ...], out: np.ndarray,
                     clock: dict[str, float]) -> None:
        x0, y0, z0, x1, y1, z1 = box
        height, width = shape[1], shape[0]
        box_1024 = box_to_1024(view_box((x0, y0, x1, y1), (shape[0], shape[1])), height, width)
        size = self.settings.batch_size
        for start in range(z0, z1, size):
            chunk = list(range(start, min(start + size, z1)))
            embeddings = self._encode(np.stack([views(z) for z in chunk]), clock)
            clock["encoder_batches"] += 1
            masks = self._decode(embeddings, np.repeat(box_1024[None], len(chunk), axis=0), height, width, clock)
            for z, mask in zip(chunk, masks, strict=True):
                out[:, :, z] = case_view(mask)

    def _propagate(self, views: Any, box: tuple[int, ...], start: int, shape: tuple[int, ...], out: np.ndarray,
                   clock: dict[str, float]) -> None:
        x0, y0, z0, x1, y1, z1 = box
        height, width = shape[1], shape[0]
        given = box_to_1024(view_box((x0, y0, x1, y1), (shape[0], shape[1])), height, width)
        order = list(range(start, z1)) + list(range(start - 1, z0 - 1, -1))
        previous: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # slice -> (its box at 1024, its mask (H, W))
        for z, embedding in self._embeddings(views, order, clock):
            box_1024 = given
            if z != start:
                neighbour_box, neighbour_mask = previous[z - 1 if z > start else z + 1]
                # an empty neighbour mask has no box: its own box is used again (MedSAM's nearest-box fallback)
                found = propagation_box_1024(neighbour_mask)
                box_1024 = neighbour_box if found is None else found
            mask = self._decode(embedding, box_1024[None], height, width, clock)[0]
            previous[z] = (box_1024, mask)
            out[:, :, z] = case_view(mask)


def _build(protocol: MedSAMProtocol, checkpoint: str | Path | None, kwargs: Mapping[str, Any]) -> MedSAM:
    name = _NAMES[protocol]
    check_known(name, kwargs, (*_SETTING_KEYS, *_FACTORY_KEYS))
    settings = MedSAMSettings.from_kwargs(name, {k: v for k, v in kwargs.items() if k in _SETTING_KEYS})
    random_weights = as_bool(name, "random_weights", kwargs.get("random_weights", False))
    seed = as_int(name, "seed", kwargs.get("seed", 0), minimum=0)
    device = kwargs.get("device", "cpu")
    if not isinstance(device, str):
        raise SettingsError(f"{name}: setting device = {device!r}; expected a torch device string such as 'cuda:0'")
    if random_weights and checkpoint is not None:
        raise SettingsError(f"{name}: both a checkpoint ({checkpoint}) and random_weights = true are configured; "
                            f"expected one of them")
    if random_weights:
        loaded = random_sam(seed=seed)
    elif checkpoint is None:
        raise SettingsError(f"{name} needs MedSAM's weights: set `checkpoint` to medsam_vit_b.pth in its "
                            f"[models.\"{name}\"] table (github.com/bowang-lab/MedSAM, 'Model checkpoints'), or "
                            f"random_weights = true for the architecture at random weights")
    else:
        loaded = load_medsam(checkpoint)
    return MedSAM(loaded, protocol, settings, device)


def medsam_3dbox(checkpoint: str | Path | None = None, **kwargs: Any) -> MedSAM:
    """The registry's factory of ``MedSAM-3DBox`` (settings in the module docstring)."""
    return _build(MedSAMProtocol.BOX_EVERY_SLICE, checkpoint, kwargs)


def medsam_propagate(checkpoint: str | Path | None = None, **kwargs: Any) -> MedSAM:
    """The registry's factory of ``MedSAM-Propagate`` (settings in the module docstring)."""
    return _build(MedSAMProtocol.PROPAGATE, checkpoint, kwargs)
