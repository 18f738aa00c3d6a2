"""Training cases: the frozen :class:`TrainingCase` and the iterable protocol the training loops read.

Training reads cases through any iterable of :class:`TrainingCase` the caller supplies (the suite passes its readers
and splits; a user can pass a list). A ``Sequence`` is read lazily, one case at a time, by index (so a sequence that
loads each case from disk on ``__getitem__`` keeps memory flat); any other iterable is read once into memory.

Folder layout read by :func:`read_case_folder` (``propsam train --data DIR``)::

    DIR/images/<case_id>.nii.gz   3D image (or 4D with channels last; the first channel is used)
    DIR/labels/<case_id>.nii.gz   label map on the image's grid; each non-zero value is one object
    DIR/labels.json               optional: {"1": "liver", "2": "spleen"} names the values (default "label_<v>")

Both files are reoriented to the canonical RAS grid by nibabel (``as_closest_canonical``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import cast, overload

import numpy as np

__all__ = ["TrainingCase", "CaseSource", "as_training_case", "as_case_sequence", "read_case_folder", "split_cases"]

#: What the training loops accept: any iterable of cases (a Sequence is read lazily by index).
CaseSource = Iterable["TrainingCase"]


@dataclass(frozen=True, eq=False)
class TrainingCase:
    """One training volume with its objects.

    Attributes:
        case_id: Identifier, for messages.
        image: (X, Y, Z) float32 intensities on the canonical grid.
        masks: Object name -> (X, Y, Z) bool mask on the same grid.
        spacing: Voxel size (sx, sy, sz) in mm.

    Raises:
        ValueError: An image that is not 3D or not finite, a mask of another shape, or a non-positive spacing.
    """

    case_id: str
    image: np.ndarray
    masks: Mapping[str, np.ndarray]
    spacing: tuple[float, float, float]

    def __post_init__(self) -> None:
        image = np.asarray(self.image, dtype=np.float32)
        if image.ndim != 3:
            raise ValueError(f"TrainingCase {self.case_id!r}: image must be 3D (X, Y, Z), got shape {image.shape}")
        if not np.isfinite(image).all():
            raise ValueError(f"TrainingCase {self.case_id!r}: image has NaN or infinite values; expected finite")
        masks = {}
        for name, mask in self.masks.items():
            mask = np.asarray(mask).astype(bool, copy=False)
            if mask.shape != image.shape:
                raise ValueError(f"TrainingCase {self.case_id!r}: mask {name!r} has shape {mask.shape}, expected the "
                                 f"image's {image.shape}")
            masks[str(name)] = mask
        spacing = tuple(float(s) for s in self.spacing)
        if len(spacing) != 3 or not all(math.isfinite(s) and s > 0 for s in spacing):
            raise ValueError(f"TrainingCase {self.case_id!r}: spacing must be three positive mm values, got "
                             f"{self.spacing}")
        object.__setattr__(self, "image", image)
        object.__setattr__(self, "masks", MappingProxyType(masks))
        object.__setattr__(self, "spacing", spacing)


_CASE_ATTRIBUTES = ("case_id", "image", "masks", "spacing")


def as_training_case(item: object, *, argument: str = "cases", index: int = 0) -> TrainingCase:
    """``item`` as a :class:`TrainingCase`: itself, or built from any object with ``case_id``, ``image``, ``masks``
    and ``spacing`` attributes (duck typing: the suite's training volumes, a user's own case class).

    Raises:
        TypeError: ``item`` lacks one of the four attributes.
        ValueError: Its values are not a valid case (see :class:`TrainingCase`).
    """
    if isinstance(item, TrainingCase):
        return item
    missing = [name for name in _CASE_ATTRIBUTES if not hasattr(item, name)]
    if missing:
        raise TypeError(f"{argument}[{index}]: items must be TrainingCase or have attributes "
                        f"{list(_CASE_ATTRIBUTES)}; got {type(item).__name__} without {missing}")
    values = {name: getattr(item, name) for name in _CASE_ATTRIBUTES}
    return TrainingCase(case_id=str(values["case_id"]), image=values["image"], masks=values["masks"],
                        spacing=values["spacing"])


class _CaseView(Sequence[TrainingCase]):
    """A lazy view of a sequence of case-like items, converting each to :class:`TrainingCase` on access."""

    def __init__(self, items: Sequence[object], argument: str) -> None:
        self._items = items
        self._argument = argument

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> TrainingCase: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[TrainingCase]: ...

    def __getitem__(self, index: int | slice) -> TrainingCase | Sequence[TrainingCase]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return as_training_case(self._items[index], argument=self._argument, index=index)


def as_case_sequence(cases: CaseSource | Iterable[object], *, argument: str = "cases") -> Sequence[TrainingCase]:
    """A random-access view of ``cases``.

    A Sequence of :class:`TrainingCase` is returned as it is; a Sequence of other case-like objects (attributes
    ``case_id``, ``image``, ``masks``, ``spacing``) is wrapped in a lazy view that converts each item on access (so
    a sequence that loads cases from disk on indexing keeps memory flat); any other iterable is read into a list.

    Raises:
        TypeError: An item (the first is checked here, others on access) that is neither a TrainingCase nor has
            the four attributes.
        ValueError: No cases.
    """
    sequence: Sequence[object] = cases if isinstance(cases, Sequence) else list(cases)
    if len(sequence) == 0:
        raise ValueError(f"{argument}: no training cases; expected at least one TrainingCase")
    first = sequence[0]
    if isinstance(first, TrainingCase) and isinstance(sequence, list | tuple) \
            and all(isinstance(c, TrainingCase) for c in sequence):
        return cast(Sequence[TrainingCase], sequence)
    as_training_case(first, argument=argument)  # fail early on items of the wrong kind
    return _CaseView(sequence, argument)


def _canonical(path: Path) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    from propsam.io import read_image

    image = read_image(path)
    return image.array, image.affine, image.spacing


def read_case_folder(folder: str | Path) -> list[TrainingCase]:
    """Read every image/label pair of a folder in the layout of the module docstring.

    Raises:
        FileNotFoundError: No ``images``/``labels`` folder, no images, or an image without a label.
        ValueError: A label on another grid than its image, or a malformed ``labels.json``.
    """
    folder = Path(folder)
    images_dir, labels_dir = folder / "images", folder / "labels"
    if not images_dir.is_dir() or not labels_dir.is_dir():
        raise FileNotFoundError(f"--data {folder}: expected sub-folders images/ and labels/ with <id>.nii.gz pairs")
    names = _label_names(folder / "labels.json")
    cases = []
    for image_path in sorted(images_dir.glob("*.nii*")):
        case_id = image_path.name.split(".nii")[0]
        label_path = next(iter(sorted(labels_dir.glob(f"{case_id}.nii*"))), None)
        if label_path is None:
            raise FileNotFoundError(f"--data {folder}: image {image_path.name} has no label file "
                                    f"labels/{case_id}.nii.gz")
        image, affine, spacing = _canonical(image_path)
        label, label_affine, _ = _canonical(label_path)
        if label.shape != image.shape or not np.allclose(label_affine, affine, atol=1e-3):
            raise ValueError(f"{label_path}: label grid {label.shape} does not match image {image_path.name} grid "
                             f"{image.shape} (shape and affine within 1e-3 mm expected)")
        values = np.rint(label).astype(np.int64)
        masks = {names.get(int(v), f"label_{int(v)}"): values == v for v in np.unique(values) if v != 0}
        cases.append(TrainingCase(case_id=case_id, image=image, masks=masks, spacing=spacing))
    if not cases:
        raise FileNotFoundError(f"--data {folder}: no images/*.nii.gz files found")
    return cases


def _label_names(path: Path) -> dict[int, str]:
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text())
        return {int(k): str(v) for k, v in raw.items()}
    except (ValueError, AttributeError) as err:
        raise ValueError(f"{path}: expected a JSON object mapping label values to names, e.g. "
                         f"{{\"1\": \"liver\"}}: {err}") from err


def split_cases(cases: Sequence[TrainingCase], val_fraction: float = 0.2, *, seed: int = 0
                ) -> tuple[list[TrainingCase], list[TrainingCase]]:
    """Split cases into training and validation (the paper's 80:20), at least one case on each side when possible.

    Raises:
        ValueError: ``val_fraction`` outside [0, 1).
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    order = np.random.default_rng(seed).permutation(len(cases))
    n_val = min(len(cases) - 1, max(1 if val_fraction > 0 else 0, round(val_fraction * len(cases))))
    val = [cases[i] for i in sorted(order[:n_val])]
    train = [cases[i] for i in sorted(order[n_val:])]
    return train, val
