"""Propagation: thickness window in mm, rounds and guides, stop reasons, planes, trace contents."""

from __future__ import annotations

import numpy as np
import pytest

from propsam.inference.planes import Plane, slice_of
from propsam.inference.propagation import (
    PropagationSettings,
    StopReason,
    guide_intensity_window,
    propagate,
    slices_per_side,
    thickness_window,
)
from propsam.inference.propagation_steps import keep_connected_to
from propsam.inference.runtime import Runtime
from tests.propsam.inference.fakes import (
    ConstantPropMask,
    EchoPropMask,
    OraclePropMask,
    ThresholdPropMask,
    blob_volume,
    cone,
    cylinder,
    dice,
    oblique_tube,
    one_torch_thread,  # noqa: F401  (module fixture)
    oracle_image,
    random_networks,
    recall,
    y_split,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CPU = Runtime.create("cpu")


@pytest.mark.parametrize(("spacing", "window", "cap", "expected"), [
    (1.0, 20.0, 20, 20),   # 20 mm / 1 mm
    (0.5, 20.0, 20, 20),   # 40 slices in 20 mm, capped at 20
    (2.5, 20.0, 20, 8),    # exactly 8 (no floating-point loss)
    (3.0, 20.0, 20, 6),    # 6.67 -> 6: slice 7 would be 21 mm away
    (1.3, 20.0, 20, 15),   # 15.4 -> 15
    (25.0, 20.0, 20, 1),   # thicker than the window: still one slice per round
    (2.0, 5.0, 20, 2),
    (1.0, 20.0, 4, 4),
])
def test_slices_per_side_by_hand(spacing: float, window: float, cap: int, expected: int) -> None:
    assert slices_per_side(spacing, window, cap) == expected


@pytest.mark.parametrize(("plane", "n"), [
    # spacing (0.7, 1.3, 3.0) mm: the window uses the spacing along the plane's normal
    (Plane.AXIAL, 6),      # z: floor(20 / 3.0)
    (Plane.CORONAL, 15),   # y: floor(20 / 1.3)
    (Plane.SAGITTAL, 20),  # x: floor(20 / 0.7) = 28, capped at 20
])
def test_window_uses_the_spacing_along_the_normal(plane: Plane, n: int) -> None:
    volume, _ = blob_volume((50, 50, 50), radii=(40.0, 40.0, 40.0))
    guide = np.ones(slice_of(volume, plane, 25).shape, dtype=bool)
    net = ConstantPropMask(10.0)
    _, trace = propagate(net, volume, (0.7, 1.3, 3.0), plane, 25, guide, CPU, PropagationSettings(max_rounds=1))
    assert trace.slices_per_side == n
    assert trace.forward.visited == tuple(range(26, 26 + n))
    assert trace.backward.visited == tuple(range(24, 24 - n, -1))


def test_negative_network_stops_after_the_first_slice_on_each_side() -> None:
    volume, truth = blob_volume()
    guide = truth[:, :, 15]
    net = ConstantPropMask(-10.0)
    mask, trace = propagate(net, volume, (1.0, 1.0, 2.5), "axial", 15, guide, CPU,
                            PropagationSettings(batch_size=4))
    expected = np.zeros_like(truth)
    expected[:, :, 15] = guide
    np.testing.assert_array_equal(mask, expected)
    for direction, step in ((trace.forward, 1), (trace.backward, -1)):
        assert direction.step == step and direction.rounds == 1
        assert direction.visited == (15 + step,) and direction.segmented == ()
        assert direction.stop is StopReason.NO_FOREGROUND
    assert net.calls == 2  # one batch per side: the rest of the window is skipped once a slice is empty
    assert net.encodes == 1  # the prompt slice is encoded once for both directions


def test_oracle_propagation_recovers_the_blob_and_stops_past_it() -> None:
    # The stub cannot see the blob's partial-volume rim (it lies below the guide's v_min), so the result is a
    # slightly eroded blob: no false positives, and the rim slices at both ends are small.
    volume, truth = blob_volume()  # z-extent of the blob: slices 7 .. 23
    mask, trace = propagate(ThresholdPropMask(), volume, (1.0, 1.0, 1.0), "axial", 15, truth[:, :, 15], CPU,
                            PropagationSettings(window_mm=3.0, batch_size=2))
    assert dice(mask, truth) > 0.95 and not (mask & ~truth).any()
    assert trace.stop_reasons == (StopReason.NO_FOREGROUND, StopReason.NO_FOREGROUND)
    for direction in (trace.forward, trace.backward):
        stopped_at = direction.visited[-1]
        assert direction.segmented == direction.visited[:-1]
        assert not mask[:, :, stopped_at].any()
        beyond = truth[:, :, stopped_at:] if direction.step > 0 else truth[:, :, :stopped_at + 1]
        assert beyond.sum() < 0.01 * truth.sum()
    # The outermost slice of each round guides the next: 3 slices per round.
    assert trace.forward.guides == (15, 18, 21) and trace.backward.guides == (15, 12, 9)
    assert trace.rounds == 3


@pytest.mark.parametrize("plane", list(Plane))
def test_prompts_on_every_plane_reach_the_same_object(plane: Plane) -> None:
    volume, truth = blob_volume((30, 34, 26), radii=(9.0, 11.0, 8.0))
    guide = slice_of(truth, plane, 15 if plane is not Plane.AXIAL else 13)
    index = 15 if plane is not Plane.AXIAL else 13
    mask, trace = propagate(ThresholdPropMask(), volume, (1.0, 1.0, 1.0), plane, index, guide, CPU)
    assert trace.plane is plane and trace.guide_index == index
    np.testing.assert_array_equal(slice_of(mask, plane, index), guide)
    assert dice(mask, truth) > 0.95 and not (mask & ~truth).any()


def test_volume_edge_and_max_rounds() -> None:
    volume, _ = blob_volume((20, 20, 30), radii=(30.0, 30.0, 30.0))
    guide = np.ones((20, 20), dtype=bool)
    net = ConstantPropMask(10.0)  # predicts everything: only the edge or the round limit stop it
    mask, trace = propagate(net, volume, (1.0, 1.0, 2.0), "axial", 0, guide, CPU)
    assert mask.all()
    assert trace.backward.rounds == 0 and trace.backward.stop is StopReason.VOLUME_EDGE
    assert trace.forward.guides == (0, 10, 20) and trace.forward.stop is StopReason.VOLUME_EDGE  # 10 per side
    assert trace.forward.segmented == tuple(range(1, 30))
    assert net.encodes == 3  # guides 0 (shared), 10 and 20
    _, limited = propagate(net, volume, (1.0, 1.0, 2.0), "axial", 0, guide, CPU, PropagationSettings(max_rounds=2))
    assert limited.forward.rounds == 2 and limited.forward.stop is StopReason.MAX_ROUNDS
    assert limited.forward.segmented == tuple(range(1, 21))


def test_empty_guide_gives_an_empty_mask() -> None:
    volume, _ = blob_volume()
    net = ThresholdPropMask()
    mask, trace = propagate(net, volume, (1.0, 1.0, 1.0), "axial", 3, np.zeros((40, 36), dtype=bool), CPU)
    assert not mask.any() and net.calls == 0
    assert trace.stop_reasons == (StopReason.EMPTY_GUIDE, StopReason.EMPTY_GUIDE) and trace.rounds == 0


def test_trace_matches_the_mask_with_a_random_network() -> None:
    _, propmask = random_networks(seed=3)
    volume, truth = blob_volume((24, 20, 12), radii=(6.0, 5.0, 4.0))
    mask, trace = propagate(propmask, volume, (1.5, 1.5, 3.0), "coronal", 10, truth[:, 10, :], CPU,
                            PropagationSettings(max_rounds=2, batch_size=3))
    assert mask.shape == volume.shape and mask.dtype == bool
    np.testing.assert_array_equal(mask[:, 10, :], truth[:, 10, :])
    # The slices holding foreground are exactly the prompt and the slices the trace says it segmented.
    written = set(np.nonzero(mask.any(axis=(0, 2)))[0].tolist())
    assert written == {10, *trace.forward.segmented, *trace.backward.segmented}
    assert set(trace.forward.segmented) <= set(trace.forward.visited)
    assert trace.window.slices == 13 and trace.window.mm == pytest.approx(19.5) and not trace.window.capped
    assert trace.seconds.network > 0 and trace.seconds.preprocessing > 0 and trace.seconds.postprocessing > 0
    assert trace.seconds.box2mask == 0 and trace.seconds.total == pytest.approx(trace.seconds.propagation)


@pytest.mark.parametrize(("name", "value"), [("window_mm", 0.0), ("max_slices", 0), ("context_ratio", 0.9),
                                             ("threshold", 1.0), ("batch_size", 0), ("max_rounds", 0),
                                             ("min_margin_px", -1.0)])
def test_invalid_settings_are_named(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"{name} must be"):
        PropagationSettings(**{name: value})  # type: ignore[arg-type]


def test_guide_intensity_window_and_its_fallbacks() -> None:
    rng = np.random.default_rng(0)
    slice_uv = rng.normal(0, 1, (10, 12)).astype(np.float32)
    mask = np.zeros((10, 12), dtype=bool)
    mask[2:6, 3:9] = True
    slice_uv[mask] = np.arange(24, dtype=np.float32)[::-1]  # 0..23 inside, any order
    # Linear interpolation at ranks 0.005 * 23 and 0.995 * 23 of the 24 values inside the mask.
    assert guide_intensity_window(slice_uv, mask) == pytest.approx((0.115, 22.885))
    slice_uv[:] = 100.0
    slice_uv[mask] = 5.0  # a constant object: the whole slice's window, 5 on 24 of 120 pixels and 100 elsewhere
    assert guide_intensity_window(slice_uv, mask) == pytest.approx((5.0, 100.0))
    assert guide_intensity_window(np.full((10, 12), 2.0), mask) == (2.0, 3.0)  # a constant slice


def test_crop_window_keeps_a_margin_around_thin_objects() -> None:
    from propsam.inference.propagation_steps import _with_margin
    from propsam.preprocessing import box_window

    # A 4 x 2 pixel vessel section: the 1.5 ratio leaves 1 and 0.5 pixels, the margin 4 pixels on each side.
    box = (10, 20, 14, 22)
    window = _with_margin(box_window(box, scale=1.5), box, 4.0)
    assert (window.u0, window.v0, window.u1, window.v1) == (6.0, 16.0, 18.0, 26.0)
    large = (0, 0, 100, 100)  # an organ: the ratio already gives more than the margin
    assert _with_margin(box_window(large, scale=1.5), large, 4.0) == box_window(large, scale=1.5)


# --- following the object: a near-perfect network on objects that drift, split and grow ----------------------------

@pytest.mark.parametrize(("name", "truth", "prompt"), [
    ("oblique tube", oblique_tube(), 31),  # 3 px wide, drifting 0.6 px per slice over 55 slices
    ("Y split", y_split(), 10),  # prompted in the stem; the branches diverge by 1.6 px per slice
    ("cone from its tip", cone(), 5),  # radius 1.4 px at the prompt, growing 0.4 px per slice
])
def test_oracle_follows_moving_splitting_and_growing_objects(name: str, truth: np.ndarray, prompt: int) -> None:
    mask, trace = propagate(OraclePropMask(), oracle_image(truth), (1.0, 1.0, 1.0), "axial", prompt,
                            truth[:, :, prompt], CPU)
    assert recall(mask, truth) >= 0.99, name  # one crop per 20-slice window: 0.30, 0.48, 0.56
    assert not (mask & ~truth).any()
    # Each direction ends on the first slice past the object (slices 4 .. 58), not where it left a crop.
    assert trace.forward.visited[-1] == 59 and trace.backward.visited[-1] == 3
    assert trace.stop_reasons == (StopReason.NO_FOREGROUND, StopReason.NO_FOREGROUND)
    assert trace.forward.recrops + trace.backward.recrops >= 1


def test_an_object_jumping_out_of_the_crop_is_found_again_by_a_restart() -> None:
    # A 3 px tube at u = 20 (slices 4 .. 9), u = 22 (slice 10), then u = 27 (11 .. 20). The prompt's crop is
    # u in [16, 27): slice 11 comes back empty there, but the crop around slice 10, [18, 29), reaches past it, so
    # the direction restarts from slice 10 instead of ending.
    truth = np.zeros((48, 24, 26), dtype=bool)
    for z in range(4, 21):
        u = 20 if z < 10 else 22 if z == 10 else 27
        truth[u:u + 3, 10:13, z] = True
    mask, trace = propagate(OraclePropMask(), oracle_image(truth), (1.0, 1.0, 1.0), "axial", 4, truth[:, :, 4], CPU)
    assert recall(mask, truth) == 1.0 and not (mask & ~truth).any()
    assert trace.forward.restarts >= 1 and trace.forward.guides[:2] == (4, 10)
    assert trace.forward.stop is StopReason.NO_FOREGROUND and trace.forward.visited[-1] == 21


def _stray_wire() -> tuple[np.ndarray, np.ndarray]:
    """A cylinder (slices 4 .. 19) and, inside its crop but 2 px off it, a one-pixel wire through every slice."""
    truth = cylinder((32, 32, 24), first=4, last=19, radius=6.0)
    image = oracle_image(truth)
    image[16, 24, :] = 1.0  # a false positive of the network on every slice
    return image, truth


def test_keep_connected_drops_a_stray_pixel_that_would_keep_the_direction_running() -> None:
    image, truth = _stray_wire()
    plain, plain_trace = propagate(OraclePropMask(), image, (1.0, 1.0, 1.0), "axial", 10, truth[:, :, 10], CPU)
    assert plain_trace.stop_reasons == (StopReason.VOLUME_EDGE, StopReason.VOLUME_EDGE) and plain[16, 24, 20:].all()
    assert not plain_trace.keep_connected
    kept, trace = propagate(OraclePropMask(), image, (1.0, 1.0, 1.0), "axial", 10, truth[:, :, 10], CPU,
                            PropagationSettings(keep_connected=True))
    np.testing.assert_array_equal(kept, truth)
    assert trace.keep_connected and trace.stop_reasons == (StopReason.NO_FOREGROUND, StopReason.NO_FOREGROUND)
    assert trace.forward.visited[-1] == 20 and trace.backward.visited[-1] == 3


def test_keep_connected_to_keeps_every_component_touching_the_reference() -> None:
    mask = np.zeros((12, 12), dtype=bool)
    mask[1:3, 1:3] = mask[1:3, 8:10] = mask[9, 9] = True  # two branches and a stray pixel
    reference = np.zeros_like(mask)
    reference[3, 3] = reference[0, 10] = True  # diagonal neighbour of one branch, overlapping the other
    expected = mask.copy()
    expected[9, 9] = False
    np.testing.assert_array_equal(keep_connected_to(mask, reference), expected)
    assert not keep_connected_to(mask, np.zeros_like(mask)).any()


@pytest.mark.parametrize(("window", "cap", "slices", "mm", "capped"), [
    (20.0, 20, 20, 16.0, True),  # the paper's N <= 20 binds at 0.8 mm
    (30.0, 20, 30, 24.0, True),  # the cap scales with the window: 30 slices, not 20
    (40.0, 20, 40, 32.0, True),
    (30.0, None, 37, 29.6, False),  # no cap: the mm asked for
    (40.0, None, 50, 40.0, False),
    (10.0, 20, 10, 8.0, True),
])
def test_thickness_window_at_fine_spacing(window: float, cap: int | None, slices: int, mm: float,
                                          capped: bool) -> None:
    found = thickness_window(0.8, window, cap)
    assert (found.slices, found.capped, found.requested_mm) == (slices, capped, window)
    assert found.mm == pytest.approx(mm)


@pytest.mark.parametrize(("window", "cap", "slices"), [(30.0, 20, 30), (40.0, None, 50)])
def test_trace_records_the_effective_window(window: float, cap: int | None, slices: int) -> None:
    volume = np.zeros((8, 8, 120), dtype=np.float32)
    guide = np.ones((8, 8), dtype=bool)
    _, trace = propagate(ConstantPropMask(10.0), volume, (1.0, 1.0, 0.8), "axial", 60, guide, CPU,
                         PropagationSettings(window_mm=window, max_slices=cap, max_rounds=1))
    assert trace.slices_per_side == trace.window.slices == slices
    assert trace.window.mm == pytest.approx(0.8 * slices) and trace.window.capped is (cap is not None)
    assert trace.forward.visited == tuple(range(61, 61 + slices))


def test_echo_network_recovers_a_static_cylinder_through_the_guide_mask() -> None:
    # The echo predicts the guide-mask crop it is sent: only a correct guide tensor, crop, paste-back and next guide
    # give back the cylinder on every slice, to the volume edges.
    truth = cylinder((32, 32, 24), first=0, last=23, radius=6.0)
    net = EchoPropMask()
    mask, trace = propagate(net, oracle_image(truth), (1.0, 1.0, 2.0), "axial", 9, truth[:, :, 9], CPU,
                            PropagationSettings(batch_size=4))
    np.testing.assert_array_equal(mask, truth)
    assert trace.stop_reasons == (StopReason.VOLUME_EDGE, StopReason.VOLUME_EDGE)
    assert trace.forward.guides == (9, 19) and trace.backward.guides == (9,)  # 10 slices per side at 2 mm
    assert net.images == 23
