from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from benchmark.reports.figures.qualitative import (
    box_edges,
    choose_objects,
    display_slice,
    neighbour_slices,
    plot_qualitative,
    read_mask,
)
from benchmark.reports.report import home_case_opener, installed_versions
from benchmark.reports.source import ReportData, load_report_data, read_frame
from benchmark.results.rows import RowKey
from benchmark.results.store import ResultStore
from benchmark.runner.masks import save_mask
from tests.benchmark.reports.figures.images import png_size
from tests.benchmark.reports.stores import row, run_record, write_store


def test_neighbour_slices_spread_to_the_object_ends() -> None:
    assert neighbour_slices(10, 2, 20) == [2, 6, 15, 20]
    assert neighbour_slices(5, 5, 6) == [6]  # the guide at the object's lower end
    assert neighbour_slices(3, 3, 3) == []


def test_choose_objects_prefers_the_most_models_then_the_largest(tmp_path: Path) -> None:
    mask = tmp_path / "m.nii.gz"
    mask.write_bytes(b"x")
    frame = read_frame([row("A", "D1", "c1", "o1", mask_path=str(mask), n_reference=10),
                        row("B", "D1", "c1", "o1", mask_path=str(mask), n_reference=10),
                        row("A", "D1", "c2", "o2", mask_path=str(mask), n_reference=500),
                        row("A", "D2", "c1", "o1", mask_path=str(tmp_path / "gone.nii.gz")),
                        row("A", "D3", "c1", "small", mask_path=str(mask), n_reference=5),
                        row("A", "D3", "c1", "large", mask_path=str(mask), n_reference=50)])
    chosen = choose_objects(frame)
    assert sorted(chosen) == ["D1", "D3"]  # D2's mask file is gone
    assert set(chosen["D1"]["model"]) == {"A", "B"} and set(chosen["D3"]["object_name"]) == {"large"}


