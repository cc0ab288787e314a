"""Extract the shortcut (a correct path) and the journey (that path with wrong detours, each
followed to its error, reflected on and backtracked from) from a labelled tree; pure, seeded."""

from __future__ import annotations

import math
import random

from journeygen.models import Journey, Node, PathSource, Segment, SegmentKind, Tree
from journeygen.search.labels import BACKUP_JUDGE

__all__ = ["correct_leaf", "extract_journey", "extract_shortcut"]


def correct_leaf(tree: Tree) -> Node | None:
    """The correct final step samples are built on: the model's own shortest correct path
    (reference first when the run asked for the reference path always)."""
    reference_first = tree.config.get("search", {}).get("reference_path") == "always"
    leaves = [node for node in tree.nodes if node.terminal and node.label == "correct"]
    if not leaves:
        return None

    def rank(leaf: Node) -> tuple[int, int, float, str]:
        own = leaf.source == ("reference" if reference_first else "policy")
        return (0 if own else 1, len(tree.path(leaf.id)), -(leaf.value or 0.0), leaf.id)

    return min(leaves, key=rank)


def _path_source(leaf: Node) -> PathSource:
    return "reference" if leaf.source == "reference" else "policy"


def extract_shortcut(tree: Tree) -> Journey | None:
    """The correct path alone, or None when the tree has no correct leaf."""
    leaf = correct_leaf(tree)
    if leaf is None:
        return None
    path = tree.path(leaf.id)
    segments = [Segment(kind="step", node_id=node.id, text=node.text) for node in path[:-1]]
    segments.append(Segment(kind="answer", node_id=leaf.id, text=leaf.text))
    return Journey(
        kind="shortcut",
        problem_id=tree.problem.id,
        path_source=_path_source(leaf),
        segments=segments,
    )


def _error_reason(node: Node) -> str | None:
    """Why a step is wrong by its own judges (not by what happened below it), if it is."""
    for verdict in node.verdicts:
        if verdict.judge != BACKUP_JUDGE and verdict.label == "incorrect":
            return verdict.reason or "a judge marked this step wrong"
    return None


class _Detours:
    """How far each wrong step is from the point where its error shows: a step its own judge
    failed, or a wrong final answer. Branches that never show an error are not detours."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.distance: dict[str, float] = {}
        for node in reversed(tree.nodes):  # children come after parents
            self.distance[node.id] = self._distance(node)

    def _wrong_children(self, node: Node) -> list[Node]:
        return [c for c in self.tree.children(node.id) if c.label == "incorrect"]

    def _distance(self, node: Node) -> float:
        if node.label != "incorrect":
            return math.inf
        if _error_reason(node) is not None:
            return 1
        below = [self.distance[c.id] for c in self._wrong_children(node)]
        return 1 + min(below, default=math.inf)

    def follow(self, start: Node, rng: random.Random) -> list[Node]:
        """One child per level, on a shortest way down to the error (seeded among equals)."""
        chain = [start]
        while _error_reason(chain[-1]) is None:
            wanted = self.distance[chain[-1].id] - 1
            closest = [c for c in self._wrong_children(chain[-1]) if self.distance[c.id] == wanted]
            chain.append(rng.choice(closest))
        return chain


def extract_journey(tree: Tree, *, detours: int, detour_depth: int, seed: int) -> Journey | None:
    """The correct path with up to `detours` wrong detours at seeded places along it (at most
    one per correct-path step), or None when the tree has no correct leaf or no usable detour.
    """
    leaf = correct_leaf(tree)
    if leaf is None:
        return None
    path = tree.path(leaf.id)
    rng = random.Random(f"{seed}\x1f{tree.problem.id}")
    finder = _Detours(tree)
    candidates: dict[int, list[Node]] = {}
    for index, step in enumerate(path):
        parent = path[index - 1].id if index else None
        wrong = [
            child
            for child in tree.children(parent)
            if child.id != step.id and finder.distance[child.id] <= detour_depth
        ]
        if wrong:
            candidates[index] = wrong
    if not candidates:
        return None
    chosen = sorted(rng.sample(sorted(candidates), min(detours, len(candidates))))

    segments: list[Segment] = []
    for index, step in enumerate(path):
        if index in chosen:
            detour = finder.follow(rng.choice(candidates[index]), rng)
            segments.extend(Segment(kind="wrong_step", node_id=n.id, text=n.text) for n in detour)
            reason = _error_reason(detour[-1]) or ""
            segments.append(Segment(kind="reflection", node_id=detour[-1].id, text=reason))
            back = path[index - 1] if index else None
            segments.append(
                Segment(
                    kind="backtrack",
                    node_id=back.id if back else None,
                    text=back.text if back else "",
                )
            )
        kind: SegmentKind = "answer" if step.id == leaf.id else "step"
        segments.append(Segment(kind=kind, node_id=step.id, text=step.text))
    return Journey(
        kind="journey",
        problem_id=tree.problem.id,
        path_source=_path_source(leaf),
        segments=segments,
        seed=seed,
    )
