from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from benchmark.reports.figures.training import CURVE_COLUMNS
from benchmark.reports.html import PAGE_NAME
from benchmark.reports.report import ReportResult, home_case_opener, installed_versions, write_report
from benchmark.reports.source import load_report_data
from benchmark.reports.tables import Table, write_table
from benchmark.results.rows import RowKey
from benchmark.results.store import ResultStore
from benchmark.runner.masks import save_mask
from tests.benchmark.reports.browser import find_chromium, load_page, screenshot
from tests.benchmark.reports.figures.images import png_size
from tests.benchmark.reports.stores import failed, row, run_record, write_store

MODELS = ("PropSAM-2DBox", "PropSAM-2DMask", "Box-Fill")
SETTINGS = ("default", "slice-deviation=0.05", "slice-deviation=0.1", "slice-deviation=0.15", "slice-deviation=0.2",
            "thickness=10", "thickness=20", "thickness=30", "thickness=40")
STEMS = ("table_s5_dice", "table_s5_nsd", "table_s5_hd95", "table_s6_inference_time", "table_s7_wilcoxon",
         "table_s8_slice_deviation", "table_s9_thickness", "table_dice_paired_tests", "table_dice_bootstrap_ci")


def _rows(case_ids: list[str], masks: dict[str, Path], version: str) -> list[object]:
    rng = np.random.default_rng(0)
    rows: list[object] = []
    for model in MODELS:
        settings = SETTINGS if model.startswith("PropSAM") else ("default",)
        for setting in settings:
            for case_id in case_ids:
                mask = str(masks[model]) if setting == "default" and case_id == case_ids[0] else None
                rows.append(row(model, "U1", case_id, "liver", float(rng.uniform(0.5, 0.95)), setting=setting,
                                seconds=float(rng.uniform(0.05, 2.0)), version=version, mask_path=mask,
                                prompt_slice=8, prompt_box="[10, 10, 30, 28]" if model != "PropSAM-2DMask" else None))
    rows.append(failed("Box-Fill", "U1", "case-x", "liver"))
    return rows


@pytest.fixture(scope="module")
def report(small_home: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    root = tmp_path_factory.mktemp("report")
    reader = small_home.home.open_reader(small_home.catalog.get("U1"))
    case_ids = [e.case_id for e in reader.discover().entries]
    opener = home_case_opener(small_home.home, small_home.catalog)
    case = opener("U1", case_ids[0])
    truth = case.mask("liver")
    masks = {m: save_mask(np.roll(truth, k, axis=0), case, root / "masks",
                          RowKey("default", m, "default", "U1", case_ids[0], "liver")) for k, m in enumerate(MODELS)}
    store = write_store(root / "results.sqlite", [(run_record(models=list(MODELS)), _rows(
        case_ids, masks, small_home.home.commit("U1")))])
    out = root / "reports"
    # a table another command writes into the same folder (propbench datasets fingerprint)
    write_table(Table("Table S4: data fingerprints", ("id", "scans"), (("U1", 6),), ("from the fingerprints",)), out,
                "table_s4_fingerprints")
    training = root / "training" / "propmask"
    training.mkdir(parents=True)
    (training / "curves.csv").write_text(",".join(CURVE_COLUMNS) + "\n1,0.9,,,0.001,1.0\n2,0.5,0.6,0.7,0.001,1.0\n",
                                         encoding="utf-8")
    with ResultStore.open(store, create=False) as opened:
        data = load_report_data(opened, catalog=small_home.catalog,
                                installed_versions=installed_versions(small_home.home, ["U1"]))
    return write_report(data, out, open_case=opener, training_dirs=[root / "training"], resamples=500,
                        command=f"propbench report --store {store} --out {out}")


def test_every_table_in_csv_markdown_and_latex(report: ReportResult) -> None:
    assert [stem for stem, _ in report.tables] == list(STEMS)
    for stem, table in report.tables:
        for suffix in (".csv", ".md", ".tex"):
            assert (report.out_dir / f"{stem}{suffix}").is_file()
        frame = pd.read_csv(report.out_dir / f"{stem}.csv")
        assert tuple(frame.columns) == table.columns and len(frame) == len(table.rows)
        assert table.notes[0].startswith("Rows used")


def test_every_figure_drawn_as_png_and_pdf(report: ReportResult) -> None:
    drawn = {f.stem for f in report.figures if f.png is not None}
    assert drawn == {"figure_s9_slice_deviation", "figure_s10_thickness", "figure_dice_distributions",
                     "figure_inference_time", "figure_qualitative_U1", "figure_training_loss"}
    for figure in report.figures:
        assert figure.png is not None and figure.pdf is not None, figure.skipped
        assert figure.png.is_file() and figure.pdf.is_file() and figure.png in report.files
    assert report.page == report.out_dir / PAGE_NAME


def test_the_page_holds_every_table_figure_and_how_it_was_produced(report: ReportResult) -> None:
    text = report.page.read_text(encoding="utf-8")
    assert text.count("<table>") == len(STEMS) + 1  # and Table S4, found in the folder
    assert "Written by &#x27;propbench datasets fingerprint&#x27;." in text
    assert text.count("<img ") == len(report.figures)
    sources = re.findall(r'(?:src|href)="([^"#][^"]*)"', text)
    assert "figures/figure_s9_slice_deviation.png" in sources and "table_s5_dice.csv" in sources
    assert not [s for s in sources if s.startswith(("/", "file:", "http"))]  # relative: the folder can move
    produced = text.split('id="how-this-was-produced"')[1]
    assert "propbench report --store" in produced and "&quot;rule&quot;: &quot;largest&quot;" in produced
    assert "numpy" in produced and "matplotlib" in produced and "Test CPU 3000" in produced


chromium = pytest.mark.skipif(find_chromium() is None, reason="no chromium binary found (Debian: apt-get install "
                              "chromium); the report page is checked in a real browser only where one is installed")


@chromium
@pytest.mark.slow
def test_the_page_in_a_headless_browser_loads_every_image_and_caption(report: ReportResult, tmp_path: Path) -> None:
    browser = find_chromium()
    assert browser is not None
    page = load_page(browser, report.page)
    assert len(page.images) == len(report.figures) and page.broken_images == []
    for src, _, width, height in page.images:
        assert (width, height) == png_size(report.out_dir / src)  # the browser decoded the file itself
    assert page.table_captions == ["Table S4: data fingerprints", *(t.title for _, t in report.tables)]
    assert [c for c in page.figure_captions if c.startswith(tuple(f.title for f in report.figures))]
    assert len(page.figure_captions) == len(report.figures)
    for link in page.links:  # every file the page links to exists, relative to the page
        assert (report.out_dir / link).is_file(), link
    shot = screenshot(browser, report.page, tmp_path / "report.png")
    assert png_size(shot) == (1400, 3000)


@chromium
@pytest.mark.slow
def test_the_browser_check_detects_a_broken_image(report: ReportResult, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(report.out_dir, copy)
    (copy / "figures" / "figure_inference_time.png").unlink()
    (copy / "figures" / "figure_s9_slice_deviation.png").write_bytes(b"not a png")
    browser = find_chromium()
    assert browser is not None
    broken = load_page(browser, copy / PAGE_NAME).broken_images
    assert sorted(broken) == ["figures/figure_inference_time.png", "figures/figure_s9_slice_deviation.png"]
