"""Sampling the reader study's volumes (the paper's supplementary S2).

The paper sampled 50 volumes "that contain at least 50 different segmentation objects", each volume "designated a
different segmentation object" than every other. Made exact:

- A **volume** is one case of one dataset. An **object** is a name of the cards' object tables (``liver`` of one
  dataset and ``liver`` of another are one object).
- A volume's **candidates** are the objects the prompt protocol would prompt in it: present in the case, and
  :func:`benchmark.protocol.object_prompts.simulate_object` (default protocol options with the run seed, the default
  setting) returns prompts rather than a ``SkippedObject`` (its guide slice holds more than 100 pixels).
- The sample is a maximum bipartite matching between volumes and objects (``benchmark.reader_study.matching``): n
  volumes, each assigned one of its candidates, no object assigned twice, so at least n different objects occur.

**Reading order and stopping (lazy).** Candidates are known only after reading a case's masks, which for a large
collection means fetching and decoding thousands of label files. Discovery (file names only) lists every volume of the
chosen datasets; the volumes are sorted by (dataset, case) and permuted with ``numpy.random.default_rng(seed)``, and
read one at a time in that order. Adding a volume raises the maximum matching by at most one, so after each volume
whose candidates could matter (once the volumes with candidates and the distinct objects seen both reach n) the
matching size is computed again, and reading stops as soon as it reaches n: the sample is a maximum matching of the
shortest seeded prefix of volumes that has one of size n. The matching is then recomputed with the object names
permuted by the same generator, so which of a volume's candidates it gets is seeded too, and the matched volumes are
listed in reading order. If the whole collection is read without reaching n, :class:`InsufficientDataError` says how
many volumes (and distinct objects) a matching can have. A case that cannot be read is recorded and skipped.

One seed and one set of installed datasets (at their data versions) give one sample.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from benchmark.data.case import CaseEntry
from benchmark.data.readers.base import LayoutReader
from benchmark.errors import BenchmarkError, CaseError
from benchmark.protocol.object_prompts import ObjectKey, ObjectPrompts, ProtocolOptions, simulate_object
from benchmark.protocol.settings import DEFAULT_POINT
from benchmark.reader_study.matching import BipartiteGraph

__all__ = ["ObjectCandidate", "Assignment", "ReaderSample", "InsufficientDataError", "sample_volumes"]

#: Called after each volume read: (volumes read, volumes discovered).
Progress = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class ObjectCandidate:
    """What the manifest needs of one promptable object of a volume (default setting, axial plane).

    Attributes:
        guide_slice: Axial slice index of the prompts.
        box2d: (x0, y0, x1, y1), half-open voxel indices on the guide slice.
        box3d: (x0, y0, z0, x1, y1, z1), half-open voxel indices.
    """

    guide_slice: int
    box2d: tuple[int, int, int, int]
    box3d: tuple[int, int, int, int, int, int]


@dataclass(frozen=True, kw_only=True)
class _Volume:
    dataset_id: str
    case_id: str
    data_version: str
    candidates: Mapping[str, ObjectCandidate]


@dataclass(frozen=True, kw_only=True)
class Assignment:
    """One volume of the sample and the object a reader prompts in it.

    Attributes:
        dataset_id: Catalog ID.
        case_id: Case identifier within the dataset.
        object_name: The assigned object (no other volume of the sample has it).
        data_version: The dataset's DataLad commit the case was read from.
        prompts: Its guide slice and boxes.
    """

    dataset_id: str
    case_id: str
    object_name: str
    data_version: str
    prompts: ObjectCandidate


@dataclass(frozen=True, kw_only=True)
class ReaderSample:
    """The sampled volumes and how they were found.

    Attributes:
        n: Volumes asked for (and given).
        seed: The run seed.
        assignments: The volumes in reading order, each with its object.
        cases_read: Volumes whose masks were read before the matching reached n.
        cases_total: Volumes discovered in the chosen datasets.
        errors: Cases (or files) that could not be read; they were skipped.
    """

    n: int
    seed: int
    assignments: tuple[Assignment, ...]
    cases_read: int
    cases_total: int
    errors: tuple[CaseError, ...]


class InsufficientDataError(BenchmarkError, ValueError):
    """The chosen datasets cannot give n volumes with distinct objects.

    Attributes:
        possible_volumes: Size of a maximum matching over every volume (the largest feasible n).
        distinct_objects: Distinct promptable objects over every volume.
        volumes_with_objects: Volumes holding at least one promptable object.
    """

    def __init__(self, message: str, *, possible_volumes: int, distinct_objects: int,
                 volumes_with_objects: int) -> None:
        super().__init__(message)
        self.possible_volumes = possible_volumes
        self.distinct_objects = distinct_objects
        self.volumes_with_objects = volumes_with_objects


def _candidate(prompts: ObjectPrompts) -> ObjectCandidate:
    return ObjectCandidate(guide_slice=prompts.slice_index, box2d=prompts.box2d.box, box3d=prompts.box3d.box)


def _read_volume(reader: LayoutReader, entry: CaseEntry, options: ProtocolOptions) -> _Volume:
    """The promptable objects of one case (masks read, then released)."""
    case = reader.open_case(entry)
    try:
        candidates: dict[str, ObjectCandidate] = {}
        for name in case.objects:
            mask = case.mask(name)
            if not mask.any():
                continue
            key = ObjectKey(case.dataset_id, case.case_id, name, DEFAULT_POINT.prompt_key)
            drawn = simulate_object(mask, key, DEFAULT_POINT, options)
            if isinstance(drawn, ObjectPrompts):
                candidates[name] = _candidate(drawn)
        return _Volume(dataset_id=case.dataset_id, case_id=case.case_id, data_version=case.data_version,
                       candidates=candidates)
    finally:
        case.release()


def _seeded_order(readers: Sequence[LayoutReader], rng: np.random.Generator,
                  errors: list[CaseError]) -> list[tuple[LayoutReader, CaseEntry]]:
    items: list[tuple[LayoutReader, CaseEntry]] = []
    for reader in readers:
        found = reader.discover()
        errors.extend(found.errors)
        items += [(reader, entry) for entry in found.entries]
    items.sort(key=lambda item: (item[0].card.id, item[1].case_id))
    return [items[i] for i in rng.permutation(len(items))]


def _check_arguments(readers: Sequence[LayoutReader], n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"argument n: expected a number of volumes of at least 1, got {n!r}")
    ids = [reader.card.id for reader in readers]
    if len(set(ids)) != len(ids):
        raise ValueError(f"argument readers: each dataset once, got {ids}")


def sample_volumes(readers: Sequence[LayoutReader], *, n: int, seed: int,
                   progress: Progress | None = None) -> ReaderSample:
    """Sample ``n`` volumes, each assigned a promptable object no other volume is assigned (see the module docstring).

    Args:
        readers: One opened reader per dataset to sample from.
        n: Volumes (and distinct objects) wanted.
        seed: Seed of the reading order, of the matching's object order and of the prompts' box jitter.
        progress: Called after each volume read.

    Raises:
        InsufficientDataError: Every volume was read and a matching still has fewer than ``n`` volumes; the message
            gives the largest feasible n and the distinct objects found.
        ValueError: ``n`` below 1, or a dataset given twice.
    """
    _check_arguments(readers, n)
    rng = np.random.default_rng(seed)
    options = ProtocolOptions(seed=seed)
    errors: list[CaseError] = []
    order = _seeded_order(readers, rng, errors)
    volumes: list[_Volume] = []  # those with a candidate, in reading order: the rows of ``graph``
    graph = BipartiteGraph()
    read = 0
    for reader, entry in order:
        read += 1
        try:
            volume = _read_volume(reader, entry, options)
        except (BenchmarkError, OSError, ValueError, KeyError) as err:
            path = entry.image_files[0] if entry.image_files else None
            errors.append(CaseError(dataset_id=reader.card.id, case_id=entry.case_id, path=path, message=str(err)))
            continue
        finally:
            if progress is not None:
                progress(read, len(order))
        if not volume.candidates:
            continue
        volumes.append(volume)
        graph.add_volume(volume.candidates)
        if min(graph.n_volumes, len(graph.objects)) >= n and graph.matching_size() >= n:
            break
    objects = sorted(graph.objects)
    rng.shuffle(objects)
    matched = graph.match(objects)
    found = sum(name is not None for name in matched)
    if found < n:
        raise _insufficient(n, found, volumes, set(objects), len(order), errors)
    assignments = tuple(Assignment(dataset_id=v.dataset_id, case_id=v.case_id, object_name=name,
                                   data_version=v.data_version, prompts=v.candidates[name])
                        for v, name in zip(volumes, matched, strict=True) if name is not None)
    return ReaderSample(n=n, seed=seed, assignments=assignments[:n], cases_read=read, cases_total=len(order),
                        errors=tuple(errors))


def _insufficient(n: int, found: int, volumes: Sequence[_Volume], names: set[str], total: int,
                  errors: Sequence[CaseError]) -> InsufficientDataError:
    listed = ", ".join(sorted(names)[:20]) + (", ..." if len(names) > 20 else "")
    unread = f"; {len(errors)} case(s) or file(s) could not be read and were skipped" if errors else ""
    return InsufficientDataError(
        f"the installed data cannot give {n} volumes with distinct objects: at most {found} volume(s) can each be "
        f"assigned an object no other volume has, over {len(names)} distinct promptable object(s) "
        f"({listed or 'none'}) in {len(volumes)} of {total} volume(s){unread}; ask for --n {found} or fewer, "
        f"or add datasets", possible_volumes=found, distinct_objects=len(names), volumes_with_objects=len(volumes))
