"""Assigning objects to volumes: a maximum bipartite matching between volumes and object names.

A volume may be assigned any one of its candidate objects; no object is assigned twice. scipy's Hopcroft-Karp
matching explores each volume's objects in column order, so the caller randomises the result by ordering the volumes
(rows) and the object names (columns) with a seeded generator.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

__all__ = ["match_objects", "matching_size"]


def match_objects(candidates: Sequence[Collection[str]], objects: Sequence[str]) -> tuple[str | None, ...]:
    """A maximum matching of volumes to objects.

    Args:
        candidates: For each volume (row), the names of the objects it may be assigned.
        objects: Every object name once, in the column order the matching explores them.

    Returns:
        For each volume, its assigned object name, or None when it is left unmatched.

    Raises:
        ValueError: ``objects`` repeats a name, or a candidate is not in ``objects``.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    column = {name: j for j, name in enumerate(objects)}
    if len(column) != len(objects):
        raise ValueError(f"argument objects: names must be unique, got {list(objects)}")
    rows: list[int] = []
    columns: list[int] = []
    for i, names in enumerate(candidates):
        for name in names:
            if name not in column:
                raise ValueError(f"volume {i} lists object {name!r}, which is not among the objects {list(objects)}")
            rows.append(i)
            columns.append(column[name])
    if not candidates:
        return ()
    graph = csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, columns)), shape=(len(candidates), len(objects)))
    graph.sort_indices()
    matched = maximum_bipartite_matching(graph, perm_type="column")
    return tuple(objects[j] if j >= 0 else None for j in matched.tolist())


def matching_size(candidates: Sequence[Collection[str]], objects: Sequence[str]) -> int:
    """Volumes a maximum matching assigns an object to."""
    return sum(name is not None for name in match_objects(candidates, objects))
