"""Fixtures of the pytest-benchmark suite: synthetic datasets built once per session, and timing helpers.

Every test under ``tests/perf`` is skipped unless pytest runs with ``--benchmark-enable`` (``nox -s perf``), so the
ordinary test run (``nox -s tests``, which passes ``--benchmark-disable``) never spends minutes on them.

Speed targets are ratios measured side by side in one run (the subject and its baseline alternate round by round, so
load from other processes hits both sides alike) and are checked softly: a missed target is recorded in the
benchmark's ``extra_info``, warned about, and listed at the end of the session, but never fails a test. Absolute
seconds are reported, never asserted.
"""

from __future__ import annotations

import gzip
import statistics
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from benchmark.data.cards import DatasetCard
from benchmark.data.readers.base import LayoutReader
from benchmark.data.readers.paired_folders import PairedFoldersReader
from tests.cards import card
from tests.synthetic import labelled_phantom, write_nifti

if TYPE_CHECKING:
    from pytest_benchmark.fixture import BenchmarkFixture

__all__ = [
    "PerfTargetWarning",
    "TargetCheck",
    "SideBySide",
    "PerfRecorder",
    "F1Dataset",
    "LargeCase",
    "DemoCollection",
    "f1_card",
    "LARGE_SHAPE",
    "SMALL_SHAPE",
    "MANY_CASES",
    "DEMO_NIFTI_IDS",
]

PERF_DIR = Path(__file__).resolve().parent
#: (X, Y, Z) of the large CT-like volume: a typical abdominal CT (157 MB of int16 voxels).
LARGE_SHAPE = (512, 512, 300)
#: (X, Y, Z) of the small volume whose header is read for comparison with the large one.
SMALL_SHAPE = (64, 64, 32)
#: Voxel size of the large and small volumes, in mm.
CT_SPACING = (0.8, 0.8, 1.5)
#: Cases of the many-small-files dataset (discovery and header-only pass).
MANY_CASES = 1000
#: Demo datasets stored as .nii.gz (the fourth, DEMO-DICOM, has no gzip baseline to compare with).
DEMO_NIFTI_IDS = ("DEMO-MSD", "DEMO-TS", "DEMO-CASE")
_SKIP_REASON = "performance benchmark: runs only with --benchmark-enable (nox -s perf)"


# ---- skipping without --benchmark-enable -------------------------------------------------------------------------

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every test under tests/perf (whatever its file) unless ``--benchmark-enable`` was given.

    This hook sees the items of the whole session, so it filters by path: tests elsewhere are left alone.
    """
    if config.getoption("benchmark_enable", default=False):
        return
    marker = pytest.mark.skip(reason=_SKIP_REASON)
    for item in items:
        if PERF_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(marker)


# ---- soft targets ------------------------------------------------------------------------------------------------

class PerfTargetWarning(UserWarning):
    """A speed target was missed (reported, never a failure: timings depend on the machine and its load)."""


@dataclass(frozen=True)
class TargetCheck:
    """One soft target: ``value`` should be at most ``limit``.

    Attributes:
        test: Node id of the benchmark.
        name: Short name of the measured quantity, e.g. ``"reader_over_sitk"``.
        value: The measured value (a ratio, or seconds).
        limit: The target's upper bound, same unit.
        what: What the value means, for the message.
    """

    test: str
    name: str
    value: float
    limit: float
    what: str

    @property
    def met(self) -> bool:
        return self.value <= self.limit

    def message(self) -> str:
        verdict = "met" if self.met else "MISSED"
        return f"{verdict}: {self.name} = {self.value:.3g} (target <= {self.limit:g}); {self.what} [{self.test}]"


_CHECKS = pytest.StashKey[list[TargetCheck]]()
_FIGURES = pytest.StashKey[dict[str, dict[str, Any]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_CHECKS] = []
    config.stash[_FIGURES] = {}


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the figures of every benchmark that used ``perf`` (baselines and ratios too), then the soft targets."""
    figures = {node: info for node, info in config.stash.get(_FIGURES, {}).items() if info}
    if figures:
        terminalreporter.section("performance figures (benchmark extra_info)")
        for node, info in figures.items():
            terminalreporter.write_line(f"{node.split('::')[-1]}: {info.get('what', '')}")
            values = ", ".join(f"{key}={_fmt(value)}" for key, value in info.items() if key != "what")
            terminalreporter.write_line(f"    {values}")
    checks = config.stash.get(_CHECKS, [])
    if checks:
        terminalreporter.section("performance targets (soft: reported, never failed)")
        for check in sorted(checks, key=lambda c: c.met):
            terminalreporter.write_line(check.message())


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# ---- timing ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SideBySide:
    """Medians of a subject and its baseline measured alternately in one run.

    Attributes:
        subject_median_s: Median seconds of one call of the subject (the benchmarked side).
        baseline_median_s: Median seconds of one call of the baseline.
        ratio: subject / baseline.
    """

    subject_median_s: float
    baseline_median_s: float
    ratio: float


