"""PropSAMPredictor: bad input (one test each), box and mask prompts end to end with stubs, precision, bundles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from propsam.checkpoint import NetworkKind, file_sha256, save_bundle, save_checkpoint
from propsam.inference.predictor import PropSAMPredictor
from propsam.inference.propagation import StopReason
from tests.propsam.inference.fakes import (
    ConstantBox2Mask,
    ThresholdBox2Mask,
    ThresholdPropMask,
    blob_volume,
    dice,
    one_torch_thread,  # noqa: F401  (module fixture)
    random_networks,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPACING = (1.0, 1.0, 2.0)


@pytest.fixture
def oracle() -> PropSAMPredictor:
    return PropSAMPredictor(ThresholdBox2Mask(), ThresholdPropMask(), search="coarse")


@pytest.fixture
def volume() -> tuple[np.ndarray, np.ndarray]:
    return blob_volume((40, 36, 30))  # blob centred at (20, 18, 15), radii (12, 10, 8)


# --- bad input: each gives a ValueError (or TypeError) naming the argument --------------------------------------

def test_box_outside_the_image(oracle: PropSAMPredictor, volume: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError, match=r"box: box \(30, 5, 45, 20\) reaches outside the slice of shape"):
        oracle.segment_from_box(volume[0], SPACING, "axial", 15, (30, 5, 45, 20))
    with pytest.raises(ValueError, match="box: .* reaches outside"):
        oracle.segment_from_box(volume[0], SPACING, "axial", 15, (-1, 5, 10, 20))


def test_box_of_zero_area(oracle: PropSAMPredictor, volume: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError, match=r"box: box \(10, 5, 10, 20\) has zero area"):
        oracle.segment_from_box(volume[0], SPACING, "axial", 15, (10, 5, 10, 20))


def test_box_that_is_not_four_integers(oracle: PropSAMPredictor, volume: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="box: expected four integers"):
        oracle.segment_from_box(volume[0], SPACING, "axial", 15, (1.5, 2, 10, 20))  # type: ignore[arg-type]


def test_empty_mask_prompt(oracle: PropSAMPredictor, volume: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="mask2d: mask is empty"):
        oracle.segment_from_mask(volume[0], SPACING, "axial", 15, np.zeros((40, 36), dtype=bool))


def test_mask_prompt_of_the_wrong_shape(oracle: PropSAMPredictor, volume: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError, match=r"mask2d: mask of shape \(36, 40\) does not match a axial slice; "
                                         r"expected \(U, V\) = \(40, 36\)"):
        oracle.segment_from_mask(volume[0], SPACING, "axial", 15, np.ones((36, 40), dtype=bool))


@pytest.mark.parametrize("shape", [(40, 36), (1, 40, 36, 30)])
def test_2d_and_4d_images(oracle: PropSAMPredictor, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=rf"volume: expected a 3D \(X, Y, Z\) image, got {len(shape)}D"):
        oracle.segment_from_box(np.random.default_rng(0).normal(size=shape), SPACING, "axial", 0, (0, 0, 5, 5))


def test_nan_intensities(oracle: PropSAMPredictor, volume: tuple[np.ndarray, np.ndarray]) -> None:
    image = volume[0].copy()
    image[3, 4, 5] = np.nan
    with pytest.raises(ValueError, match="volume: 1 of 43200 voxels are NaN or infinite"):
        oracle.segment_from_mask(image, SPACING, "axial", 15, volume[1][:, :, 15])


def test_constant_intensities(oracle: PropSAMPredictor, volume: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError, match=r"volume: constant intensities \(every voxel is 3.0\)"):
        oracle.segment_from_box(np.full((40, 36, 30), 3.0), SPACING, "axial", 15, (5, 5, 20, 20))


@pytest.mark.parametrize(("plane", "index"), [("axial", 30), ("coronal", -1), ("sagittal", 40)])
def test_slice_index_out_of_range(oracle: PropSAMPredictor, volume: tuple[np.ndarray, np.ndarray], plane: str,
                                  index: int) -> None:
    with pytest.raises(ValueError, match=f"slice_index: {plane} slice {index} is outside the volume"):
        oracle.segment_from_box(volume[0], SPACING, plane, index, (0, 0, 5, 5))


def test_non_integer_slice_index(oracle: PropSAMPredictor, volume: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(TypeError, match="slice_index: expected an integer slice index, got 2.0"):
        oracle.segment_from_box(volume[0], SPACING, "axial", 2.0, (0, 0, 5, 5))  # type: ignore[arg-type]


def test_unknown_plane(oracle: PropSAMPredictor, volume: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="plane: unknown plane 'oblique'"):
        oracle.segment_from_mask(volume[0], SPACING, "oblique", 15, volume[1][:, :, 15])


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (1.0, 0.0, 1.0), (1.0, float("nan"), 2.0)])
def test_bad_spacing(oracle: PropSAMPredictor, volume: tuple[np.ndarray, np.ndarray],
                     spacing: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="spacing: expected three"):
        oracle.segment_from_mask(volume[0], spacing, "axial", 15, volume[1][:, :, 15])  # type: ignore[arg-type]


def test_bad_settings_are_named() -> None:
    box2mask, propmask = random_networks()
    with pytest.raises(ValueError, match="precision: unknown precision 'fp8'"):
        PropSAMPredictor(box2mask, propmask, precision="fp8")
    with pytest.raises(ValueError, match="search: unknown search strategy 'random'"):
        PropSAMPredictor(box2mask, propmask, search="random")
    with pytest.raises(ValueError, match="window_mm must be > 0 mm, got -1.0"):
        PropSAMPredictor(box2mask, propmask, window_mm=-1.0)
    with pytest.raises(ValueError, match="device: cannot parse 'gpu!'"):
        PropSAMPredictor(box2mask, propmask, device="gpu!")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_cuda_without_cuda() -> None:
    with pytest.raises(ValueError, match="device: 'cuda' requested but this torch build sees no CUDA device"):
        PropSAMPredictor(*random_networks(), device="cuda")


def test_box_prompt_without_box2mask(volume: tuple[np.ndarray, np.ndarray]) -> None:
    predictor = PropSAMPredictor(None, ThresholdPropMask())
    with pytest.raises(ValueError, match="segment_from_box: this predictor has no Box2Mask network"):
        predictor.segment_from_box(volume[0], SPACING, "axial", 15, (5, 5, 20, 20))


# --- behaviour -----------------------------------------------------------------------------------------------------

def test_segment_from_box_with_oracle_networks(oracle: PropSAMPredictor,
                                               volume: tuple[np.ndarray, np.ndarray]) -> None:
    image, truth = volume
    result = oracle.segment_from_box(image.astype(np.int16), SPACING, "axial", 15, (6, 6, 34, 30))
    assert result.mask.shape == image.shape and result.mask.dtype == bool
    assert dice(result.mask, truth) > 0.9
    assert result.box_stage is not None and result.box_stage.search.n_candidates == 24
    np.testing.assert_array_equal(result.mask[:, :, 15], result.box_stage.mask)
    seconds = result.trace.seconds
    assert seconds.box2mask >= seconds.search > 0 and seconds.network > 0
    assert result.seconds >= seconds.total


def test_segment_from_mask_keeps_the_prompt_slice(oracle: PropSAMPredictor,
                                                  volume: tuple[np.ndarray, np.ndarray]) -> None:
    image, truth = volume
    prompt = truth[20, :, :].astype(np.uint8)  # sagittal slice 20, (U, V) = (y, z) = (36, 30)
    result = oracle.segment_from_mask(image, SPACING, "sagittal", 20, prompt)
    np.testing.assert_array_equal(result.mask[20], prompt.astype(bool))
    assert result.box_stage is None and dice(result.mask, truth) > 0.9
    assert result.trace.plane.value == "sagittal" and result.trace.slices_per_side == 20


def test_box2mask_predicting_nothing_gives_an_empty_result(volume: tuple[np.ndarray, np.ndarray]) -> None:
    predictor = PropSAMPredictor(ConstantBox2Mask(-10.0), ThresholdPropMask(), search="coarse")
    result = predictor.segment_from_box(volume[0], SPACING, "axial", 15, (6, 6, 34, 30))
    assert not result.mask.any()
    assert result.trace.stop_reasons == (StopReason.EMPTY_GUIDE, StopReason.EMPTY_GUIDE)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_precisions_with_random_networks(precision: str) -> None:
    image, _ = blob_volume((24, 20, 12), radii=(6.0, 5.0, 4.0))
    box2mask, propmask = random_networks(seed=2)
    predictor = PropSAMPredictor(box2mask, propmask, precision=precision, search="coarse", search_batch_size=24,
                                 max_rounds=1, threshold=0.3)
    result = predictor.segment_from_box(image, SPACING, "coronal", 10, (4, 2, 20, 10))
    assert result.mask.shape == image.shape and result.mask.dtype == bool
    assert result.trace.rounds <= 1


def test_from_bundle_records_the_checksum(tmp_path: pytest.TempPathFactory) -> None:
    box2mask, propmask = random_networks(seed=4)
    save_checkpoint(tmp_path / "b.pt", box2mask, box2mask.config, kind=NetworkKind.BOX2MASK)  # type: ignore[operator]
    save_checkpoint(tmp_path / "p.pt", propmask, propmask.config, kind=NetworkKind.PROPMASK)  # type: ignore[operator]
    sha = save_bundle(tmp_path / "bundle.pt", tmp_path / "b.pt", tmp_path / "p.pt")  # type: ignore[operator]
    predictor = PropSAMPredictor.from_bundle(tmp_path / "bundle.pt", search="coarse")  # type: ignore[operator]
    assert predictor.checkpoint_sha256 == sha == file_sha256(tmp_path / "bundle.pt")  # type: ignore[operator]
    for name, tensor in predictor.propmask.state_dict().items():
        torch.testing.assert_close(tensor, propmask.state_dict()[name])
    assert predictor.to("cpu") is predictor and predictor.device == "cpu"
