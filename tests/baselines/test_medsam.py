from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from baselines.checkpoints import CheckpointError, CheckpointNotFoundError
from baselines.runtime import Precision, SettingsError
from benchmark.data.geometry import Plane
from benchmark.models.conformance import check_conformance
from benchmark.protocol.prompts import Box2D, Box3D
from tests.baselines.conftest import ct_case

torch = pytest.importorskip("torch")
pytest.importorskip("transformers", reason="MedSAM needs transformers: pip install 'propsam-bench[medsam]'")

from baselines.medsam import MedSAM, MedSAMProtocol, MedSAMSettings, medsam_3dbox, medsam_propagate  # noqa: E402
from baselines.medsam_preprocessing import box_to_1024, propagation_box_1024, view_box  # noqa: E402
from baselines.medsam_weights import LoadedSam, sam_state_dict_from_hf  # noqa: E402

BOX = Box3D((10, 8, 1, 26, 21, 5), 3)  # the bright block of ct_case, slices 1-4 of 0-5


class Recording(MedSAM):
    """The real adapter, remembering the boxes it gives the decoder (slice order of the decoder calls)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.boxes: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []

    def _decode(self, embeddings: Any, boxes_1024: np.ndarray, height: int, width: int, clock: Any) -> np.ndarray:
        masks = super()._decode(embeddings, boxes_1024, height, width, clock)
        self.boxes += [b.copy() for b in boxes_1024]
        self.masks += list(masks)
        return masks


@pytest.mark.parametrize("protocol", list(MedSAMProtocol))
def test_medsam_conforms_at_random_weights(tiny_sam: LoadedSam, protocol: MedSAMProtocol) -> None:
    report = check_conformance(MedSAM(tiny_sam, protocol))
    assert report.ok, report.summary()


def test_box_every_slice_prompts_each_slice_of_the_z_range_with_the_transverse_box(tiny_sam: LoadedSam) -> None:
    case = ct_case()
    model = Recording(tiny_sam, MedSAMProtocol.BOX_EVERY_SLICE, MedSAMSettings(batch_size=3))
    out = model.segment(case, BOX)
    expected = box_to_1024(view_box((10, 8, 26, 21), (40, 36)), 36, 40)
    assert len(model.boxes) == 4 and all(np.array_equal(b, expected) for b in model.boxes)
    assert out.shape == (40, 36, 6) and out.dtype == np.bool_
    assert not out[:, :, 0].any() and not out[:, :, 5].any()
    trace = model.last_trace
    assert trace["slices"] == 4 and trace["encoder_batches"] == 2 and trace["weights"] == "random"
    assert trace["protocol"] == "3dbox" and trace["ct_window"] == "40/400"


def test_propagation_follows_the_previous_masks_up_then_down(tiny_sam: LoadedSam) -> None:
    case = ct_case()
    model = Recording(tiny_sam, MedSAMProtocol.PROPAGATE, MedSAMSettings(batch_size=2))
    out = model.segment(case, BOX)
    order = [3, 4, 2, 1]  # the box's slice, up to the top of the z-range, then down from below it
    assert len(model.boxes) == 4
    assert np.array_equal(model.boxes[0], box_to_1024(view_box((10, 8, 26, 21), (40, 36)), 36, 40))
    by_slice = dict(zip(order, zip(model.boxes, model.masks, strict=True), strict=True))
    for z, neighbour in ((4, 3), (2, 3), (1, 2)):
        expected = propagation_box_1024(by_slice[neighbour][1])
        if expected is None:  # an empty neighbour mask: its box is used again
            expected = by_slice[neighbour][0]
        assert np.array_equal(by_slice[z][0], expected), z
    for z in order:
        assert np.array_equal(out[:, :, z], by_slice[z][1][::-1, ::-1].T)
    assert not out[:, :, 0].any() and not out[:, :, 5].any()
    assert model.last_trace["protocol"] == "propagate" and model.last_trace["encoder_batches"] == 2


@pytest.mark.parametrize("protocol", list(MedSAMProtocol))
def test_batched_equals_unbatched(tiny_sam: LoadedSam, protocol: MedSAMProtocol) -> None:
    case = ct_case(seed=1)
    one = MedSAM(tiny_sam, protocol, MedSAMSettings(batch_size=1)).segment(case, BOX)
    many = MedSAM(tiny_sam, protocol, MedSAMSettings(batch_size=4)).segment(case, BOX)
    assert one[:, :, 1:5].any() and not one[:, :, 1:5].all()  # the random network predicts something
    assert np.array_equal(one, many)


def test_bf16_autocast_runs_and_stays_close_to_fp32(tiny_sam: LoadedSam) -> None:
    case = ct_case(seed=2)
    fp32 = MedSAM(tiny_sam, MedSAMProtocol.BOX_EVERY_SLICE).segment(case, BOX)
    model = MedSAM(tiny_sam, MedSAMProtocol.BOX_EVERY_SLICE, MedSAMSettings(precision=Precision.BF16))
    bf16 = model.segment(case, BOX)
    assert model.last_trace["precision"] == "bf16" and bf16.shape == fp32.shape
    assert (bf16 == fp32).mean() > 0.9


def test_ct_window_per_dataset_and_mr_rule(tiny_sam: LoadedSam) -> None:
    settings = MedSAMSettings.from_kwargs("MedSAM-3DBox", {"ct_window": [50, 350], "ct_windows": {"D3": [60, 360]}})
    model = MedSAM(tiny_sam, MedSAMProtocol.BOX_EVERY_SLICE, settings)
    one_slice = Box3D((10, 8, 2, 26, 21, 3), 2)
    model.segment(ct_case(dataset_id="D3"), one_slice)
    assert model.last_trace["ct_window"] == "60/360"
    model.segment(ct_case(dataset_id="D4"), one_slice)
    assert model.last_trace["ct_window"] == "50/350"
    model.segment(ct_case(modality="MR"), one_slice)
    assert model.last_trace["ct_window"] == "MR rule"


@pytest.mark.parametrize("protocol", list(MedSAMProtocol))
def test_one_slice_object_and_a_box_touching_the_border(tiny_sam: LoadedSam, protocol: MedSAMProtocol) -> None:
    case = ct_case()
    model = MedSAM(tiny_sam, protocol)
    for box in (Box3D((0, 0, 2, 40, 36, 3), 2), Box3D((0, 30, 0, 7, 36, 6), 5)):
        out = model.segment(case, box)
        z0, z1 = box.box[2], box.box[5]
        assert out.shape == (40, 36, 6) and model.last_trace["slices"] == z1 - z0
        assert not out[:, :, :z0].any() and not out[:, :, z1:].any()


def test_prompt_kinds_and_bad_inputs_are_refused(tiny_sam: LoadedSam) -> None:
    model = MedSAM(tiny_sam, MedSAMProtocol.PROPAGATE)
    with pytest.raises(ValueError, match=r"MedSAM-Propagate takes prompts of kind \['box3d'\], got 'box2d'"):
        model.segment(ct_case(), Box2D(Plane.AXIAL, 2, (0, 0, 3, 3)))
    with pytest.raises(ValueError, match="outside the image of shape"):
        model.segment(ct_case(), Box3D((10, 8, 1, 41, 21, 5), 3))
    bad_channel = MedSAM(tiny_sam, MedSAMProtocol.PROPAGATE, MedSAMSettings(channel=1))
    with pytest.raises(ValueError, match=r"setting channel = 1, but the case has 1 channel\(s\)"):
        bad_channel.segment(ct_case(), BOX)


def test_factory_errors_say_what_to_configure(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"MedSAM-3DBox needs MedSAM's weights: set `checkpoint` to "
                                            r"medsam_vit_b.pth .*or random_weights = true"):
        medsam_3dbox()
    with pytest.raises(CheckpointNotFoundError, match=r"missing.pth does not exist; expected MedSAM's released"):
        medsam_propagate(str(tmp_path / "missing.pth"))
    with pytest.raises(SettingsError, match=r"both a checkpoint .* and random_weights = true"):
        medsam_3dbox(str(tmp_path / "x.pth"), random_weights=True)
    with pytest.raises(SettingsError, match=r"unknown setting\(s\) \['window'\]"):
        medsam_3dbox(random_weights=True, window=[40, 400])
    with pytest.raises(SettingsError, match=r"setting precision = 'fp16'; expected one of \['fp32', 'bf16'\]"):
        medsam_3dbox(random_weights=True, precision="fp16")
    with pytest.raises(SettingsError, match=r"setting ct_windows = \[60, 360\]; expected a table"):
        medsam_3dbox(random_weights=True, ct_windows=[60, 360])
    torch.save(torch.nn.Linear(3, 3).state_dict(), tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match=r"other.pth is not a SAM ViT-B state dict|other.pth does not fit"):
        medsam_3dbox(str(tmp_path / "other.pth"))


@pytest.mark.slow
def test_real_vit_b_loads_a_medsam_checkpoint_and_segments_on_the_case_grid(vit_b: LoadedSam, tmp_path: Path) -> None:
    # The real architecture at random weights, saved in MedSAM's file layout and loaded through the registry's
    # factory: timing and geometry do not depend on the weight values. One slice under bf16 autocast keeps it to one
    # ViT-B encoding (about 7 s on two cores).
    path = tmp_path / "medsam_vit_b.pth"
    torch.save(sam_state_dict_from_hf(vit_b.network.state_dict()), path)
    model = medsam_3dbox(str(path), precision="bf16")
    assert model.weights == "checkpoint" and model.checkpoint_sha256 and len(model.checkpoint_sha256) == 64
    loaded, source = model.network.state_dict(), vit_b.network.state_dict()
    assert all(torch.equal(loaded[k], source[k]) for k in source)
    out = model.segment(ct_case(shape=(24, 20, 3)), Box3D((4, 3, 1, 18, 15, 2), 1))
    assert out.shape == (24, 20, 3) and out.dtype == np.bool_ and not out[:, :, [0, 2]].any()
    assert model.last_trace["slices"] == 1 and model.last_trace["precision"] == "bf16"
