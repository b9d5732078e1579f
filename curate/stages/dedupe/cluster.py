"""From equal keys to duplicate clusters: candidate pairs by sorting, components, the keep rule.

Records are numbered by their stable position (shard index, row) across the stage input, so
every choice below (which record roots a group, which one survives) depends on that order only.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Distinct values, ascending. (``np.unique`` of NumPy 2.3+ hashes instead of sorting and was
    measured 250x slower than this on a million random uint64.)"""
    values = np.sort(values)
    first = np.ones(len(values), dtype=bool)
    first[1:] = values[1:] != values[:-1]
    return values[first]


def unique_groups(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For distinct values in ascending order: the index of each one's first occurrence, and for
    every element the number of its distinct value (as ``np.unique``'s ``return_index`` and
    ``return_inverse``)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.ones(len(values), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return order[first], inverse


def star_edge_index(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every group of equal keys, links from each later element to the group's first element,
    as indices into ``keys`` (a stable sort: "first" is the smallest index)."""
    if len(keys) < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.ones(len(keys), dtype=bool)
    starts[1:] = sorted_keys[1:] != sorted_keys[:-1]
    group_first = np.maximum.accumulate(np.where(starts, np.arange(len(keys)), 0))
    members = ~starts
    return order[group_first[members]], order[members]


def star_edges(keys: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs linking every node of a group of equal keys to the group's first node.

    ``nodes`` must be ascending; a stable sort then puts each group's smallest node first. A
    group of k nodes gives k - 1 pairs (not k (k - 1) / 2): enough for the components, and the
    pairs that exact-Jaccard verification checks.
    """
    first, member = star_edge_index(keys)
    return nodes[first].astype(np.int64), nodes[member].astype(np.int64)


def unique_pairs(left: np.ndarray, right: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (smaller, larger) pairs, sorted."""
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    code = sorted_unique(lo.astype(np.int64) * n + hi)
    return code // n, code % n


def components(nodes: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected component label of each of ``nodes`` (ascending) under the pairs; labels are dense."""
    k = len(nodes)
    u, v = np.searchsorted(nodes, left), np.searchsorted(nodes, right)
    graph = coo_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(k, k))
    _, labels = connected_components(graph, directed=False)
    return labels


def representatives(labels: np.ndarray, priority: list[np.ndarray]) -> np.ndarray:
    """For each node, the position of its component's survivor: the smallest ``priority`` tuple
    (first array most significant), ties broken by position, which is the stable record order."""
    k = len(labels)
    order = np.lexsort((np.arange(k), *reversed(priority), labels))
    sorted_labels = labels[order]
    first = np.ones(k, dtype=bool)
    first[1:] = sorted_labels[1:] != sorted_labels[:-1]
    survivor_of_label = np.empty(labels.max() + 1 if k else 0, dtype=np.int64)
    survivor_of_label[sorted_labels[first]] = order[first]
    return survivor_of_label[labels]


def component_roots(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every node that takes part in a pair (ascending), and the smallest node of its connected
    component: a forest of stars that links the same nodes as the pairs."""
    nodes = sorted_unique(np.concatenate([left, right]))
    if len(nodes) == 0:
        return nodes, nodes
    labels = components(nodes, left, right)
    first_of_label, _ = unique_groups(labels)
    return nodes, nodes[first_of_label][labels]