class PerfRecorder:
    """Runs a benchmark and records its figures in ``benchmark.extra_info`` and the session's target list.

    Args:
        benchmark: The pytest-benchmark fixture of the test.
        config: The pytest config (holds the session's target list).
        node_id: The test's node id, for messages.
    """

    def __init__(self, benchmark: BenchmarkFixture, config: pytest.Config, node_id: str) -> None:
        self.benchmark = benchmark
        self.config = config
        self.node_id = node_id
        config.stash[_FIGURES][node_id] = benchmark.extra_info

    def info(self, **values: Any) -> None:
        """Add JSON-serialisable facts to the benchmark's ``extra_info``."""
        self.benchmark.extra_info.update(values)

    def run(self, subject: Callable[[], object], *, rounds: int, warmup_rounds: int = 0,
            setup: Callable[[], None] | None = None) -> float:
        """Time ``subject`` for ``rounds`` rounds of one call; return and record the median in seconds.

        Args:
            subject: The code measured.
            rounds: Measured rounds.
            warmup_rounds: Unmeasured rounds first (warm caches, lazy imports).
            setup: Called, untimed, before each round (e.g. to empty a cache).
        """
        def _setup() -> None:
            if setup is not None:
                setup()

        self.benchmark.pedantic(subject, setup=_setup, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1)
        median = self._median()
        self.info(median_s=median)
        return median

    def side_by_side(self, subject: Callable[[], object], baseline: Callable[[], object], *, rounds: int,
                     warmup_rounds: int = 0, baseline_calls: int = 1) -> SideBySide:
        """Time ``subject`` (through pytest-benchmark) and ``baseline`` alternately; record both and their ratio.

        The baseline runs, timed with ``time.perf_counter``, in the untimed setup of each round of the subject, so
        both sides see the same page cache and the same load from other processes.

        Args:
            subject: The code whose cost is judged (reported as the benchmark).
            baseline: What it is compared with.
            rounds: Measured rounds of each side.
            warmup_rounds: Unmeasured rounds of each side first.
            baseline_calls: Baseline calls per round, averaged (for baselines of a few milliseconds).
        """
        baseline_s: list[float] = []

        def timed_baseline() -> None:
            start = time.perf_counter()
            for _ in range(baseline_calls):
                baseline()
            baseline_s.append((time.perf_counter() - start) / baseline_calls)

        self.benchmark.pedantic(subject, setup=timed_baseline, rounds=rounds, warmup_rounds=warmup_rounds,
                                iterations=1)
        # Setup also runs before warm-up rounds (and once more under --benchmark-cprofile): keep the measured ones.
        measured = baseline_s[warmup_rounds:warmup_rounds + rounds]
        subject_s, reference_s = self._median(), statistics.median(measured)
        result = SideBySide(subject_s, reference_s, subject_s / reference_s)
        self.info(subject_median_s=result.subject_median_s, baseline_median_s=result.baseline_median_s,
                  baseline_min_s=min(measured), baseline_rounds=len(measured), ratio=result.ratio)
        return result

    def target(self, name: str, value: float, limit: float, what: str) -> TargetCheck:
        """Check ``value <= limit`` softly: record it in ``extra_info``, warn and print when it is missed."""
        check = TargetCheck(self.node_id, name, float(value), float(limit), what)
        self.info(**{name: check.value, f"{name}_target": check.limit, f"{name}_met": check.met})
        self.config.stash[_CHECKS].append(check)
        if not check.met:
            print(check.message())
            warnings.warn(PerfTargetWarning(check.message()), stacklevel=2)
        return check

    def _median(self) -> float:
        stats = self.benchmark.stats
        if stats is None:  # benchmarks disabled: nothing was measured
            pytest.skip(_SKIP_REASON)
        return float(stats.stats.median)


