"""``propsam segment`` and :mod:`propsam.io`: canonical grid, prompts from files, masks written on the input's grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from propsam.checkpoint import NetworkKind, save_bundle, save_checkpoint
from propsam.cli import main
from propsam.config import Box2MaskConfig, PropMaskConfig
from propsam.io import read_image, read_mask_prompt, segment_file, to_source_grid, write_mask
from propsam.networks import Box2Mask, PropMask
from propsam.networks.blocks import Encoder
from tests.propsam.inference.fakes import (
    blob_volume,
    dice,
    one_torch_thread,  # noqa: F401  (module fixture)
    random_networks,
)
from tests.synthetic import TOTALSEG_EXAMPLE, write_nifti

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# File voxel axes: i runs towards Posterior (-y), j towards Left (-x), k towards Superior; spacing (2, 1.5, 3) mm.
NON_RAS_AFFINE = np.array([[0.0, -1.5, 0.0, 40.0],
                           [-2.0, 0.0, 0.0, 60.0],
                           [0.0, 0.0, 3.0, -20.0],
                           [0.0, 0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    box2mask, propmask = random_networks(seed=7)
    save_checkpoint(folder / "b.pt", box2mask, box2mask.config, kind=NetworkKind.BOX2MASK)
    save_checkpoint(folder / "p.pt", propmask, propmask.config, kind=NetworkKind.PROPMASK)
    save_bundle(folder / "bundle.pt", folder / "b.pt", folder / "p.pt")
    return folder / "bundle.pt"


@pytest.fixture
def image_file(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A (24, 20, 12) file (i, j, k) with a non-RAS affine; canonical grid (X, Y, Z) = (20, 24, 12)."""
    data, _ = blob_volume((24, 20, 12), radii=(7.0, 6.0, 4.0), seed=3)
    return write_nifti(tmp_path / "image.nii.gz", data.astype(np.int16), NON_RAS_AFFINE), data.astype(np.int16)