@pytest.fixture(scope="module")
def panel_store(small_home: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A store whose rows point at masks saved on a real case of the small data home (U1, Toy liver)."""
    root = tmp_path_factory.mktemp("panel")
    opener = home_case_opener(small_home.home, small_home.catalog)
    reader = small_home.home.open_reader(small_home.catalog.get("U1"))
    case_id = reader.discover().entries[0].case_id
    case = opener("U1", case_id)
    truth = case.mask("liver")
    predictions = {"PropSAM-2DBox": ndimage.binary_dilation(truth, iterations=1),
                   "Box-Fill": np.roll(truth, 3, axis=0)}
    zs = np.flatnonzero(truth.any(axis=(0, 1)))
    guide = int(zs[np.argmax(truth.sum(axis=(0, 1))[zs])])
    xs, ys = np.flatnonzero(truth[:, :, guide].any(axis=1)), np.flatnonzero(truth[:, :, guide].any(axis=0))
    rows = []
    for model, mask in predictions.items():
        key = RowKey("default", model, "default", "U1", case_id, "liver")
        path = save_mask(mask, case, root / "masks", key)
        box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
        rows.append(row(model, "U1", case_id, "liver", 0.8, mask_path=str(path), prompt_slice=guide,
                        prompt_box=json.dumps(box if model == "PropSAM-2DBox" else [*box[:2], 0, *box[2:], 9]),
                        n_reference=int(truth.sum()), version=small_home.home.commit("U1")))
    store = write_store(root / "s.sqlite", [(run_record(models=list(predictions)), rows)])
    return SimpleNamespace(store=store, case_id=case_id, opener=opener, shape=case.spatial_shape, root=root,
                           rows=rows)


def _data(panel_store: SimpleNamespace, small_home: SimpleNamespace, **kwargs: object) -> ReportData:
    with ResultStore.open(panel_store.store, create=False) as store:
        return load_report_data(store, catalog=small_home.catalog, **kwargs)  # type: ignore[arg-type]


def test_a_panel_from_saved_masks_and_the_data_home(panel_store: SimpleNamespace, small_home: SimpleNamespace,
                                                    tmp_path: Path) -> None:
    versions = installed_versions(small_home.home, ["U1", "D9"])
    assert list(versions) == ["U1"]
    data = _data(panel_store, small_home, installed_versions=versions)
    figures = plot_qualitative(data, tmp_path, panel_store.opener)
    assert len(figures) == 1 and not figures[0].skipped, figures[0].skipped
    figure = figures[0]
    assert figure.png == tmp_path / "figures" / "figure_qualitative_U1.png" and figure.pdf is not None
    width, height = png_size(figure.png)
    assert width > 3 * height  # the guide slice and its neighbours side by side
    assert f"case {panel_store.case_id}, object liver" in figure.title
    notes = " ".join(figure.notes)
    assert "PropSAM-2DBox: box2d prompt (dashed box on the guide slice); Dice 0.800." in notes
    assert "Box-Fill: box3d prompt (dashed box on the guide slice)" in notes
    assert "data version" not in notes  # the rows are of the installed version


def test_no_data_home_or_an_unreadable_case_skips_the_panel_with_the_reason(
        panel_store: SimpleNamespace, small_home: SimpleNamespace, tmp_path: Path) -> None:
    data = _data(panel_store, small_home, installed_versions={"U1": "0" * 40})
    skipped = plot_qualitative(data, tmp_path, None)[0]
    assert skipped.png is None and skipped.skipped == "no data home given: the image cannot be read"
    assert any("the image is read from the installed version 0000000000" in n for n in skipped.notes)

    def missing(dataset_id: str, case_id: str) -> object:
        raise KeyError(f"case {case_id!r} is not in the installed dataset {dataset_id}")

    failed = plot_qualitative(data, tmp_path, missing)[0]  # type: ignore[arg-type]
    assert failed.png is None and failed.skipped.startswith("the case could not be read (KeyError")
    assert not (tmp_path / "figures").exists()


def test_a_saved_mask_of_another_shape_is_not_drawn_and_said(panel_store: SimpleNamespace,
                                                              small_home: SimpleNamespace, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected the case's"):
        read_mask(panel_store.rows[0].mask_path, (1, 2, 3))
    wrong = panel_store.root / "wrong" / "liver.nii.gz"
    wrong.parent.mkdir(exist_ok=True)
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.ones((4, 4, 4), np.uint8), np.eye(4)), str(wrong))
    store = write_store(tmp_path / "s.sqlite", [(run_record(), [
        row("Box-Fill", "U1", panel_store.case_id, "liver", 0.5, mask_path=str(wrong), prompt_box=None),
        row("PropSAM-2DBox", "U1", panel_store.case_id, "liver", 0.5,
            mask_path=panel_store.rows[0].mask_path)])])
    with ResultStore.open(store, create=False) as opened:
        data = load_report_data(opened, catalog=small_home.catalog)
    figure = plot_qualitative(data, tmp_path, panel_store.opener)[0]
    assert figure.png is not None
    assert any(n.startswith("Box-Fill: saved mask not drawn") and "expected the case's" in n for n in figure.notes)


def test_no_saved_masks_is_one_skipped_figure(tmp_path: Path) -> None:
    from tests.benchmark.reports.stores import report_data

    data = report_data(write_store(tmp_path / "s.sqlite", [(run_record(), [row("A", "U1", "c", "liver")])]))
    figures = plot_qualitative(data, tmp_path, None)
    assert len(figures) == 1 and "--save-masks" in figures[0].skipped


def test_a_prompt_box_is_drawn_around_the_same_voxels_in_the_displayed_slice() -> None:
    # (X, Y) = (10, 8) crop starting at (x0, y0) = (2, 1); a box (x0, y0, x1, y1) = (4, 3, 7, 5) half-open
    plane = np.zeros((10, 8), dtype=bool)
    plane[4 - 2:7 - 2, 3 - 1:5 - 1] = True
    shown = display_slice(plane)  # rows: y (drawn with origin "lower"), columns: x reversed (right on the left)
    assert shown.shape == (8, 10)
    rows, columns = np.nonzero(shown)
    left, right, bottom, top = box_edges((4, 3, 7, 5), 2, 1, 10)
    assert (left, right) == (columns.min() - 0.5, columns.max() + 0.5)  # pixel centres at integers
    assert (bottom, top) == (rows.min() - 0.5, rows.max() + 0.5)
    # RAS: x grows towards the patient's right, so x = 0 (the patient's left) is drawn on the right (radiological)
    assert display_slice(np.eye(3, 2, dtype=bool))[0, -1]
