"""Speed of the data layer: header reads, discovery of a large dataset, and a reader's load against plain SimpleITK.

Run with ``nox -s perf`` (or ``pytest tests/perf --benchmark-enable --benchmark-only``); skipped otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from benchmark.data.geometry import read_header, read_volume

if TYPE_CHECKING:
    from tests.perf.conftest import F1Dataset, LargeCase, PerfRecorder

__all__: list[str] = []

#: Largest accepted time of a reader's load over plain SimpleITK ReadImage + GetArrayFromImage on the same files.
READER_OVERHEAD_TARGET = 1.10
#: A header read of the 512 x 512 x 300 file may cost at most this times that of a 64 x 64 x 32 file (1/600 the
#: voxels): a header read that decoded voxels would be hundreds of times slower.
HEADER_SIZE_RATIO_TARGET = 2.0
#: A header read should cost at most this fraction of reading the whole volume.
HEADER_FRACTION_TARGET = 0.05


def test_read_header_cost_does_not_grow_with_voxels(large_case: LargeCase, perf: PerfRecorder) -> None:
    timing = perf.side_by_side(lambda: read_header(large_case.image), lambda: read_header(large_case.small_image),
                               rounds=30, warmup_rounds=2)

    geometry, channels = read_header(large_case.image)
    assert geometry.shape == large_case.shape and channels == 1  # the header of the right file was read
    voxel_ratio = int(np.prod(large_case.shape)) / int(np.prod(large_case.small_shape))
    perf.info(what="read_header on 512x512x300 int16 .nii.gz (subject) vs on 64x64x32 (baseline)",
              voxel_ratio=voxel_ratio, header_large_ms=timing.subject_median_s * 1e3,
              header_small_ms=timing.baseline_median_s * 1e3)
    perf.target("header_large_over_small", timing.ratio, HEADER_SIZE_RATIO_TARGET,
                f"read_header time on {voxel_ratio:.0f}x more voxels (512x512x300 vs 64x64x32)")


def test_read_header_against_full_read(large_case: LargeCase, perf: PerfRecorder) -> None:
    timing = perf.side_by_side(lambda: read_volume(large_case.image), lambda: read_header(large_case.image),
                               rounds=3, baseline_calls=5)

    fraction = timing.baseline_median_s / timing.subject_median_s
    perf.info(what="read_volume (subject) vs read_header (baseline) of one 512x512x300 int16 .nii.gz",
              full_read_s=timing.subject_median_s, header_ms=timing.baseline_median_s * 1e3,
              compressed_mb=large_case.image.stat().st_size / 1e6)
    perf.target("header_fraction_of_full_read", fraction, HEADER_FRACTION_TARGET,
                "read_header time over read_volume time on the 512x512x300 file")


def test_discover_thousand_cases(many_cases: F1Dataset, perf: PerfRecorder) -> None:
    reader = many_cases.reader()

    median = perf.run(reader.discover, rounds=10, warmup_rounds=1)

    found = reader.discover()
    assert len(found.entries) == many_cases.cases and found.errors == ()
    perf.info(what=f"PairedFoldersReader.discover over {many_cases.cases} cases (image + label file each)",
              cases=many_cases.cases, cases_per_s=many_cases.cases / median)


def test_reader_load_against_plain_simpleitk(large_case: LargeCase, perf: PerfRecorder) -> None:
    import SimpleITK as sitk

    reader = large_case.dataset.reader()
    (entry,) = reader.discover().entries

    def through_reader() -> None:
        case = reader.open_case(entry)
        _ = case.image
        case.mask("liver")

    def plain_simpleitk() -> None:
        sitk.GetArrayFromImage(sitk.ReadImage(str(large_case.image)))
        sitk.GetArrayFromImage(sitk.ReadImage(str(large_case.label)))

    timing = perf.side_by_side(through_reader, plain_simpleitk, rounds=3)

    perf.info(what="PairedFoldersReader open_case + Case.image + Case.mask('liver') (subject) vs SimpleITK "
                   "ReadImage + GetArrayFromImage of image and label (baseline), 512x512x300 int16 .nii.gz",
              reader_s=timing.subject_median_s, simpleitk_s=timing.baseline_median_s,
              overhead_pct=(timing.ratio - 1.0) * 100)
    perf.target("reader_over_simpleitk", timing.ratio, READER_OVERHEAD_TARGET,
                "reader load time over plain SimpleITK on the same image and label (target: overhead <= 10%)")
