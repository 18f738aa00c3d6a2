"""Speed of the fingerprint passes: header-only over many files, full pass against gunzip, and the per-case cache.

Run with ``nox -s perf`` (or ``pytest tests/perf --benchmark-enable --benchmark-only``); skipped otherwise.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.fingerprint.runner import CasePass, run_cases

if TYPE_CHECKING:
    from tests.perf.conftest import DemoCollection, F1Dataset, LargeCase, PerfRecorder

__all__: list[str] = []

#: Largest accepted time of a full pass over the time to gunzip the same files (one core each).
FULL_PASS_OVER_GUNZIP_TARGET = 1.5
#: Largest accepted time, in s, of a second pass over the demo datasets with a warm cache.
WARM_CACHE_TARGET_S = 1.0


def test_header_only_pass_over_thousand_files(many_cases: F1Dataset, perf: PerfRecorder) -> None:
    reader = many_cases.reader()
    passes: list[CasePass] = []

    median = perf.run(lambda: passes.append(run_cases(reader, full=False, cache_dir=None)), rounds=3)

    assert len(passes[-1].fingerprints) == many_cases.cases and passes[-1].errors == ()
    perf.info(what=f"run_cases(full=False, cache_dir=None) over {many_cases.cases} cases of 16x16x8 .nii.gz "
                   f"(default workers)", cases=many_cases.cases, cases_per_s=many_cases.cases / median,
              ms_per_case=median / many_cases.cases * 1e3)


def _case_files(demo: DemoCollection) -> tuple[Path, ...]:
    """Every file a full pass reads: the image and label files of each discovered case."""
    return tuple(path for reader in demo.readers() for entry in reader.discover().entries for path in entry.files)


def test_full_pass_against_gunzip(demo_collection: DemoCollection, perf: PerfRecorder) -> None:
    readers = demo_collection.readers()
    files = _case_files(demo_collection)
    assert all(path.name.endswith(".gz") for path in files)  # the baseline below must cover every file

    def full_pass() -> None:
        for reader in readers:
            run_cases(reader, full=True, cache_dir=None, workers=1)

    def gunzip() -> None:
        for path in files:
            gzip.decompress(path.read_bytes())

    # One worker on both sides: the ratio is a cost per core, independent of how busy the machine is.
    timing = perf.side_by_side(full_pass, gunzip, rounds=3, warmup_rounds=1)

    cases = sum(len(reader.discover().entries) for reader in readers)
    datasets = ", ".join(card.id for card in demo_collection.cards)
    perf.info(what=f"run_cases(full=True, cache_dir=None, workers=1) over {datasets} (subject) vs gzip.decompress "
                   f"of the same {len(files)} files (baseline)",
              cases=cases, files=len(files), compressed_mb=sum(p.stat().st_size for p in files) / 1e6,
              full_pass_s=timing.subject_median_s, gunzip_s=timing.baseline_median_s,
              ms_per_case=timing.subject_median_s / cases * 1e3)
    perf.target("full_pass_over_gunzip", timing.ratio, FULL_PASS_OVER_GUNZIP_TARGET,
                "full fingerprint pass time over gunzip time of the same files, one core each")


def test_full_pass_against_gunzip_on_a_large_case(large_case: LargeCase, perf: PerfRecorder) -> None:
    """The same ratio on one 512 x 512 x 300 CT-like case, where decoding rather than per-file costs dominates."""
    reader = large_case.dataset.reader()
    files = (large_case.image, large_case.label)

    def gunzip() -> None:
        for path in files:
            gzip.decompress(path.read_bytes())

    timing = perf.side_by_side(lambda: run_cases(reader, full=True, cache_dir=None, workers=1), gunzip, rounds=3)

    perf.info(what="run_cases(full=True, cache_dir=None, workers=1) over one 512x512x300 int16 case with 3 objects "
                   "(subject) vs gzip.decompress of its image and label (baseline)",
              full_pass_s=timing.subject_median_s, gunzip_s=timing.baseline_median_s,
              compressed_mb=sum(p.stat().st_size for p in files) / 1e6)
    perf.target("full_pass_over_gunzip_large", timing.ratio, FULL_PASS_OVER_GUNZIP_TARGET,
                "full fingerprint pass time over gunzip time of one 512x512x300 case, one core each")


def test_warm_cache_against_cold(demo_collection: DemoCollection, perf: PerfRecorder,
                                 tmp_path: Path) -> None:
    readers = demo_collection.readers()
    cache_dir = tmp_path / "cache"
    cold: list[CasePass] = []
    warm: list[CasePass] = []

    def cold_pass() -> None:
        shutil.rmtree(cache_dir, ignore_errors=True)
        cold.extend(run_cases(reader, full=True, cache_dir=cache_dir) for reader in readers)

    def warm_pass() -> None:
        warm.extend(run_cases(reader, full=True, cache_dir=cache_dir) for reader in readers)

    # Each round: a cold pass that fills an emptied cache (baseline), then a warm pass that reads it (subject).
    timing = perf.side_by_side(warm_pass, cold_pass, rounds=3)

    last_warm = warm[-len(readers):]
    assert all(p.from_cache == len(p.fingerprints) > 0 and p.errors == () for p in last_warm)
    assert [p.fingerprints for p in last_warm] == [p.fingerprints for p in cold[-len(readers):]]
    cases = sum(len(p.fingerprints) for p in last_warm)
    datasets = ", ".join(card.id for card in demo_collection.cards)
    perf.info(what=f"run_cases(full=True) with a warm cache (subject) vs with an emptied one (baseline) over "
                   f"{datasets} (default workers)",
              cases=cases, warm_s=timing.subject_median_s, cold_s=timing.baseline_median_s,
              speedup=1.0 / timing.ratio)
    perf.target("warm_cache_pass_s", timing.subject_median_s, WARM_CACHE_TARGET_S,
                f"seconds of a second full pass over {cases} cached cases")
