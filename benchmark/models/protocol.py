"""The protocol of an interactive segmentation model.

A model is anything with these attributes and methods; it need not import this module (PropSAM satisfies it
structurally). Outside packages register factories in the entry-point group ``propbench.models``; the conformance kit
(benchmark.models.conformance, ``propbench models check NAME``) checks a model against this contract.

Optional attributes the harness records when a model has them:

- ``checkpoint_sha256``: SHA-256 of the weights the model loaded (str or None);
- ``last_trace``: a flat mapping of what the latest ``segment`` call did (stage seconds as ``seconds_<stage>``,
  counts, stop reasons), stored beside the row.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["CaseLike", "InteractiveModel"]


class CaseLike(Protocol):
    """What a model may read of a case: the image channels, the voxel spacing, the modality and the dataset."""

    @property
    def image(self) -> np.ndarray:
        """(C, X, Y, Z) image channels on the canonical grid."""

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along (x, y, z)."""

    @property
    def modality(self) -> str:
        """The dataset's modality (``"CT"``, ``"MR"``, ``"PET-CT"``, ...)."""

    @property
    def dataset_id(self) -> str:
        """The catalog ID of the case's dataset (for per-dataset settings such as a CT window)."""


@runtime_checkable
class InteractiveModel(Protocol):
    """An interactive model: a name, the prompt kinds it accepts, a device, and ``segment``.

    ``prompt_kinds`` holds PromptKind values as strings (``"box2d"``, ``"mask2d"``, ``"box3d"``). ``segment`` takes a
    case and a prompt (benchmark.protocol.prompts) and returns a boolean (X, Y, Z) mask on the case's canonical grid;
    it must not modify either, must give the same mask for the same input, and must refuse a prompt kind it does not
    accept with an exception whose message names the kind.
    """

    name: str
    prompt_kinds: Set[str]

    def to(self, device: str) -> InteractiveModel: ...

    def segment(self, case: CaseLike, prompt: object) -> np.ndarray: ...
