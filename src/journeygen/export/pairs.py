"""Step-level preference pairs (DPO) and per-step labelled paths (PRM) read off a saved tree.

Only `correct` and `incorrect` labels teach anything here: an `unknown` step (cut by the
budget before anything below it finished) is never used as a rejected step or as a label.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from journeygen.models import Node, PathSource, Tree, children_by_parent

__all__ = ["LabelledPath", "StepPair", "labelled_paths", "step_pairs"]


@dataclass(frozen=True)
class StepPair:
    """The question and the correct steps so far, then a correct and a wrong next step."""

    prompt: str
    prefix: tuple[Node, ...]
    chosen: Node
    rejected: Node
    run: str
    tree: Tree

    def provenance(self) -> dict[str, Any]:
        used = (*self.prefix, self.chosen)
        return {
            "kind": "dpo",
            "run": self.run,
            "problem_id": self.tree.problem.id,
            "node_ids": [node.id for node in self.prefix],
            "chosen_id": self.chosen.id,
            "rejected_id": self.rejected.id,
            "config_hash": self.tree.config_hash,
            "path_source": _source(used),
        }


@dataclass(frozen=True)
class LabelledPath:
    """Steps from the first one down, each with its label as a bool (True = correct)."""

    prompt: str
    steps: tuple[Node, ...]
    run: str
    tree: Tree

    @property
    def labels(self) -> list[bool]:
        return [node.label == "correct" for node in self.steps]

    def provenance(self) -> dict[str, Any]:
        return {
            "kind": "prm",
            "run": self.run,
            "problem_id": self.tree.problem.id,
            "node_ids": [node.id for node in self.steps],
            "config_hash": self.tree.config_hash,
            "path_source": _source(self.steps),
        }


def _source(nodes: tuple[Node, ...]) -> PathSource:
    return "reference" if any(node.source == "reference" for node in nodes) else "policy"


def _correct_prefixes(
    children: dict[str | None, list[Node]],
) -> Iterator[tuple[str | None, tuple[Node, ...]]]:
    """Each node whose path from the question is correct throughout (the question itself
    first), with that path, in depth-first order."""
    stack: list[tuple[str | None, tuple[Node, ...]]] = [(None, ())]
    while stack:
        parent, prefix = stack.pop()
        yield parent, prefix
        good = [c for c in children.get(parent, []) if c.label == "correct"]
        stack.extend((child.id, (*prefix, child)) for child in reversed(good))


def step_pairs(tree: Tree, *, run: str) -> Iterator[StepPair]:
    """Every (correct, wrong) pair of sibling steps below a correct prefix, depth first, then
    siblings in tree order. Pairs with equal texts, or texts already paired there, are skipped.
    """
    children = children_by_parent(tree.nodes)
    for parent, prefix in _correct_prefixes(children):
        siblings = children.get(parent, [])
        seen: set[tuple[str, str]] = set()
        for chosen in (c for c in siblings if c.label == "correct"):
            for rejected in (c for c in siblings if c.label == "incorrect"):
                texts = (chosen.text, rejected.text)
                if chosen.text == rejected.text or texts in seen:
                    continue
                seen.add(texts)
                yield StepPair(tree.problem.question, prefix, chosen, rejected, run, tree)


def _root_paths(children: dict[str | None, list[Node]]) -> Iterator[tuple[Node, ...]]:
    """Every path from a first step to a node without children, depth first."""
    stack: list[tuple[Node, ...]] = [(c,) for c in reversed(children.get(None, []))]
    while stack:
        path = stack.pop()
        below = children.get(path[-1].id, [])
        if not below:
            yield path
        stack.extend((*path, child) for child in reversed(below))


def labelled_paths(tree: Tree, *, run: str) -> Iterator[LabelledPath]:
    """Each root-to-leaf path cut before its first `unknown` step, depth first. A path whose
    (text, label) steps repeat another's, or are a strict prefix of another's, is dropped:
    it would only weigh the same labels twice."""
    cut: list[tuple[Node, ...]] = []
    for path in _root_paths(children_by_parent(tree.nodes)):
        labelled = []
        for node in path:
            if node.label == "unknown":
                break
            labelled.append(node)
        if labelled:
            cut.append(tuple(labelled))
    keys = [tuple((node.text, node.label) for node in path) for path in cut]
    emitted: set[tuple[tuple[str, str], ...]] = set()
    for path, key in zip(cut, keys, strict=True):
        longer = any(len(other) > len(key) and other[: len(key)] == key for other in keys)
        if longer or key in emitted:
            continue
        emitted.add(key)
        yield LabelledPath(tree.problem.question, path, run, tree)