def _nii(path: Path) -> Any:
    """A NIfTI image (nibabel's load is typed as the generic image class)."""
    return nib.load(str(path))


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_canonical_grid_and_exact_inverse_mapping(image_file: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, data = image_file
    image = read_image(path)
    assert image.source_axcodes == ("P", "L", "S") and image.array.shape == (20, 24, 12)
    assert image.spacing == (1.5, 2.0, 3.0)
    assert nib.aff2axcodes(image.affine) == ("R", "A", "S")
    np.testing.assert_array_equal(to_source_grid(image.array, image), data)
    written = _nii(write_mask(tmp_path / "mask.nii.gz", image.array > 50, image))
    np.testing.assert_array_equal(np.asarray(written.dataobj), (data > 50).astype(np.uint8))
    np.testing.assert_allclose(written.affine, NON_RAS_AFFINE)
    assert written.get_data_dtype() == np.uint8


def test_segment_with_a_box_end_to_end(image_file: tuple[Path, np.ndarray], bundle: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path, data = image_file
    out = tmp_path / "out" / "mask.nii.gz"
    code, stdout, stderr = _run(capsys, "segment", path, "--box", "3,5,17,19", "--slice", 6, "--checkpoint", bundle,
                                "--out", out, "--search", "coarse", "--threshold", "0.4", "--max-rounds", 2)
    assert code == 0, stderr
    assert "canonical RAS grid (X, Y, Z) = (20, 24, 12)" in stdout and "file orientation PLS" in stdout
    assert f"wrote {out}" in stdout
    written = _nii(out)
    assert written.shape == data.shape
    np.testing.assert_allclose(written.affine, NON_RAS_AFFINE)


def test_segment_with_png_and_nifti_mask_prompts(image_file: tuple[Path, np.ndarray], bundle: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = image_file
    canonical = read_image(path).array
    prompt = canonical[:, :, 6] > 50  # axial slice 6 of the canonical grid, (U, V) = (20, 24)
    Image.fromarray(prompt.astype(np.uint8) * 255).save(tmp_path / "prompt.png")
    nib.save(nib.Nifti1Image(prompt.astype(np.uint8), np.eye(4)), str(tmp_path / "prompt.nii.gz"))
    for mask_file in ("prompt.png", "prompt.nii.gz"):
        out = tmp_path / f"{mask_file}.out.nii.gz"
        code, _, stderr = _run(capsys, "segment", path, "--mask", tmp_path / mask_file, "--slice", 6,
                               "--checkpoint", bundle, "--out", out, "--max-rounds", 1)
        assert code == 0, stderr
        back = nib.as_closest_canonical(_nii(out)).get_fdata().astype(bool)
        np.testing.assert_array_equal(back[:, :, 6], prompt)


def test_segment_with_a_3d_mask_on_the_input_grid_needs_no_slice(
        image_file: tuple[Path, np.ndarray], bundle: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path, data = image_file
    mask = np.zeros(data.shape, dtype=np.uint8)
    mask[:, :, 5] = data[:, :, 5] > 50  # file axis k is canonical z: axial slice 5
    write_nifti(tmp_path / "mask3d.nii.gz", mask, NON_RAS_AFFINE)
    code, stdout, stderr = _run(capsys, "segment", path, "--mask", tmp_path / "mask3d.nii.gz", "--checkpoint",
                                bundle, "--out", tmp_path / "o.nii.gz", "--max-rounds", 1)
    assert code == 0, stderr
    assert "axial slice 5:" in stdout


def test_python_call_matches_the_cli(image_file: tuple[Path, np.ndarray], bundle: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = image_file
    args = dict(box=(3, 5, 17, 19), slice_index=6, search="coarse", max_rounds=1)
    result = segment_file(path, tmp_path / "py.nii.gz", checkpoint=bundle, **args)  # type: ignore[arg-type]
    threads = torch.get_num_threads()
    try:
        code, _, _ = _run(capsys, "segment", path, "--box", "3,5,17,19", "--slice", 6, "--checkpoint", bundle,
                          "--out", tmp_path / "cli.nii.gz", "--search", "coarse", "--max-rounds", 1, "--threads", 1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    from_py = np.asarray(_nii(tmp_path / "py.nii.gz").dataobj)
    np.testing.assert_array_equal(from_py, np.asarray(_nii(tmp_path / "cli.nii.gz").dataobj))
    np.testing.assert_array_equal(to_source_grid(result.mask.astype(np.uint8), read_image(path)), from_py)


def test_four_d_image_uses_the_selected_channel(tmp_path: Path, bundle: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    data, _ = blob_volume((20, 20, 10), radii=(6.0, 6.0, 3.0))
    write_nifti(tmp_path / "two.nii.gz", np.stack([np.zeros_like(data), data], axis=-1))
    common = ("--slice", 5, "--checkpoint", bundle, "--max-rounds", 1, "--search", "coarse")
    code, _, err = _run(capsys, "segment", tmp_path / "two.nii.gz", "--box", "4,4,16,16", "--out",
                        tmp_path / "a.nii.gz", *common)
    assert code == 2 and "constant intensities" in err  # channel 0 is empty
    code, _, err = _run(capsys, "segment", tmp_path / "two.nii.gz", "--box", "4,4,16,16", "--out",
                        tmp_path / "b.nii.gz", "--channel", 1, *common)
    assert code == 0, err
    assert _nii(tmp_path / "b.nii.gz").shape == (20, 20, 10)


@pytest.mark.parametrize(("extra", "message"), [
    (("--box", "3,5,17,19"), "--slice is required with --box"),
    (("--box", "3,5,17,40", "--slice", "6"), "box: box (3, 5, 17, 40) reaches outside the slice"),
    (("--box", "3,5,3,19", "--slice", "6"), "box: box (3, 5, 3, 19) has zero area"),
    (("--box", "3,5,17,19", "--slice", "12"), "slice_index: axial slice 12 is outside the volume"),
    (("--box", "3,5,17,19", "--slice", "2", "--channel", "1"), "--channel 1 is out of range"),
    (("--box", "3,5,17,19", "--slice", "2", "--threads", "0"), "--threads must be >= 1, got 0"),
])
def test_bad_arguments_exit_2_with_a_message(image_file: tuple[Path, np.ndarray], bundle: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str], extra: tuple[str, ...],
                                             message: str) -> None:
    code, _, err = _run(capsys, "segment", image_file[0], "--checkpoint", bundle, "--out", tmp_path / "x.nii.gz",
                        *extra)
    assert code == 2 and message in err and err.startswith("propsam segment: error:")
    assert not (tmp_path / "x.nii.gz").exists()


def test_bad_mask_files(image_file: tuple[Path, np.ndarray], bundle: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = image_file
    Image.fromarray(np.ones((24, 20), dtype=np.uint8)).save(tmp_path / "t.png")  # transposed
    Image.fromarray(np.zeros((20, 24), dtype=np.uint8)).save(tmp_path / "e.png")  # empty
    (tmp_path / "m.txt").write_text("0 1")
    cases = [("t.png", ["--slice", "6"], "shape (24, 20) does not match a axial slice"),
             ("t.png", ["--slice", "6"], "it looks transposed"),
             ("e.png", ["--slice", "6"], "mask2d: mask is empty"),
             ("e.png", [], "--slice is required with a 2D --mask"),
             ("m.txt", ["--slice", "6"], "unsupported file type"),
             ("missing.png", ["--slice", "6"], "--mask: no such file")]
    for name, extra, message in cases:
        code, _, err = _run(capsys, "segment", path, "--mask", tmp_path / name, *extra, "--checkpoint", bundle,
                            "--out", tmp_path / "x.nii.gz")
        assert code == 2 and message in err, (name, err)


def test_bad_image_and_checkpoint_files(image_file: tuple[Path, np.ndarray], bundle: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    write_nifti(tmp_path / "flat.nii.gz", np.ones((8, 8, 1)) * np.arange(8)[:, None, None])
    nib.save(nib.Nifti1Image(np.ones((8, 8), dtype=np.float32), np.eye(4)), str(tmp_path / "two_d.nii.gz"))
    cases = [(image_file[0], tmp_path / "junk.pt", "is not a PropSAM checkpoint"),
             (tmp_path / "nope.nii.gz", bundle, "IMAGE: no such file"),
             (tmp_path / "two_d.nii.gz", bundle, "expected a 3D image (or 4D with channels last), got 2D")]
    for image, checkpoint, message in cases:
        code, _, err = _run(capsys, "segment", image, "--box", "0,0,4,4", "--slice", "0", "--checkpoint",
                            checkpoint, "--out", tmp_path / "x.nii.gz")
        assert code == 2 and message in err, err


def test_malformed_box_is_a_usage_error(image_file: tuple[Path, np.ndarray], bundle: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["segment", str(image_file[0]), "--box", "1,2,3", "--slice", "0", "--checkpoint", str(bundle),
              "--out", "x.nii.gz"])
    assert info.value.code == 2 and "expected four integers U0,V0,U1,V1" in capsys.readouterr().err


def test_mask_prompt_reader_on_other_planes(image_file: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    image = read_image(image_file[0])
    np.save(tmp_path / "sag.npy", np.ones((24, 12), dtype=bool))  # sagittal (U, V) = (y, z)
    index, mask = read_mask_prompt(tmp_path / "sag.npy", image, "sagittal", 3)
    assert index == 3 and mask.shape == (24, 12)


def _brighter_than_average(network: Box2Mask | PropMask, encoder: Encoder) -> None:
    """Hand-set weights of a two-stage, one-convolution network: foreground where a pixel is brighter than average.

    Stage 0 of the encoder passes channel 0 of the input through its centre tap, the last decoder stage passes that
    skip's channel 0 the same way, every other weight is 0 and every instance norm is the identity affine; so the
    full-resolution logit is 10 x LeakyReLU(standardised(LeakyReLU(standardised(image)))): positive exactly where the
    pixel is brighter than a level near the image's mean, the same rule for every input.
    """
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.zero_()
        for module in network.modules():
            if isinstance(module, nn.InstanceNorm2d):
                module.weight.fill_(1.0)
        _first_conv(encoder.stages[0]).weight[0, 0, 1, 1] = 1.0
        block = _first_conv(network.decoder.blocks[-1])
        block.weight[0, block.in_channels // 2, 1, 1] = 1.0  # the skip's channel 0 (upsampled features come first)
        _first_conv(network.decoder.heads[-1]).weight[0, 0] = 10.0


def _first_conv(module: nn.Module) -> nn.Conv2d:
    return next(m for m in module.modules() if isinstance(m, nn.Conv2d))


@pytest.fixture(scope="module")
def brightness_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle, written by propsam.checkpoint, of two networks following :func:`_brighter_than_average`."""
    folder = tmp_path_factory.mktemp("brightness")
    box2mask_config = Box2MaskConfig(channels=(2, 2), convs_per_stage=1, input_size=32, name="brightness")
    propmask_config = PropMaskConfig(channels=(2, 2), convs_per_stage=1, input_size=32, attention_stages=1,
                                     name="brightness")
    box2mask, propmask = Box2Mask(box2mask_config), PropMask(propmask_config)
    _brighter_than_average(box2mask, box2mask.encoder)
    _brighter_than_average(propmask, propmask.image_encoder)
    save_checkpoint(folder / "b.pt", box2mask, box2mask_config, kind=NetworkKind.BOX2MASK)
    save_checkpoint(folder / "p.pt", propmask, propmask_config, kind=NetworkKind.PROPMASK)
    save_bundle(folder / "bundle.pt", folder / "b.pt", folder / "p.pt")
    return folder / "bundle.pt"


@pytest.mark.realdata
def test_segment_the_liver_of_the_example_ct(brightness_bundle: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    ct, seg = TOTALSEG_EXAMPLE / "ct.nii.gz", TOTALSEG_EXAMPLE / "ct_seg.nii.gz"
    if not (ct.is_file() and seg.is_file()):
        pytest.skip(f"example CT not available at {TOTALSEG_EXAMPLE}")
    liver = read_image(seg).array == 5  # TotalSegmentator "total" label 5: liver
    z_slices = np.nonzero(liver.any(axis=(0, 1)))[0]
    k = int(z_slices[len(z_slices) // 2])
    us, vs = np.nonzero(liver[:, :, k])
    u0, v0, u1, v1 = int(us.min()), int(vs.min()), int(us.max()) + 1, int(vs.max()) + 1
    out = tmp_path / "liver.nii.gz"
    code, stdout, err = _run(capsys, "segment", ct, "--box", f"{u0},{v0},{u1},{v1}", "--slice", k, "--checkpoint",
                             brightness_bundle, "--out", out, "--search", "coarse", "--max-rounds", 3)
    assert code == 0, err
    assert "Box and slice indices refer to the canonical grid" in stdout
    source, written = _nii(ct), _nii(out)
    assert written.shape == source.shape
    np.testing.assert_allclose(written.affine, source.affine, atol=1e-5)
    mask, image = read_image(out).array.astype(bool), read_image(ct).array
    in_box = np.zeros(mask.shape[:2], dtype=bool)
    in_box[u0:u1, v0:v1] = True
    # The prompt slice: inside the box only, and the brighter part of it (the network's rule).
    assert mask[:, :, k].any() and not (mask[:, :, k] & ~in_box).any()
    assert image[:, :, k][mask[:, :, k]].mean() > image[:, :, k][in_box & ~mask[:, :, k]].mean() + 50.0
    # Three rounds per side (re-crops count as rounds): at least the 20 mm window at 3 mm spacing, 6 slices on each
    # side of k, is reached on both sides, and the slices between are all segmented.
    segmented = np.nonzero(mask.any(axis=(0, 1)))[0]
    assert segmented.min() <= k - 6 and segmented.max() >= k + 6
    assert len(segmented) == segmented.max() - segmented.min() + 1
    # The mask lands on the liver (a mix-up of axes or orientation would put it elsewhere, Dice about 0); with this
    # intensity rule it also takes the brighter vessels and organs nearby: measured Dice 0.38 on the slab.
    slab = slice(k - 6, k + 7)
    assert dice(mask[:, :, slab], liver[:, :, slab]) > 0.3
