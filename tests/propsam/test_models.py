"""PropSAM-2DBox and PropSAM-2DMask: structural compatibility with the suite's model protocol and prompts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from benchmark.data.geometry import Plane
from benchmark.models.protocol import InteractiveModel
from benchmark.protocol.prompts import Box2D, Box3D, Mask2D
from propsam.checkpoint import NetworkKind, save_bundle, save_checkpoint
from propsam.inference.predictor import PropSAMPredictor
from propsam.models import PropSAM2DBox, PropSAM2DMask
from tests.propsam.inference.fakes import (
    ThresholdBox2Mask,
    ThresholdPropMask,
    blob_volume,
    dice,
    one_torch_thread,  # noqa: F401  (module fixture)
    random_networks,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@dataclass(frozen=True)
class FakeCase:
    """What a model may read of a case: (C, X, Y, Z) channels and spacing."""

    image: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 2.0)
    modality: str = "CT"


@pytest.fixture
def case() -> tuple[FakeCase, np.ndarray]:
    image, truth = blob_volume((40, 36, 30))
    # Channel 0 is constant: segmenting it would fail, so success proves channel 1 was used when asked for.
    return FakeCase(np.stack([np.zeros_like(image), image])), truth


def _oracle(channel: int = 1) -> PropSAMPredictor:
    return PropSAMPredictor(ThresholdBox2Mask(), ThresholdPropMask(), search="coarse", channel=channel)


def test_both_models_satisfy_the_protocol() -> None:
    box, mask = PropSAM2DBox(_oracle()), PropSAM2DMask(_oracle())
    for model in (box, mask):
        assert isinstance(model, InteractiveModel)
        assert model.to("cpu") is model
    assert (box.name, set(box.prompt_kinds)) == ("PropSAM-2DBox", {"box2d"})
    assert (mask.name, set(mask.prompt_kinds)) == ("PropSAM-2DMask", {"mask2d"})
    assert box.checkpoint_sha256 is None  # networks passed in directly


def test_box_model_segments_a_suite_box_prompt(case: tuple[FakeCase, np.ndarray]) -> None:
    fake, truth = case
    model = PropSAM2DBox(_oracle())
    out = model.segment(fake, Box2D(plane=Plane.AXIAL, slice_index=15, box=(6, 6, 34, 30)))
    assert out.shape == truth.shape and out.dtype == bool and dice(out, truth) > 0.9
    assert model.last_result is not None and model.last_result.box_stage is not None


def test_mask_model_segments_a_suite_mask_prompt_on_any_plane(case: tuple[FakeCase, np.ndarray]) -> None:
    fake, truth = case
    model = PropSAM2DMask(_oracle())
    out = model.segment(fake, Mask2D(plane=Plane.CORONAL, slice_index=18, mask=truth[:, 18, :]))
    assert dice(out, truth) > 0.9
    np.testing.assert_array_equal(out[:, 18, :], truth[:, 18, :])


def test_last_trace_is_flat_and_records_the_window_as_used(case: tuple[FakeCase, np.ndarray]) -> None:
    fake, truth = case
    predictor = PropSAMPredictor(ThresholdBox2Mask(), ThresholdPropMask(), search="coarse", channel=1, window_mm=40.0)
    model = PropSAM2DMask(predictor)
    assert model.last_trace == {}
    out = model.segment(FakeCase(fake.image, spacing=(1.0, 1.0, 0.8)), Mask2D(plane=Plane.AXIAL, slice_index=15,
                                                                                mask=truth[:, :, 15]))
    trace = model.last_trace
    assert all(isinstance(v, (int, float, str, bool)) for v in trace.values())
    # 40 mm at 0.8 mm is 50 slices, over the 40-slice cap of a 40 mm window: the row must say it was capped
    assert (trace["window_requested_mm"], trace["window_slices"], trace["window_capped"]) == (40.0, 40, True)
    assert trace["window_mm"] == pytest.approx(32.0)
    assert trace["guide_index"] == 15
    assert trace["forward_slices"] + trace["backward_slices"] + 1 == int(out.any(axis=(0, 1)).sum()) > 10
    assert trace["seconds_network"] > 0 and trace["seconds_box2mask"] == 0


def test_prompt_of_another_kind_is_refused(case: tuple[FakeCase, np.ndarray]) -> None:
    fake, truth = case
    with pytest.raises(ValueError, match=r"PropSAM-2DBox takes prompts of kind \['box2d'\], got 'mask2d'"):
        PropSAM2DBox(_oracle()).segment(fake, Mask2D(Plane.AXIAL, 15, truth[:, :, 15]))
    with pytest.raises(ValueError, match=r"PropSAM-2DMask takes prompts of kind \['mask2d'\], got 'box3d'"):
        PropSAM2DMask(_oracle()).segment(fake, Box3D((0, 0, 0, 5, 5, 5), 2))


def test_channel_selection_and_image_ranks(case: tuple[FakeCase, np.ndarray]) -> None:
    fake, truth = case
    prompt = Box2D(plane=Plane.AXIAL, slice_index=15, box=(6, 6, 34, 30))
    with pytest.raises(ValueError, match="volume: constant intensities"):
        PropSAM2DBox(_oracle(channel=0)).segment(fake, prompt)  # the first channel by default
    with pytest.raises(ValueError, match=r"PropSAM-2DBox: channel 2 is out of range for case.image with 2 channels"):
        PropSAM2DBox(_oracle(channel=2)).segment(fake, prompt)
    single = FakeCase(fake.image[1])  # an (X, Y, Z) image is one channel
    assert PropSAM2DBox(_oracle(channel=0)).segment(single, prompt).any()
    with pytest.raises(ValueError, match=r"case.image must be \(C, X, Y, Z\) or \(X, Y, Z\), got shape \(40, 36\)"):
        PropSAM2DBox(_oracle()).segment(FakeCase(fake.image[1, :, :, 0]), prompt)


def test_built_from_a_bundle_path(tmp_path: Path, case: tuple[FakeCase, np.ndarray]) -> None:
    box2mask, propmask = random_networks(seed=5)
    save_checkpoint(tmp_path / "b.pt", box2mask, box2mask.config, kind=NetworkKind.BOX2MASK)
    save_checkpoint(tmp_path / "p.pt", propmask, propmask.config, kind=NetworkKind.PROPMASK)
    sha = save_bundle(tmp_path / "bundle.pt", tmp_path / "b.pt", tmp_path / "p.pt")
    model = PropSAM2DMask(tmp_path / "bundle.pt", channel=1, max_rounds=1)
    assert model.checkpoint_sha256 == sha
    fake, truth = case
    out = model.segment(fake, Mask2D(Plane.AXIAL, 15, truth[:, :, 15]))
    assert out.shape == truth.shape and out.dtype == bool


def test_bad_sources_are_refused() -> None:
    with pytest.raises(TypeError, match=r"PropSAM-2DBox\(source\): expected a PropSAMPredictor or a bundle path"):
        PropSAM2DBox(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="settings \\['device'\\] are only accepted with a bundle path"):
        PropSAM2DMask(_oracle(), device="cpu")