@pytest.fixture
def perf(benchmark: BenchmarkFixture, request: pytest.FixtureRequest) -> PerfRecorder:
    """A PerfRecorder bound to this test's ``benchmark`` fixture."""
    return PerfRecorder(benchmark, request.config, request.node.nodeid)


# ---- synthetic data ----------------------------------------------------------------------------------------------

def f1_card(dataset_id: str, objects: Mapping[str, str]) -> DatasetCard:
    """A card of layout family F1 (``imagesTr``/``labelsTr``, no dataset.json) with one CT channel."""
    return card(objects, options={"dataset_json": ""}, dataset_id=dataset_id, name=f"perf set {dataset_id}",
                path=Path(f"{dataset_id}.toml"))


@dataclass(frozen=True)
class F1Dataset:
    """A dataset folder in layout F1 with its card and its number of cases."""

    root: Path
    card: DatasetCard
    cases: int

    def reader(self) -> PairedFoldersReader:
        return PairedFoldersReader(self.card, self.root)


@dataclass(frozen=True)
class LargeCase:
    """One 512 x 512 x 300 int16 CT-like case as .nii.gz, and a small volume for header comparisons.

    Attributes:
        dataset: F1 dataset holding the case (objects liver, kidney, aorta).
        image: The image file, LPS-stored like dcm2niix output (the reader flips x and y).
        label: Its label map (uint8).
        small_image: A 64 x 64 x 32 int16 .nii.gz with the same header layout.
        shape: (X, Y, Z) of ``image``.
        small_shape: (X, Y, Z) of ``small_image``.
    """

    dataset: F1Dataset
    image: Path
    label: Path
    small_image: Path
    shape: tuple[int, int, int] = LARGE_SHAPE
    small_shape: tuple[int, int, int] = SMALL_SHAPE


@dataclass(frozen=True)
class DemoCollection:
    """The .nii.gz datasets of the demo collection, written once, with their cards."""

    roots: tuple[Path, ...]
    cards: tuple[DatasetCard, ...]

    def readers(self) -> tuple[LayoutReader, ...]:
        from benchmark.data.dataset import open_reader

        return tuple(open_reader(card, root) for card, root in zip(self.cards, self.roots, strict=True))


def _lps_affine(spacing: tuple[float, float, float]) -> np.ndarray:
    """Voxel-to-RAS affine of an array stored with x and y pointing left and posterior (as CT converters write)."""
    return np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])


