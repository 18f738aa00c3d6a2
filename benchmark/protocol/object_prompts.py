"""Every prompt of one object in one setting, drawn once so that all models receive prompts of one origin.

An object is prompted only if the guide slice of the default protocol holds more than ``min_area`` pixels (the
paper's sample rule: "a mask annotation with an area exceeding 100 pixels"); smaller objects are skipped with the
reason, never dropped silently. The check uses the default guide for every setting, so each setting evaluates the
same objects. Objects absent from a case are not prompted (the caller passes present objects only).

Draws: the box ratios come from the generator of the default setting (so a deviated guide keeps the same
perturbation), the deviation's direction from the generator of the deviation point (benchmark.protocol.seeding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.data.geometry import Plane
from benchmark.protocol.prompts import Box2D, Box3D, Mask2D, Prompt, PromptKind
from benchmark.protocol.seeding import prompt_rng
from benchmark.protocol.settings import DEFAULT_POINT, Setting, SettingPoint, deviation_slices
from benchmark.protocol.simulation import (
    BoxJitter,
    SliceRule,
    box2d_prompt,
    box3d_prompt,
    draw_ratios,
    guide_slice,
    mask2d_prompt,
    object_extent,
    slice_areas,
)

__all__ = ["ProtocolOptions", "ObjectKey", "ObjectPrompts", "SkippedObject", "simulate_object"]


@dataclass(frozen=True, kw_only=True)
class ProtocolOptions:
    """The choices of the prompt protocol a run records.

    Attributes:
        plane: Plane of 2D prompts (3D boxes are always transverse plus z).
        rule: Guide slice rule.
        jitter: Box perturbation.
        min_area: An object is prompted when its guide slice holds more than this many pixels.
        seed: Run seed of every draw.
    """

    plane: Plane = Plane.AXIAL
    rule: SliceRule = SliceRule.LARGEST
    jitter: BoxJitter = BoxJitter.PAPER
    min_area: int = 100
    seed: int = 0


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Which object of which case a prompt belongs to, in which setting (the prompt key of the setting point)."""

    dataset_id: str
    case_id: str
    object_name: str
    setting_key: str


@dataclass(frozen=True, kw_only=True, eq=False)
class ObjectPrompts:
    """The prompts of one object in one setting.

    Attributes:
        key: The object and the setting's prompt key.
        mask2d: The guide slice's ground truth.
        box2d: The (perturbed) box on the guide slice.
        box3d: The transverse box plus the (perturbed) z-extent.
        extent: The object's true slice range along the 2D prompts' plane (for naive propagation alone).
    """

    key: ObjectKey
    mask2d: Mask2D
    box2d: Box2D
    box3d: Box3D
    extent: tuple[int, int]

    @property
    def slice_index(self) -> int:
        return self.mask2d.slice_index

    def for_kind(self, kind: PromptKind | str, *, with_extent: bool = False) -> Prompt:
        """The prompt of ``kind``; ``with_extent`` attaches the true extent to a 2D mask (a declared leak)."""
        chosen = PromptKind(kind)
        if chosen is PromptKind.BOX_2D:
            return self.box2d
        if chosen is PromptKind.BOX_3D:
            return self.box3d
        if with_extent:
            return Mask2D(self.mask2d.plane, self.mask2d.slice_index, self.mask2d.mask, ("extent",), self.extent)
        return self.mask2d


@dataclass(frozen=True)
class SkippedObject:
    """An object the protocol does not prompt, and why."""

    key: ObjectKey
    reason: str


def simulate_object(mask: np.ndarray, key: ObjectKey, point: SettingPoint,
                    options: ProtocolOptions) -> ObjectPrompts | SkippedObject:
    """Draw the prompts of one present object for ``point``.

    Args:
        mask: Boolean (X, Y, Z) ground truth of the object (not empty).
        key: The object; its ``setting_key`` must be ``point.prompt_key``.
        point: The setting point.
        options: The protocol's choices.

    Raises:
        ValueError: The mask is empty, or ``key`` belongs to another setting.
    """
    if key.setting_key != point.prompt_key:
        raise ValueError(f"prompts of {key} drawn for setting {point.key!r}, expected the key {point.prompt_key!r}")
    plane = options.plane
    base = guide_slice(mask, plane, options.rule)
    area = int(slice_areas(mask, plane)[base])
    if area <= options.min_area:
        return SkippedObject(key, f"guide slice {base} ({plane}) holds {area} pixels; the protocol prompts objects "
                                  f"whose guide slice holds more than {options.min_area}")
    default_rng = prompt_rng(options.seed, key.dataset_id, key.case_id, key.object_name, DEFAULT_POINT.key)
    ratios = draw_ratios(options.jitter, default_rng)
    deviation = 0
    if point.setting is Setting.SLICE_DEVIATION:
        start, stop = object_extent(mask, plane)
        direction = prompt_rng(options.seed, key.dataset_id, key.case_id, key.object_name, point.key).choice((-1, 1))
        deviation = int(direction) * deviation_slices(point.value, stop - start)
    mask2d = mask2d_prompt(mask, plane, options.rule, deviation)
    box2d = box2d_prompt(mask, plane, options.rule, deviation, ratios=ratios)
    box3d = box3d_prompt(mask, options.rule, deviation, ratios=ratios)
    return ObjectPrompts(key=key, mask2d=mask2d, box2d=box2d, box3d=box3d, extent=object_extent(mask, plane))
