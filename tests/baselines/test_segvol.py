"""SegVol through a model folder in the released layout (tests/baselines/segvol_standin.py says which file stands in
for which), and, when PROPBENCH_SEGVOL_FOLDER names a real copy of the folder, through the released one."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from baselines.checkpoints import CheckpointError, CheckpointNotFoundError, UnsafeCheckpointError
from baselines.runtime import SettingsError
from baselines.segvol_folder import RemoteCodeRefusedError, load_segvol
from benchmark.data.geometry import Plane
from benchmark.errors import BenchmarkError
from benchmark.models.conformance import check_conformance
from benchmark.protocol.prompts import Box3D, Mask2D
from tests.baselines.segvol_standin import POSITION_IDS_KEY, write_folder

torch = pytest.importorskip("torch")

from baselines.segvol import SegVol, segvol  # noqa: E402


@dataclass(frozen=True, eq=False)
class Shell:
    """A case whose bright outer shell makes SegVol's foreground crop the whole volume."""

    image: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    modality: str = "CT"
    dataset_id: str = "T"


def shell_case(shape: tuple[int, int, int]) -> Shell:
    grid = np.indices(shape, dtype=np.float32)
    centre = [(n - 1) / 2 for n in shape]
    distance = np.sqrt(sum(((g - c) / n) ** 2 for g, c, n in zip(grid, centre, shape, strict=True)))
    return Shell(distance[None].astype(np.float32))


def _mask(shape: tuple[int, int, int], box: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, bool)
    out[box[0]:box[3], box[1]:box[4], box[2]:box[5]] = True
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "SegVol")


def _through_zoom(lo: int, hi: int, size: int, zoomed: int) -> np.ndarray:
    """One axis of a half-open box after nearest-exact to ``zoomed`` and nearest back (SegVol's two resizes)."""
    picked = [j for j in range(zoomed) if lo <= math.floor((j + 0.5) * size / zoomed) < hi]
    back = np.array([math.floor(i * zoomed / size) for i in range(size)])
    return (back >= min(picked)) & (back <= max(picked))


def _single_window_shift(axis_mask: np.ndarray, window: int) -> int:
    """How far the released code's single-window box lands from the object on one axis: the padding before the
    zoom-in region (logits2roi_coor's region, padded symmetrically up to the window)."""
    found = np.flatnonzero(axis_mask)
    lo, hi = int(found[0]), int(found[-1])
    pad = max(0, window - (hi - lo + 1)) // 2
    size = min(hi + pad + 1, axis_mask.size) - max(0, lo - pad)
    return max(0, window - size) // 2


def _shifted(mask: np.ndarray, shifts: tuple[int, int, int]) -> np.ndarray:
    out = np.zeros_like(mask)
    sx, sy, sz = shifts
    out[:mask.shape[0] - sx, :mask.shape[1] - sy, :mask.shape[2] - sz] = mask[sx:, sy:, sz:]
    return out


@pytest.mark.parametrize("align", [True, False])
def test_an_echoed_box_comes_back_through_zoom_out_and_zoom_in(folder: Path, align: bool) -> None:
    # (X, Y, Z) = (32, 32, 8) is the window (8, 32, 32) once transposed: zoom-out is the identity. The zoom-in region
    # (the box widened towards the window, within the volume) is (7, 29, 28): one window, padded by (0, 1, 2) before
    # along (D, H, W). The released code prompts it with the unpadded box, so the echo lands 2 voxels lower in x and 1
    # in y; aligned, it is the box.
    model = segvol(str(folder), trust_remote_code=True, align_single_window_box=align)
    box = Box3D((5, 7, 2, 20, 30, 7), 4)
    out = model.segment(shell_case((32, 32, 8)), box)
    expected = _mask((32, 32, 8), box.box)
    assert out.dtype == np.bool_ and np.array_equal(out, expected if align else _shifted(expected, (2, 1, 0)))
    trace = model.last_trace
    assert trace["zoom_out_box"] == "(2, 7, 5, 6, 29, 19)" and trace["zoom_in_windows"] == 1
    assert trace["zoom_in_region"] == "(7, 29, 28)"
    assert (trace["crop_start"], trace["crop_stop"]) == ("(0, 0, 0)", "(8, 32, 32)")
    assert model.weights == "checkpoint" and model.checkpoint_sha256 and len(model.checkpoint_sha256) == 64


