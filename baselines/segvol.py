"""SegVol (Du et al., 2024) on a 3D-box prompt, run as its released code runs it: zoom-out, then zoom-in.

The volume is prepared and the box mapped by SegVol's own steps (:mod:`baselines.segvol_geometry`): foreground
normalisation, axis transpose, min-max, foreground crop, and a 32 x 256 x 256 zoom-out view in which the box becomes
SegVol's box prompt. The network (the released ``SegVolModel``'s ``.model``, built from the user's copy of the model
folder: :mod:`baselines.segvol_folder`) predicts the zoom-out view; that prediction, resized back onto the cropped
volume, gives the zoom-in region, which is predicted window by window (each window prompted with the box of the
zoom-out prediction inside it, or with the prompt box when one window covers the region) and pasted back. The mask
(logits whose sigmoid exceeds 0.5) is then mapped back through the crop and the transpose onto the case grid. This
follows ``SegVolModel.forward_test`` of the released folder step by step; only the network calls run SegVol's code.

SegVol receives the 3D box and so leaks the object's z-extent.

Settings (keys of the run config's ``[models."SegVol"]`` table)::

    checkpoint = "/path/to/SegVol"     # the local copy of the released model folder
    trust_remote_code = true           # required: SegVol's architecture is the folder's code
    random_weights = false             # true: the folder's architecture at a seeded random initialisation
    seed = 0
    zoom_in = true                     # false: the zoom-out prediction only
    zoom_out_mode = "nearest-exact"    # the zoom-out resize ("nearest" in a later revision of the folder)
    align_single_window_box = false    # true: shift a single zoom-in window's box by its padding (see below)
    precision = "fp32"                 # or "bf16" (autocast)
    channel = 0
    device = "cpu"

When the zoom-in region is smaller than one window, the released code pads the region but takes the window's box
from the unpadded region, so the box lands off the object by half the padding; this adapter does the same unless
``align_single_window_box = true``, which a table must then declare.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from baselines.box3d import require_box3d
from baselines.runtime import (
    Precision,
    SettingsError,
    as_bool,
    as_int,
    autocast,
    check_known,
    synchronize,
)
from baselines.segvol_folder import SEGVOL_FOLDER_HINT, LoadedSegVol, load_segvol
from baselines.segvol_geometry import (
    Crop,
    binary_cube,
    box_to_zoom_out,
    foreground_crop,
    foreground_normalize,
    min_max,
    nearest_sources,
    roi_from_logits,
    sliding_windows,
    transpose,
    uncrop,
    window_box,
    zoom,
)
from benchmark.protocol.prompts import PromptKind

if TYPE_CHECKING:
    pass

__all__ = ["SegVolSettings", "SegVol", "segvol", "ZOOM_MODES", "ZOOM_IN_OVERLAP"]

#: Interpolation modes of the zoom-out resize in the released folder's revisions.
ZOOM_MODES = ("nearest-exact", "nearest")
#: Overlap of the zoom-in sliding windows (``forward_test``'s 0.5).
ZOOM_IN_OVERLAP = 0.5


@dataclass(frozen=True, kw_only=True)
class SegVolSettings:
    """How SegVol runs (see the module docstring for the keys)."""

    zoom_in: bool = True
    zoom_out_mode: str = "nearest-exact"
    align_single_window_box: bool = False
    precision: Precision = Precision.FP32
    channel: int = 0

    @classmethod
    def from_kwargs(cls, values: Mapping[str, Any]) -> SegVolSettings:
        """Settings from run-config values.

        Raises:
            SettingsError: A value has the wrong type or range (names the key).
        """
        out: dict[str, Any] = {}
        for key in ("zoom_in", "align_single_window_box"):
            if key in values:
                out[key] = as_bool("SegVol", key, values[key])
        if "channel" in values:
            out["channel"] = as_int("SegVol", "channel", values["channel"], minimum=0)
        if "zoom_out_mode" in values:
            if values["zoom_out_mode"] not in ZOOM_MODES:
                raise SettingsError(f"SegVol: setting zoom_out_mode = {values['zoom_out_mode']!r}; expected one of "
                                    f"{list(ZOOM_MODES)}")
            out["zoom_out_mode"] = values["zoom_out_mode"]
        if "precision" in values:
            try:
                out["precision"] = Precision(values["precision"])
            except ValueError:
                raise SettingsError(f"SegVol: setting precision = {values['precision']!r}; expected one of "
                                    f"{[p.value for p in Precision]}") from None
        return cls(**out)


_SETTING_KEYS = ("zoom_in", "zoom_out_mode", "align_single_window_box", "precision", "channel")
_FACTORY_KEYS = ("trust_remote_code", "random_weights", "seed", "device")


class SegVol:
    """SegVol on a 3D-box prompt: the model protocol's name, prompt kinds, ``to``, ``segment``.

    Attributes:
        weights: ``"checkpoint"`` or ``"random"`` (the harness records it).
        checkpoint_sha256: SHA-256 of the weights file, None with random weights.
        last_trace: What the latest ``segment`` did: crop, zoom-out box, zoom-in windows, stage seconds.
    """

    name = "SegVol"
    prompt_kinds = frozenset({PromptKind.BOX_3D.value})

    def __init__(self, loaded: LoadedSegVol, settings: SegVolSettings | None = None, device: str = "cpu") -> None:
        import torch

        self.settings = settings or SegVolSettings()
        self.released = loaded.model
        self.network = loaded.model.model
        self.window = loaded.spatial_size
        self.weights = loaded.weights
        self.checkpoint_sha256 = loaded.checkpoint_sha256
        self.code_sha256 = loaded.code_sha256
        self.device = torch.device("cpu")
        self.last_trace: dict[str, Any] = {}
        self.to(device)

    def to(self, device: str) -> SegVol:
        import torch

        self.device = torch.device(device)
        self.released.to(self.device)
        return self

    def _predict(self, image: np.ndarray, box: tuple[int, ...]) -> np.ndarray:
        """The network's logits (same shape as ``image``, a window-sized (D, H, W) array) for one box prompt."""
        import torch

        volume = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None].to(self.device)
        boxes = torch.tensor([box], dtype=torch.float32, device=self.device)
        with torch.inference_mode(), autocast(self.device, self.settings.precision):
            logits = self.network(volume, text=None, boxes=boxes, points=None)
        synchronize(self.device)
        return np.asarray(logits[0, 0].float().cpu().numpy())

    def _zoom_in(self, image: np.ndarray, cube: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, int]:
        """Sliding-window logits over the zoom-in region ``image`` (D, H, W), and the number of windows."""
        windows = sliding_windows(image.shape, self.window, ZOOM_IN_OVERLAP)
        padded = np.pad(image, list(zip(windows.pad_before, windows.pad_after, strict=True)))
        total = np.zeros(padded.shape, dtype=np.float32)
        count = np.zeros(padded.shape, dtype=np.float32)
        for start in windows.starts:
            region = tuple(slice(s, s + n) for s, n in zip(start, windows.size, strict=True))
            box = window_box(windows, start, cube, positive,
                             align_single_window=self.settings.align_single_window_box)
            total[region] += self._predict(padded[region], box)
            count[region] += 1.0
        averaged = total / count
        inner = tuple(slice(b, b + n) for b, n in zip(windows.pad_before, image.shape, strict=True))
        return averaged[inner], len(windows.starts)

    def segment(self, case: Any, prompt: Any) -> np.ndarray:
        """The (X, Y, Z) boolean mask of the object in ``prompt``'s 3D box.

        Raises:
            ValueError: The prompt is not a 3D box or leaves the image, the channel does not exist, the volume is
                constant, or the box lies outside SegVol's foreground crop.
        """
        import torch

        image = case.image
        shape = tuple(int(n) for n in image.shape[-3:])
        x0, y0, z0, x1, y1, z1 = require_box3d(self.name, prompt, shape).box
        if self.settings.channel >= image.shape[0]:
            raise ValueError(f"SegVol: setting channel = {self.settings.channel}, but the case has "
                             f"{image.shape[0]} channel(s)")
        clock: dict[str, Any] = {}
        start = time.perf_counter()
        volume = min_max(transpose(foreground_normalize(image[self.settings.channel])))
        crop = foreground_crop(volume)
        cropped = volume[crop.slices()]
        mode = self.settings.zoom_out_mode
        zoom_box = box_to_zoom_out((z0, y0, x0, z1, y1, x1), crop, self.window, mode)
        clock["seconds_preprocess"] = time.perf_counter() - start
        start = time.perf_counter()
        zoom_logits = self._predict(zoom(cropped, self.window, mode), zoom_box)
        back = [nearest_sources(n, m, "nearest") for n, m in zip(self.window, cropped.shape, strict=True)]
        logits = zoom_logits[np.ix_(*back)]
        clock["seconds_zoom_out"] = time.perf_counter() - start
        positive = (torch.sigmoid(torch.from_numpy(logits)) > 0.5).numpy()
        roi: Crop | None = roi_from_logits(positive, self.window) if self.settings.zoom_in else None
        windows = 0
        if roi is not None:
            start = time.perf_counter()
            cube = binary_cube(zoom_box, self.window)[np.ix_(*back)]
            logits[roi.slices()], windows = self._zoom_in(cropped[roi.slices()], cube[roi.slices()],
                                                          positive[roi.slices()])
            positive = (torch.sigmoid(torch.from_numpy(logits)) > 0.5).numpy()
            clock["seconds_zoom_in"] = time.perf_counter() - start
        self.last_trace = {"weights": self.weights, "precision": self.settings.precision.value,
                           "device": str(self.device), "crop_start": str(crop.start), "crop_stop": str(crop.stop),
                           "zoom_out_box": str(zoom_box), "zoom_in": self.settings.zoom_in,
                           "zoom_in_region": "none" if roi is None else str(roi.shape), "zoom_in_windows": windows,
                           **clock}
        return uncrop(positive, crop, volume.shape)


