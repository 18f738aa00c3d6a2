"""PropSAMPredictor: bad input (one test each), box and mask prompts end to end with stubs, precision, bundles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from propsam.checkpoint import NetworkKind, file_sha256, save_bundle, save_checkpoint
from propsam.inference.predictor import PropSAMPredictor
from propsam.inference.propagation import StopReason
from propsam.inference.runtime import Runtime, autocast
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


# Probability tolerances against fp32. Unit roundoff is 2**-9 ~ 2e-3 for bf16 (8-bit significand) and 2**-12 ~ 2.4e-4
# for fp16; instance normalisation rescales every layer, so errors do not compound with depth and the sigmoid's slope
# (at most 1/4) shrinks logit errors. Allowing 10 x the unit roundoff leaves room over the measured worst
# differences (tiny networks, seed 2: 5.4e-3 for bf16, 8.3e-4 for fp16) without accepting a wrong computation.
PRECISION_TOLERANCE = {"bf16": 2e-2, "fp16": 2.5e-3}
REDUCED_DTYPE = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _runtime_or_skip(precision: str) -> Runtime:
    runtime = Runtime.create("cpu", precision)
    try:
        with torch.inference_mode(), autocast(runtime.device, runtime.precision):
            torch.nn.functional.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3))
    except RuntimeError as err:  # an old CPU build without fp16 autocast kernels
        pytest.skip(f"{precision} autocast does not run on this CPU build: {err}")
    return runtime


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_probabilities_match_fp32(precision: str) -> None:
    box2mask, propmask = random_networks(seed=2)
    runtime, full = _runtime_or_skip(precision), Runtime.create("cpu", "fp32")
    torch.manual_seed(0)
    targets, guide = torch.randn(4, 3, 32, 32), torch.randn(1, 3, 32, 32)
    guide_mask = (torch.rand(1, 1, 32, 32) > 0.5).float()
    encoding = runtime.encode_guide(propmask, guide, guide_mask)
    assert encoding.image_features[0].dtype == REDUCED_DTYPE[precision]  # autocast really ran in reduced precision
    pairs = [(runtime.box2mask(box2mask, targets), full.box2mask(box2mask, targets)),
             (runtime.propmask(propmask, targets, encoding),
              full.propmask(propmask, targets, full.encode_guide(propmask, guide, guide_mask)))]
    for reduced, reference in pairs:
        assert reduced.dtype == reference.dtype == np.float32 and reduced.shape == reference.shape == (4, 32, 32)
        difference = np.abs(reduced - reference).max()
        assert 0.0 < difference < PRECISION_TOLERANCE[precision], difference


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_predictions_match_fp32(precision: str) -> None:
    _runtime_or_skip(precision)
    image, _ = blob_volume((24, 20, 12), radii=(6.0, 5.0, 4.0))
    box2mask, propmask = random_networks(seed=2)
    results = {}
    for name in ("fp32", precision):
        predictor = PropSAMPredictor(box2mask, propmask, precision=name, search="coarse", search_batch_size=24,
                                     max_rounds=1, threshold=0.3)
        assert predictor.runtime.precision.value == name
        results[name] = predictor.segment_from_box(image, SPACING, "coronal", 10, (4, 2, 20, 10))
    reduced, reference = results[precision], results["fp32"]
    assert reference.trace.rounds == reduced.trace.rounds == 1 and reference.mask.sum() > 1000
    # The window comes from percentiles of raw intensities at the foreground the candidates agree on; probabilities
    # within the tolerance above flip at most a few pixels near the 0.3 threshold (1 of 5,546 voxels for bf16).
    assert reduced.box_stage is not None and reference.box_stage is not None
    np.testing.assert_allclose(reduced.box_stage.search.window, reference.box_stage.search.window, rtol=1e-3)
    assert dice(reduced.mask, reference.mask) > 0.995


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