def test_several_zoom_in_windows_give_the_box_through_both_resizes(folder: Path) -> None:
    model = segvol(str(folder), trust_remote_code=True)
    shape = (64, 48, 16)  # (D, H, W) = (16, 48, 64): zoom-out halves D and W, takes 2 of every 3 rows of H
    box = Box3D((3, 5, 1, 60, 44, 15), 8)
    out = model.segment(shell_case(shape), box)
    x0, y0, z0, x1, y1, z1 = box.box
    expected = (_through_zoom(x0, x1, 64, 32)[:, None, None] & _through_zoom(y0, y1, 48, 32)[None, :, None]
                & _through_zoom(z0, z1, 16, 8)[None, None, :])
    assert np.array_equal(out, expected)
    assert model.last_trace["zoom_in_windows"] > 1


@pytest.mark.parametrize("align", [False, True])
def test_a_volume_smaller_than_the_window_zooms_up_and_back(folder: Path, align: bool) -> None:
    # (D, H, W) = (6, 24, 20) is smaller than the window (8, 32, 32): zoom-out upsamples, and the one zoom-in window
    # pads the whole volume.
    model = segvol(str(folder), trust_remote_code=True, align_single_window_box=align)
    shape = (20, 24, 6)
    x0, y0, z0, x1, y1, z1 = box = (8, 10, 2, 18, 20, 5)
    out = model.segment(shell_case(shape), Box3D(box, 3))
    axes = (_through_zoom(x0, x1, 20, 32), _through_zoom(y0, y1, 24, 32), _through_zoom(z0, z1, 6, 8))
    expected = axes[0][:, None, None] & axes[1][None, :, None] & axes[2][None, None, :]
    if not align:
        shifts = tuple(_single_window_shift(a, w) for a, w in zip(axes, (32, 32, 8), strict=True))
        assert shifts == (6, 4, 1)
        expected = _shifted(expected, shifts)  # type: ignore[arg-type]
    assert np.array_equal(out, expected)


def test_segvol_conforms_with_the_stand_in_network(folder: Path) -> None:
    report = check_conformance(segvol(str(folder), trust_remote_code=True))
    assert report.ok, report.summary()


def test_a_one_slice_object_and_a_box_touching_the_border(folder: Path) -> None:
    model = segvol(str(folder), trust_remote_code=True)
    case = shell_case((64, 48, 16))
    one_slice = model.segment(case, Box3D((10, 10, 5, 30, 30, 6), 5))  # thinner than a zoom-out voxel in z
    assert one_slice[:, :, 4:7].any() and not one_slice[:, :, :4].any() and not one_slice[:, :, 7:].any()
    border = model.segment(case, Box3D((0, 0, 0, 64, 48, 16), 3))
    assert border.all()


def test_other_prompt_kinds_are_refused(folder: Path) -> None:
    model = segvol(str(folder), trust_remote_code=True)
    with pytest.raises(ValueError, match=r"SegVol takes prompts of kind \['box3d'\], got 'mask2d'"):
        model.segment(shell_case((32, 32, 8)), Mask2D(Plane.AXIAL, 2, np.ones((32, 32), bool)))


def test_remote_code_is_refused_without_opt_in_and_never_runs(folder: Path) -> None:
    for kwargs in ({}, {"trust_remote_code": False}):
        with pytest.raises(RemoteCodeRefusedError, match=r"runs the code of its model folder \(.*model_segvol_single"
                                                         r".py\), and remote code is not allowed.*set "
                                                         r"trust_remote_code = true"):
            segvol(str(folder), **kwargs)
    assert not (folder / "imported.marker").exists()
    with pytest.raises(SettingsError, match="setting trust_remote_code = 'yes' is not a boolean"):
        segvol(str(folder), trust_remote_code="yes")


