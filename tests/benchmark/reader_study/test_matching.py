"""benchmark/reader_study/matching.py: a maximum matching (checked by brute force), whatever the column order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmark.reader_study.matching import BipartiteGraph, match_objects


def brute_force_size(candidates: list[set[str]]) -> int:
    """The largest number of volumes that can each get a distinct object, by trying every assignment."""
    options = [sorted(c) + [None] for c in candidates]  # type: ignore[operator]
    best = 0
    for choice in itertools.product(*options):
        chosen = [name for name in choice if name is not None]
        if len(chosen) == len(set(chosen)):
            best = max(best, len(chosen))
    return best


def check_matching(candidates: list[set[str]], matched: tuple[str | None, ...]) -> None:
    assert len(matched) == len(candidates)
    assigned = [name for name in matched if name is not None]
    assert len(assigned) == len(set(assigned)), "an object is assigned twice"
    for names, name in zip(candidates, matched, strict=True):
        assert name is None or name in names


def test_greedy_trap_is_solved_in_every_column_order() -> None:
    # Volume 0 takes liver or spleen; volume 1 only liver. A greedy pass giving volume 0 liver leaves volume 1 out.
    candidates = [{"liver", "spleen"}, {"liver"}]
    for objects in (["liver", "spleen"], ["spleen", "liver"]):
        matched = match_objects(candidates, objects)
        assert matched == ("spleen", "liver")


def test_random_graphs_against_brute_force() -> None:
    rng = np.random.default_rng(11)
    names = [f"o{k}" for k in range(6)]
    for _ in range(60):
        rows = int(rng.integers(1, 7))
        candidates = [{n for n in names if rng.random() < 0.3} for _ in range(rows)]
        objects = list(rng.permutation(names))
        matched = match_objects(candidates, objects)
        check_matching(candidates, matched)
        assert sum(m is not None for m in matched) == brute_force_size(candidates)
        graph = BipartiteGraph()
        for names_of_volume in candidates:
            graph.add_volume(names_of_volume)
        assert graph.matching_size() == brute_force_size(candidates)


def test_column_order_changes_which_object_a_volume_gets() -> None:
    candidates = [{"a", "b", "c"}]
    assert {match_objects(candidates, order)[0] for order in itertools.permutations("abc")} == {"a", "b", "c"}


def test_graph_grows_one_volume_at_a_time() -> None:
    graph = BipartiteGraph()
    assert graph.matching_size() == 0 and graph.match() == ()
    assert graph.add_volume(["liver"]) == 0
    assert graph.add_volume(["liver", "liver"]) == 1  # a name listed twice is one edge
    assert (graph.objects, graph.matching_size()) == (("liver",), 1)
    graph.add_volume(["spleen", "liver"])
    assert graph.objects == ("liver", "spleen") and graph.matching_size() == 2
    graph.add_volume([])
    assert graph.n_volumes == 4 and graph.match(["spleen", "liver"])[3] is None


def test_empty_inputs_and_unused_objects() -> None:
    assert match_objects([], []) == ()
    assert match_objects([set(), set()], ["a"]) == (None, None)
    assert match_objects([{"b"}], ["a", "b"]) == ("b",)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match=r"argument order: .* got \['a'\] \(missing: \['x'\]\)"):
        match_objects([{"a"}, {"x"}], ["a"])
    with pytest.raises(ValueError, match="argument order: expected distinct object names"):
        match_objects([{"a"}], ["a", "a"])
