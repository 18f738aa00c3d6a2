from __future__ import annotations

import numpy as np
import pytest

from benchmark.protocol.object_prompts import (
    ObjectKey,
    ObjectPrompts,
    ProtocolOptions,
    SkippedObject,
    simulate_object,
)
from benchmark.protocol.prompts import Mask2D, PromptKind
from benchmark.protocol.settings import DEFAULT_POINT, Setting, SettingPoint

OPTIONS = ProtocolOptions(seed=3)


def _key(point: SettingPoint = DEFAULT_POINT, name: str = "liver") -> ObjectKey:
    return ObjectKey("D1", "case_0", name, point.prompt_key)


def _ellipsoid(shape: tuple[int, int, int] = (48, 48, 40), centre: tuple[float, float, float] = (24, 24, 20),
               radii: tuple[float, float, float] = (14, 10, 15)) -> np.ndarray:
    grid = np.ogrid[tuple(slice(0, n) for n in shape)]
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii, strict=True)) <= 1.0  # type: ignore[no-any-return]


def _prompted(mask: np.ndarray, point: SettingPoint = DEFAULT_POINT, **options: object) -> ObjectPrompts:
    result = simulate_object(mask, _key(point), point, ProtocolOptions(**{"seed": 3, **options}))  # type: ignore[arg-type]
    assert isinstance(result, ObjectPrompts)
    return result


def test_prompts_share_the_guide_and_contain_the_tight_box() -> None:
    mask = _ellipsoid()
    prompts = _prompted(mask)
    guide = prompts.slice_index
    assert guide == 20 and np.array_equal(prompts.mask2d.mask, mask[:, :, guide])
    us, vs = np.nonzero(mask[:, :, guide])
    tight = (int(us.min()), int(vs.min()), int(us.max()) + 1, int(vs.max()) + 1)
    u0, v0, u1, v1 = prompts.box2d.box
    assert (u0, v0) <= tight[:2] and u1 >= tight[2] and v1 >= tight[3] and prompts.box2d.box != tight
    for low, high, width in ((u0, u1, tight[2] - tight[0]), (v0, v1, tight[3] - tight[1])):
        assert width <= high - low <= np.ceil(1.25 * width) + 1
    x0, y0, z0, x1, y1, z1 = prompts.box3d.box
    assert (x0, y0, x1, y1) == prompts.box2d.box and prompts.box3d.slice_index == guide
    assert prompts.extent == (5, 36) and z0 <= 5 and z1 >= 36 and z1 - z0 <= np.ceil(1.25 * 31) + 1


def test_same_key_same_prompts_other_object_other_draws() -> None:
    mask = _ellipsoid()
    first, again = _prompted(mask), _prompted(mask)
    assert first.box2d == again.box2d and first.box3d == again.box3d
    other = simulate_object(mask, _key(name="spleen"), DEFAULT_POINT, OPTIONS)
    assert isinstance(other, ObjectPrompts) and other.box2d != first.box2d
    reseeded = simulate_object(mask, _key(), DEFAULT_POINT, ProtocolOptions(seed=4))
    assert isinstance(reseeded, ObjectPrompts) and reseeded.box2d != first.box2d


@pytest.mark.parametrize(("area_side", "prompted"), [(10, False), (11, True)])
def test_objects_need_a_guide_slice_of_more_than_min_area_pixels(area_side: int, prompted: bool) -> None:
    mask = np.zeros((32, 32, 6), bool)
    mask[2:2 + area_side, 2:12, 1:5] = True  # 100 or 110 pixels per slice
    result = simulate_object(mask, _key(), DEFAULT_POINT, OPTIONS)
    assert isinstance(result, ObjectPrompts) is prompted
    if not prompted:
        assert isinstance(result, SkippedObject)
        assert "holds 100 pixels" in result.reason and "more than 100" in result.reason


def test_slice_deviation_moves_the_guide_by_the_ratio_of_the_extent() -> None:
    mask = _ellipsoid()  # axial extent 31 slices (5..35), largest cross-section on slice 20
    for ratio, slices in ((0.05, 2), (0.10, 3), (0.20, 6)):
        point = SettingPoint(Setting.SLICE_DEVIATION, ratio)
        prompts = _prompted(mask, point)
        assert abs(prompts.slice_index - 20) == slices
        assert prompts.box3d.slice_index == prompts.slice_index and mask[:, :, prompts.slice_index].any()


def test_deviation_is_clamped_to_the_object() -> None:
    mask = np.zeros((32, 32, 20), bool)
    mask[4:20, 4:20, 8:12] = True
    mask[4:24, 4:20, 11] = True  # largest on the last slice
    for seed in range(6):
        point = SettingPoint(Setting.SLICE_DEVIATION, 1.0)
        result = simulate_object(mask, _key(point), point, ProtocolOptions(seed=seed))
        assert isinstance(result, ObjectPrompts) and result.slice_index in (8, 11)


def test_thickness_points_reuse_the_default_prompts() -> None:
    mask = _ellipsoid()
    default = _prompted(mask)
    thick = _prompted(mask, SettingPoint(Setting.THICKNESS, 40.0))
    assert thick.key == default.key and thick.box2d == default.box2d and thick.box3d == default.box3d
    with pytest.raises(ValueError, match="expected the key 'default'"):
        simulate_object(mask, ObjectKey("D1", "c", "o", "thickness=40"), SettingPoint(Setting.THICKNESS, 40), OPTIONS)


def test_only_an_explicit_request_attaches_the_extent() -> None:
    prompts = _prompted(_ellipsoid())
    plain = prompts.for_kind(PromptKind.MASK_2D)
    leaky = prompts.for_kind("mask2d", with_extent=True)
    assert isinstance(plain, Mask2D) and isinstance(leaky, Mask2D)
    assert plain.leaks == () and plain.extent is None
    assert leaky.leaks == ("extent",) and leaky.extent == (5, 36)
    assert prompts.for_kind("box3d").leaks == ("z-extent",) and prompts.for_kind("box2d").leaks == ()


def test_tight_jitter_gives_tight_boxes() -> None:
    mask = _ellipsoid()
    prompts = _prompted(mask, jitter="tight")
    us, vs = np.nonzero(mask[:, :, 20])
    assert prompts.box2d.box == (us.min(), vs.min(), us.max() + 1, vs.max() + 1)
    assert prompts.box3d.box[2::3] == (5, 36)
