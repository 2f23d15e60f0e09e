"""A conversation as a tree: each message has a parent, siblings are versions of one
turn, and the conversation shows one path from the first message to a leaf.

Pure functions over `parents` (message id -> parent id, None for a first message),
so the history, the chat service and every front end walk the tree the same way.
Ids grow with time, so the smallest id among siblings is the first version.
"""

from __future__ import annotations

from collections.abc import Mapping


def children_of(parents: Mapping[int, int | None]) -> dict[int | None, list[int]]:
    """Each parent's children, oldest first (None holds the first messages)."""
    found: dict[int | None, list[int]] = {}
    for node in sorted(parents):
        parent = parents[node]
        found.setdefault(parent if parent in parents else None, []).append(node)
    return found


def path_to(parents: Mapping[int, int | None], leaf: int | None) -> list[int]:
    """The ids from the first message to `leaf`; empty when `leaf` is not in the tree.
    A parent link that loops (a hand-edited file) ends the walk instead of hanging."""
    path: list[int] = []
    seen: set[int] = set()
    node = leaf
    while node is not None and node in parents and node not in seen:
        seen.add(node)
        path.append(node)
        node = parents[node]
    path.reverse()
    return path


def newest_leaf(parents: Mapping[int, int | None], start: int | None) -> int | None:
    """Follow the newest child from `start` down to a leaf (from the first messages when
    `start` is None); None for an empty tree."""
    kids = children_of(parents)
    node = start
    seen: set[int] = set()
    while True:
        below = kids.get(node, [])
        if not below or (node is not None and node in seen):
            return node
        if node is not None:
            seen.add(node)
        node = below[-1]


def current_leaf(parents: Mapping[int, int | None], remembered: int | None) -> int | None:
    """The leaf of the path to show: the remembered one while it exists, else the
    newest; a remembered message that has children now shows its newest branch."""
    if remembered is not None and remembered in parents:
        return newest_leaf(parents, remembered)
    return newest_leaf(parents, None)


def versions(parents: Mapping[int, int | None], node: int) -> list[int]:
    """`node` and its siblings (the versions of one turn), oldest first."""
    if node not in parents:
        return []
    parent = parents[node]
    return children_of(parents).get(parent if parent in parents else None, [])


def subtree(parents: Mapping[int, int | None], node: int) -> list[int]:
    """`node` and everything below it, parents before children."""
    kids = children_of(parents)
    found: list[int] = []
    pending = [node] if node in parents else []
    while pending:
        current = pending.pop(0)
        if current in found:
            continue
        found.append(current)
        pending.extend(kids.get(current, []))
    return found
