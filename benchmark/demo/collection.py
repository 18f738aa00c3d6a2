"""The demo collection: four small synthetic datasets in native layouts, installed like real data.

``write_demo`` writes each dataset's native folder from seeded phantoms; ``build_demo`` writes them and installs each
into the DataLad data home through ``DataHome.install``, the path real datasets take, so that the demo exercises
DataLad, the cards and the family readers end to end. The collection is the default data of every command: small
enough (about 15 MB, 42 labelled cases, written in about 10 s) for the whole benchmark, training a small PropSAM
included, on two CPU cores.

| ID | family | modality | cases | voxels | spacing (mm) |
|---|---|---|---|---|---|
| DEMO-MSD | F1, MSD task with 4D two-channel images | MR (T1, T2) | 10 + 1 unlabelled | 96 x 96 x 24 | 1.2 isotropic |
| DEMO-TS | F4, TotalSegmentator per-structure masks | CT | 10 | 96 x 96 x 32 | 1.5 isotropic |
| DEMO-CASE | F2, one folder per case (KiTS) | CT | 12 | 96 x 96 x 24 | 0.8 x 0.8 x 5 |
| DEMO-DICOM | F6, DICOM series with DICOM-SEG | CT | 10 | 96 x 96 x 24 | 0.78 x 0.78 x 2.5 |

Every case holds the four phantom structures (liver, kidney, vessel, lesion); see benchmark.demo.phantoms.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from benchmark.data.enums import LayoutFamily
from benchmark.demo.phantoms import PhantomSpec, Structure, make_phantom
from benchmark.demo.writers import DemoCase, write_dicom, write_kits, write_msd, write_totalsegmentator
from benchmark.home.transactions import process_alive

if TYPE_CHECKING:
    from benchmark.data.cards import DatasetCard
    from benchmark.data.catalog import Catalog
    from benchmark.home.data_home import DataHome, InstallResult

__all__ = [
    "DemoDataset",
    "DEMO_DATASETS",
    "DICOM_COLLECTION",
    "demo_dataset",
    "demo_cases",
    "write_dataset",
    "write_demo",
    "build_demo",
]

_LOG = logging.getLogger(__name__)

#: Writes one dataset's native folder: (root, labelled cases, unlabelled cases, spec, seed).
_Writer = Callable[[Path, tuple[DemoCase, ...], tuple[DemoCase, ...], "DemoDataset", int], None]


@dataclass(frozen=True)
class DemoDataset:
    """One dataset of the demo collection.

    Attributes:
        id: Catalog ID; its card is ``datasets/demo/<...>.toml`` with the same ``id``.
        family: Layout family of the native folder.
        stream: Index mixed into the seed, so that the datasets draw independent phantoms.
        cases: Number of labelled cases.
        spec: Shape, spacing, contrasts and noise of every case.
        objects: Structure name to the card's object key (label value, file key or SegmentLabel), in label order.
        case_ids: Template of the native case ids, with ``{n}`` (the case number).
        first_number: Number of the first case (MSD and KiTS count from 0, TotalSegmentator and NBIA from 1).
        unlabelled: Extra cases written without labels (MSD ``imagesTs``); never cases of the dataset.
    """

    id: str
    family: LayoutFamily
    stream: int
    cases: int
    spec: PhantomSpec
    objects: Mapping[str, str]
    case_ids: str
    first_number: int = 0
    unlabelled: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", MappingProxyType(dict(self.objects)))

    def case_id(self, index: int) -> str:
        """Native id of the ``index``-th case (0-based; labelled cases first, then unlabelled ones)."""
        return self.case_ids.format(n=self.first_number + index)


_ORDER = (Structure.LIVER.value, Structure.KIDNEY.value, Structure.VESSEL.value, Structure.LESION.value)

#: The collection (``write_demo`` and ``build_demo`` follow this order).
DEMO_DATASETS: tuple[DemoDataset, ...] = (
    DemoDataset(
        id="DEMO-MSD", family=LayoutFamily.PAIRED_FOLDERS, stream=1, cases=10, unlabelled=1,
        spec=PhantomSpec((96, 96, 24), (1.2, 1.2, 1.2), channels=("T1", "T2"), noise=5.0, bias=0.2),
        objects=dict(zip(_ORDER, ("1", "2", "3", "4"), strict=True)), case_ids="abdomen_{n:02d}",
    ),
    DemoDataset(
        id="DEMO-TS", family=LayoutFamily.PER_STRUCTURE, stream=2, cases=10,
        spec=PhantomSpec((96, 96, 32), (1.5, 1.5, 1.5), noise=8.0),
        objects=dict(zip(_ORDER, ("liver", "kidney_left", "aorta", "liver_lesion"), strict=True)),
        case_ids="s{n:04d}", first_number=1,
    ),
    DemoDataset(
        id="DEMO-CASE", family=LayoutFamily.CASE_FOLDERS, stream=3, cases=12,
        spec=PhantomSpec((96, 96, 24), (0.8, 0.8, 5.0), noise=8.0),
        objects=dict(zip((Structure.KIDNEY.value, Structure.LIVER.value, Structure.VESSEL.value,
                          Structure.LESION.value), ("1", "2", "3", "4"), strict=True)),
        case_ids="case_{n:05d}",
    ),
    DemoDataset(
        id="DEMO-DICOM", family=LayoutFamily.DICOM, stream=4, cases=10,
        spec=PhantomSpec((96, 96, 24), (0.78, 0.78, 2.5), noise=8.0),
        objects=dict(zip(_ORDER, ("Liver", "Kidney", "Vessel", "Lesion"), strict=True)),
        case_ids="Demo-{n:03d}", first_number=1,
    ),
)

#: Folder of the DICOM collection inside DEMO-DICOM (the card's ``case_glob`` is ``"<this>/*"``).
DICOM_COLLECTION = "Demo-CT-Seg"


def demo_dataset(dataset_id: str) -> DemoDataset:
    """The demo dataset of ``dataset_id``.

    Raises:
        KeyError: Not a demo dataset; the message lists the demo IDs.
    """
    for dataset in DEMO_DATASETS:
        if dataset.id == dataset_id:
            return dataset
    raise KeyError(f"{dataset_id!r} is not a demo dataset; expected one of {[d.id for d in DEMO_DATASETS]}")


def demo_cases(dataset: DemoDataset, seed: int = 0) -> tuple[tuple[DemoCase, ...], tuple[DemoCase, ...]]:
    """The phantoms of one demo dataset: its labelled cases and its unlabelled ones.

    Case ``i`` is drawn from ``numpy.random.default_rng([seed, dataset.stream, i])``, so each case is reproducible on
    its own.
    """
    cases = tuple(
        DemoCase(dataset.case_id(i), make_phantom(dataset.spec, np.random.default_rng([seed, dataset.stream, i])))
        for i in range(dataset.cases + dataset.unlabelled)
    )
    return cases[:dataset.cases], cases[dataset.cases:]


def _labels(dataset: DemoDataset) -> dict[str, int]:
    return {name: int(key) for name, key in dataset.objects.items()}


def _write_msd(root: Path, cases: tuple[DemoCase, ...], unlabelled: tuple[DemoCase, ...], dataset: DemoDataset,
               seed: int) -> None:
    write_msd(root, cases, task="Task00_DemoAbdomenMR", labels=_labels(dataset), test_cases=unlabelled,
              description=f"PropSAM Bench demo: synthetic abdominal MR phantoms, seed {seed}")


def _write_ts(root: Path, cases: tuple[DemoCase, ...], unlabelled: tuple[DemoCase, ...], dataset: DemoDataset,
              seed: int) -> None:
    splits = {case.case_id: ("val" if i % 5 == 4 else "train") for i, case in enumerate(cases)}
    write_totalsegmentator(root, cases, files=dataset.objects, splits=splits)


def _write_kits(root: Path, cases: tuple[DemoCase, ...], unlabelled: tuple[DemoCase, ...], dataset: DemoDataset,
                seed: int) -> None:
    write_kits(root, cases, labels=_labels(dataset))


def _write_dicom(root: Path, cases: tuple[DemoCase, ...], unlabelled: tuple[DemoCase, ...], dataset: DemoDataset,
                 seed: int) -> None:
    write_dicom(root, cases, collection=DICOM_COLLECTION, segments=dataset.objects, seed=seed)


_WRITERS: dict[LayoutFamily, _Writer] = {
    LayoutFamily.PAIRED_FOLDERS: _write_msd,
    LayoutFamily.PER_STRUCTURE: _write_ts,
    LayoutFamily.CASE_FOLDERS: _write_kits,
    LayoutFamily.DICOM: _write_dicom,
}


def write_dataset(dataset: DemoDataset, root: Path, seed: int = 0) -> Path:
    """Write one demo dataset's native folder at ``root``, replacing whatever was there.

    The folder is written beside ``root`` and swapped in complete, so a failure or a kill midway leaves the previous
    folder (which a data home may fetch content from) as it was; half-written folders of dead processes are removed.
    """
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    for leftover in root.parent.glob(f".{root.name}.*-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(leftover)
    partial = root.parent / f".{root.name}.partial-{os.getpid()}"
    previous = root.parent / f".{root.name}.previous-{os.getpid()}"
    for stale in (partial, previous):
        if stale.exists():
            shutil.rmtree(stale)
    partial.mkdir()
    try:
        labelled, unlabelled = demo_cases(dataset, seed)
        _WRITERS[dataset.family](partial, labelled, unlabelled, dataset, seed)
        if root.exists():
            os.rename(root, previous)
        os.rename(partial, root)
    except BaseException:
        if previous.exists() and not root.exists():
            os.rename(previous, root)
        raise
    finally:
        for leftover in (partial, previous):
            if leftover.exists():
                shutil.rmtree(leftover)
    return root



def write_demo(dest: Path, seed: int = 0) -> tuple[Path, ...]:
    """Write every demo dataset into ``dest/<ID>`` (each folder replaced), deterministically for ``seed``.

    Returns:
        The dataset folders, in the order of ``DEMO_DATASETS``.
    """
    dest = Path(dest)
    return tuple(write_dataset(dataset, dest / dataset.id, seed) for dataset in DEMO_DATASETS)


def build_demo(home: DataHome, sources: Path, seed: int = 0, *,
               catalog: Catalog | None = None) -> tuple[InstallResult, ...]:
    """Write the demo datasets into ``sources/<ID>`` and install each into the data home as a ``folder`` source.

    The data home registers the files of ``sources/<ID>`` without copying them (see benchmark.home.data_home) and
    fetches their content from there on demand, so ``sources`` must be kept as long as the data home uses it. A demo
    dataset already installed in ``home`` is left as it is: its native folder is not rewritten (that would change
    content the data home recorded), and its result has ``already_installed`` set. The folder of a dataset not
    installed yet is rewritten; files are byte-for-byte reproducible for one seed, so another data home that
    registered the same folder with the same seed stays intact.

    Args:
        home: The DataLad data home (created if needed).
        sources: Folder that keeps the generated native folders, one per dataset ID; it must lie outside ``home``.
        seed: Seed of the phantoms of datasets installed now.
        catalog: Cards to install with (default: the catalog of ``datasets/``).

    Returns:
        One install result per demo dataset, in the order of ``DEMO_DATASETS``.

    Raises:
        UnknownDatasetError: The catalog lacks the card of a demo dataset.
        InstallError: ``sources`` overlaps the data home.
        DataLadError: A DataLad step failed.
    """
    from benchmark.data.catalog import load_catalog
    from benchmark.errors import InstallError
    from benchmark.home.data_home import InstallResult
    from benchmark.home.sources import SourceKind

    folder = Path(sources).expanduser().resolve()
    if folder.is_relative_to(home.path) or home.path.is_relative_to(folder):
        raise InstallError(f"argument sources: {folder} overlaps the data home {home.path}; expected a folder "
                           f"outside it that does not contain it (the default is beside the data home)")
    cards = catalog if catalog is not None else load_catalog()
    home.ensure()
    results = []
    for dataset in DEMO_DATASETS:
        card: DatasetCard = cards.get(dataset.id)
        if home.is_installed(dataset.id):
            state = home.status(dataset.id)[0]
            _LOG.info("demo dataset %s is already installed in %s; left as it is", dataset.id, state.path)
            results.append(InstallResult(dataset.id, state.path, state.commit, state.source,
                                         state.source_kind or SourceKind.FOLDER, already_installed=True))
            continue
        root = write_dataset(dataset, folder / dataset.id, seed)
        _LOG.info("installing demo dataset %s from %s", dataset.id, root)
        results.append(home.install(card, root, kind=SourceKind.FOLDER))
        home.get(dataset.id)  # one fetch of the whole (small) dataset instead of one per case on first read
    return tuple(results)