def _ct_phantom(shape: tuple[int, int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A CT-like int16 image (air, body, three organs, noise) and its uint8 label map (1-3), both (X, Y, Z).

    Organs are elliptic cylinders over a z range, built from 2D masks, so that building 78 M voxels stays cheap.
    """
    nx, ny, nz = shape
    x = np.arange(nx, dtype=np.float32)[:, None] / nx
    y = np.arange(ny, dtype=np.float32)[None, :] / ny
    body = ((x - 0.5) / 0.43) ** 2 + ((y - 0.5) / 0.31) ** 2 <= 1
    organs = (((x - 0.39) / 0.12) ** 2 + ((y - 0.45) / 0.10) ** 2 <= 1,   # liver
              ((x - 0.65) / 0.04) ** 2 + ((y - 0.60) / 0.05) ** 2 <= 1,   # kidney
              ((x - 0.52) / 0.02) ** 2 + ((y - 0.58) / 0.02) ** 2 <= 1)   # aorta
    z_ranges = ((nz * 0.27, nz * 0.73), (nz * 0.35, nz * 0.6), (0, nz))
    hounsfield = (60, 30, 200)
    image = np.full(shape, -1000, dtype=np.int16)
    label = np.zeros(shape, dtype=np.uint8)
    image[body] = 40
    for value, (mask, (z0, z1), hu) in enumerate(zip(organs, z_ranges, hounsfield, strict=True), start=1):
        image[mask, int(z0):int(z1)] = hu
        label[mask, int(z0):int(z1)] = value
    # One block of noise reused along z: cheap to draw, and gzip's 32 KiB window cannot exploit the repetition, so
    # the file compresses about as a real scan does (noise inside the body, uniform air outside).
    rng = np.random.default_rng(seed)
    block = min(nz, 30)
    noise = rng.integers(-12, 13, size=(nx, ny, block), dtype=np.int16)[body]
    for z0 in range(0, nz, block):
        width = min(block, nz - z0)
        image[body, z0:z0 + width] += noise[:, :width]
    return image, label


def _write_nifti_gz(path: Path, array: np.ndarray, affine: np.ndarray) -> Path:
    """Write NIfTI-1 gzip-compressed at level 1 (level 6 costs about 6 s more on 157 MB, for 3% smaller files)."""
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    raw = nib.Nifti1Image(array, affine).to_bytes()
    path.write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    return path


@pytest.fixture(scope="session")
def large_case(tmp_path_factory: pytest.TempPathFactory) -> LargeCase:
    """The 512 x 512 x 300 case (about 4 s to build, once per session)."""
    root = tmp_path_factory.mktemp("large-f1")
    image, label = _ct_phantom(LARGE_SHAPE, seed=0)
    affine = _lps_affine(CT_SPACING)
    image_path = _write_nifti_gz(root / "imagesTr" / "ct_000.nii.gz", image, affine)
    label_path = _write_nifti_gz(root / "labelsTr" / "ct_000.nii.gz", label, affine)
    del image, label
    small, _ = _ct_phantom(SMALL_SHAPE, seed=1)
    small_path = _write_nifti_gz(tmp_path_factory.mktemp("small") / "small.nii.gz", small, affine)
    card = f1_card("PERF-LARGE", {"1": "liver", "2": "kidney", "3": "aorta"})
    return LargeCase(F1Dataset(root, card, 1), image_path, label_path, small_path)


@pytest.fixture(scope="session")
def many_cases(tmp_path_factory: pytest.TempPathFactory) -> F1Dataset:
    """An F1 dataset of MANY_CASES tiny cases (16 x 16 x 8 voxels; the same bytes in every file)."""
    root = tmp_path_factory.mktemp("many-f1")
    template = tmp_path_factory.mktemp("many-template")
    image, label = labelled_phantom((16, 16, 8), seed=0)
    image_bytes = write_nifti(template / "image.nii.gz", image).read_bytes()
    label_bytes = write_nifti(template / "label.nii.gz", label).read_bytes()
    for folder, content in (("imagesTr", image_bytes), ("labelsTr", label_bytes)):
        (root / folder).mkdir()
        for index in range(MANY_CASES):
            (root / folder / f"case_{index:04d}.nii.gz").write_bytes(content)
    return F1Dataset(root, f1_card("PERF-MANY", {"1": "liver", "2": "liver tumour"}), MANY_CASES)


@pytest.fixture(scope="session")
def demo_collection(tmp_path_factory: pytest.TempPathFactory) -> DemoCollection:
    """The demo collection's .nii.gz datasets (DEMO_NIFTI_IDS), the same phantoms ``write_demo`` writes for seed 0."""
    from benchmark.data.catalog import load_catalog
    from benchmark.demo.collection import demo_dataset, write_dataset

    dest = tmp_path_factory.mktemp("demo")
    catalog = load_catalog()
    roots = tuple(write_dataset(demo_dataset(dataset_id), dest / dataset_id, seed=0) for dataset_id in DEMO_NIFTI_IDS)
    return DemoCollection(roots, tuple(catalog.get(dataset_id) for dataset_id in DEMO_NIFTI_IDS))