def segvol(checkpoint: str | Path | None = None, **kwargs: Any) -> SegVol:
    """The registry's factory of ``SegVol``: ``checkpoint`` is the model folder (settings in the module docstring).

    Raises:
        SettingsError: An unknown setting, a bad value, or no folder configured.
        RemoteCodeRefusedError: ``trust_remote_code`` is not true.
        CheckpointNotFoundError, CheckpointError: The folder or its weights are missing or do not fit.
    """
    check_known("SegVol", kwargs, (*_SETTING_KEYS, *_FACTORY_KEYS))
    settings = SegVolSettings.from_kwargs({k: v for k, v in kwargs.items() if k in _SETTING_KEYS})
    trust = as_bool("SegVol", "trust_remote_code", kwargs.get("trust_remote_code", False))
    random_weights = as_bool("SegVol", "random_weights", kwargs.get("random_weights", False))
    seed = as_int("SegVol", "seed", kwargs.get("seed", 0), minimum=0)
    device = kwargs.get("device", "cpu")
    if not isinstance(device, str):
        raise SettingsError(f"SegVol: setting device = {device!r}; expected a torch device string such as 'cuda:0'")
    if checkpoint is None:
        raise SettingsError(f"SegVol needs its model folder: expected {SEGVOL_FOLDER_HINT} (its architecture is the "
                            f"folder's code, so random_weights needs the folder too)")
    loaded = load_segvol(checkpoint, trust_remote_code=trust, random_weights=random_weights, seed=seed)
    return SegVol(loaded, settings, device)