def test_weights_load_exactly_or_not_at_all(tmp_path: Path) -> None:
    loaded = load_segvol(write_folder(tmp_path / "a"), trust_remote_code=True)
    assert float(loaded.model.model.gain.detach()) == 10.0 and loaded.spatial_size == (8, 32, 32)
    random = load_segvol(write_folder(tmp_path / "b"), trust_remote_code=True, random_weights=True, seed=3)
    assert random.weights == "random" and random.checkpoint_sha256 is None
    assert float(random.model.model.gain.detach()) != 10.0
    linear = torch.nn.Linear(1, 1)
    base = {"model.image_encoder.weight": linear.weight.detach(), "model.image_encoder.bias": linear.bias.detach()}
    cases = [
        ({**base, "model.gain": torch.ones(2)}, r"1 of another shape \(first: \['model.gain: file \(2,\), network"),
        (base, r"1 missing \(first: \['model.gain'\]\)"),
        ({**base, "model.gain": torch.tensor(1.0), "model.decoder.w": torch.ones(1)}, r"1 unknown"),
        ({**base, "model.gain": torch.tensor(1.0), POSITION_IDS_KEY: torch.arange(77)[None] + 1},
         "position_ids with values other than the positions"),
    ]
    for index, (weights, message) in enumerate(cases):
        with pytest.raises(CheckpointError, match=message):
            load_segvol(write_folder(tmp_path / f"bad{index}", weights=weights), trust_remote_code=True)


def test_a_pickle_with_code_in_the_folder_is_refused(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(tmp_path / "ran"),))  # type: ignore[return-value]

    folder = write_folder(tmp_path / "SegVol", weights={"model.gain": Payload()})
    with pytest.raises(UnsafeCheckpointError, match="pytorch_model.bin: torch's weights-only reader rejected it"):
        load_segvol(folder, trust_remote_code=True)
    assert not (tmp_path / "ran").exists()


def test_missing_pieces_of_the_folder_say_what_to_put_where(tmp_path: Path) -> None:
    with pytest.raises(CheckpointNotFoundError, match=r"model folder .*nowhere does not exist; expected a local copy "
                                                      r"of the released BAAI/SegVol model folder"):
        segvol(str(tmp_path / "nowhere"), trust_remote_code=True)
    for missing, message in (("config.json", "config.json does not exist"),
                             ("model_segvol_single.py", r"model_segvol_single.py \(named by auto_map"),
                             ("pytorch_model.bin", r"holds none of \['model.safetensors', 'pytorch_model.bin'\]")):
        folder = write_folder(tmp_path / missing)
        (folder / missing).unlink()
        with pytest.raises(CheckpointNotFoundError, match=message):
            segvol(str(folder), trust_remote_code=True)
    folder = write_folder(tmp_path / "no-auto-map")
    (folder / "config.json").write_text('{"model_type": "segvol"}')
    with pytest.raises(CheckpointError, match="has auto_map None; expected AutoConfig and AutoModel"):
        segvol(str(folder), trust_remote_code=True)
    with pytest.raises(SettingsError, match="SegVol needs its model folder"):
        segvol(trust_remote_code=True, random_weights=True)


def test_a_missing_package_of_the_released_code_gives_the_install_hint(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "SegVol", extra_import="import no_such_package_for_segvol")
    with pytest.raises(BenchmarkError, match=r"needs no_such_package_for_segvol; "
                                             r"pip install 'propsam-bench\[segvol\]'"):
        segvol(str(folder), trust_remote_code=True)


def test_settings_are_checked(folder: Path) -> None:
    with pytest.raises(SettingsError, match=r"unknown setting\(s\) \['overlap'\]"):
        segvol(str(folder), trust_remote_code=True, overlap=0.25)
    with pytest.raises(SettingsError, match=r"zoom_out_mode = 'linear'; expected one of \['nearest-exact', "
                                            r"'nearest'\]"):
        segvol(str(folder), trust_remote_code=True, zoom_out_mode="linear")


def test_zoom_out_only_and_bf16(folder: Path) -> None:
    model = segvol(str(folder), trust_remote_code=True, zoom_in=False, precision="bf16")
    box = Box3D((5, 7, 2, 20, 30, 7), 4)
    assert np.array_equal(model.segment(shell_case((32, 32, 8)), box), _mask((32, 32, 8), box.box))
    assert model.last_trace["zoom_in_region"] == "none" and model.last_trace["precision"] == "bf16"


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("PROPBENCH_SEGVOL_FOLDER"),
                    reason="set PROPBENCH_SEGVOL_FOLDER to a local copy of the released BAAI/SegVol folder")
def test_the_released_folder_segments_on_the_case_grid() -> None:
    model = segvol(os.environ["PROPBENCH_SEGVOL_FOLDER"], trust_remote_code=True)
    case = shell_case((64, 64, 40))
    out = model.segment(case, Box3D((16, 16, 10, 48, 48, 30), 20))
    assert isinstance(model, SegVol) and out.shape == (64, 64, 40) and out.dtype == np.bool_
    assert model.checkpoint_sha256 and model.last_trace["zoom_out_box"]

