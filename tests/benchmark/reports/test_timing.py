from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmark.reports.source import ReportData
from benchmark.reports.tables import Emphasis, to_latex, to_markdown
from benchmark.reports.timing import rank_emphasis, table_s6
from tests.benchmark.reports.helpers import cell, notes_text, row_index
from tests.benchmark.reports.stores import failed, report_data, row, run_record, write_store

BOX, MASK, SEGVOL, FILL = "PropSAM-2DBox", "PropSAM-2DMask", "SegVol", "Box-Fill"
GPU_MACHINE = {"host": "gpu-host", "cpu": "Test CPU 9000", "cpu_count": 16, "memory_gb": 128.0, "gpu": "Test GPU",
               "gpu_count": 1, "gpu_memory_gb": 80.0, "cuda": "12.1", "cudnn": "8902", "torch": "2.13.0"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    times = {BOX: (2.0, 4.0), MASK: (1.0, 2.0), SEGVOL: (3.0, 3.0), FILL: (0.5, 4.0)}
    rows = [row(m, "D1", f"c{i}", "liver", seconds=s, machine_id="g1") for m, ts in times.items()
            for i, s in enumerate(ts)]
    rows += [row(m, "D2", "c0", "adrenocortical carcinoma", seconds=1.0, subset="test") for m in (BOX, MASK)]
    rows += [row(SEGVOL, "D2", "c1", "adrenocortical carcinoma", seconds=math.inf, subset="test"),
             failed(FILL, "D2", "c0", "adrenocortical carcinoma")]
    rows += [row(BOX, "D1", "c9", "liver", seconds=100.0, setting="thickness=40")]
    machines = {"m0": {"cpu": "Test CPU 3000", "cpu_count": 2}, "g1": GPU_MACHINE}
    path = write_store(tmp_path_factory.mktemp("s6") / "s.sqlite", [(run_record(), rows)], machines=machines)
    return report_data(path)


def test_mean_seconds_and_n_per_dataset_and_model(data: ReportData) -> None:
    table = table_s6(data)
    assert cell(table, BOX, id="D1") == pytest.approx(3.0) and cell(table, f"{BOX} n", id="D1") == 2
    assert cell(table, MASK, id="D1") == pytest.approx(1.5)
    assert cell(table, FILL, id="D1") == pytest.approx(2.25)
    assert cell(table, SEGVOL, id="D2") is None and cell(table, f"{SEGVOL} n", id="D2") == 0  # inf is no time
    assert cell(table, FILL, id="D2") is None  # every case failed


def test_the_fastest_is_bold_and_the_second_underlined(data: ReportData) -> None:
    table = table_s6(data)
    d1 = row_index(table, id="D1")
    assert table.emphasis_of(d1, MASK) is Emphasis.BOLD and table.emphasis_of(d1, FILL) is Emphasis.UNDERLINE
    assert table.emphasis_of(d1, BOX) is None and table.emphasis_of(d1, SEGVOL) is None
    d2 = row_index(table, id="D2")  # a tie: both fastest are bold, nothing is second
    assert table.emphasis_of(d2, BOX) is Emphasis.BOLD and table.emphasis_of(d2, MASK) is Emphasis.BOLD
    assert "**1.5**" in to_markdown(table) and "<u>2.25</u>" in to_markdown(table)
    assert r"\textbf{1.5}" in to_latex(table) and r"\underline{2.25}" in to_latex(table)


def test_rank_emphasis() -> None:
    assert rank_emphasis([3.0, None, 1.0, 2.0]) == {2: Emphasis.BOLD, 3: Emphasis.UNDERLINE}
    assert rank_emphasis([1.0, 1.0, 2.0]) == {0: Emphasis.BOLD, 1: Emphasis.BOLD, 2: Emphasis.UNDERLINE}
    assert rank_emphasis([None, 5.0]) == {1: Emphasis.BOLD} and rank_emphasis([None]) == {}


def test_paper_times_with_the_papers_s6_numbering(data: ReportData) -> None:
    table = table_s6(data)
    assert cell(table, "s6_id", id="D1") == "D01" and cell(table, "s6_id", id="D2") == "D35"
    assert cell(table, f"{BOX} paper", id="D1") == 9.6679 and cell(table, f"{SEGVOL} paper", id="D1") == 12.6614
    assert cell(table, f"{BOX} diff", id="D1") == pytest.approx(3.0 - 9.6679)
    assert cell(table, f"{MASK} paper", id="D2") == 1.1041
    assert f"{FILL} paper" not in table.columns


def test_the_caption_gives_the_hardware_and_the_timing_rows(data: ReportData) -> None:
    text = notes_text(table_s6(data))
    assert "g1: Test CPU 9000 (16 logical CPUs), 128.0 GB memory, 1 x Test GPU (80.0 GB, CUDA 12.1, cuDNN 8902), " \
           "torch 2.13.0; host gpu-host" in text
    assert "m0: Test CPU 3000 (2 logical CPUs)" in text and "Device(s): cpu." in text
    assert "NVIDIA A800-SXM4-80GB" in text
    assert "these times cover the evaluation cases only" in text
    # the thickness row is not timed here
    assert "Rows used (default setting, seconds): 12 rows of the results store (11 ok, 1 failed" in text


def test_an_unknown_machine_is_stated(tmp_path: Path) -> None:
    path = write_store(tmp_path / "s.sqlite", [(run_record(), [row(BOX, "D1", "c", "liver", machine_id="zz")])])
    assert "machine(s) zz not described in the store" in notes_text(table_s6(report_data(path)))
