"""Extract the shortcut (a correct path) and the journey (that path with wrong detours, each
followed to its error, reflected on and backtracked from) from a labelled tree; pure, seeded."""

from __future__ import annotations

import functools
import math
import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from journeygen.config import REFLECTION_SOURCES, JourneyConfig, ReflectionSource
from journeygen.derive.reflect import INFORMATIVE, best_offer
from journeygen.judges import BACKUP, traits
from journeygen.judges.labels import solved_paths
from journeygen.judges.redundancy import is_padding
from journeygen.models import Journey, Node, PathSource, Segment, Tree, children_by_parent

__all__ = [
    "SHORT_REASONS",
    "correct_leaf",
    "correct_path",
    "detour_shortfall",
    "extract_journey",
    "extract_journeys",
    "extract_shortcut",
    "plausibility",
]

ATTEMPTS_PER_SAMPLE = 4  # seeded tries per wanted journey before giving up on distinct ones
_T = TypeVar("_T")
_WORD = re.compile(r"[A-Za-z]+|\d+")
# Why a journey has fewer detours than asked, in the order they are told.
SHORT_REASONS: dict[str, str] = {
    "wrong_trials": "more wrong siblings wait at steps that have --wrong-trials detours already",
    "no_reflection": "wrong siblings whose error no listed reflection source can explain",
    "too_deep": "wrong siblings whose error lies deeper than --detour-depth, or never shows",
    "only_unknown": "the other siblings are only unknown (never shown wrong)",
    "no_wrong_sibling": "no other wrong sibling along the correct path",
}


def correct_path(tree: Tree) -> list[Node]:
    """The steps down to `correct_leaf` (empty when there is none): the solved paths are
    walked once, so no caller indexes the tree again to find the winner's."""
    own = "reference" if tree.config.search.reference_path == "always" else "policy"

    def rank(path: list[Node]) -> tuple[int, int, float, str]:
        leaf = path[-1]
        return (0 if leaf.source == own else 1, len(path), -(leaf.value or 0.0), leaf.id)

    return min(solved_paths(tree.nodes), key=rank, default=[])


def correct_leaf(tree: Tree) -> Node | None:
    """The correct final step samples are built on: the model's own shortest correct path
    (reference first when the run asked for the reference path always)."""
    path = correct_path(tree)
    return path[-1] if path else None


def _path_source(leaf: Node) -> PathSource:
    return "reference" if leaf.source == "reference" else "policy"


def extract_shortcut(tree: Tree) -> Journey | None:
    """The correct path alone, or None when the tree has no correct leaf."""
    path = correct_path(tree)
    if not path:
        return None
    leaf = path[-1]
    segments = [
        Segment(kind="step", node_id=node.id, text=node.text)
        for node in path[:-1]
        if not is_padding(node)
    ]
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
        if verdict.judge != BACKUP and verdict.label == "incorrect":
            return verdict.reason or "a judge marked this step wrong"
    return None


@functools.lru_cache(maxsize=4096)
def _form(text: str) -> float:
    """How much a step looks like a maths step rather than gibberish: it has a number, a
    sensible length, and words that do not just repeat. Cached: each journey of a tree weighs
    the same wrong steps again, and `follow` reads each child's form twice."""
    words = _WORD.findall(text)
    if not words:
        return 0.0
    score = 0.4 if any(w.isdigit() for w in words) else 0.0
    score += 0.3 if 3 <= len(words) <= 60 else 0.0
    distinct = len({w.lower() for w in words}) / len(words)
    return score + 0.3 * min(1.0, distinct / 0.6)


def plausibility(chain: Sequence[Node]) -> float:
    """0..1: how convincing a wrong branch looks. Half from graded judges' scores on its steps
    and the values of its steps before the error (0.5 when there are none), half from its
    form. Pass/fail judges (answer, arithmetic) say nothing here: every detour fails one."""
    signals = [
        v.score
        for node in chain
        for v in node.verdicts
        if traits(v.judge).graded and v.score is not None
    ]
    signals += [node.value for node in chain[:-1] if node.value is not None]
    judged = sum(signals) / len(signals) if signals else 0.5
    form = sum(_form(node.text) for node in chain) / len(chain)
    return (judged + form) / 2


def _weight(chain: Sequence[Node]) -> float:
    """Seeded choices favour plausible detours several times over gibberish, never
    excluding any (plausibility 0.95 vs 0.55: about 7 to 1)."""
    return 0.02 + plausibility(chain) ** 4


def _weighted_draws(
    items: Sequence[_T], weights: Sequence[float], rng: random.Random
) -> Iterator[_T]:
    """Distinct items, each draw in proportion to the weights of those left; drawn as the
    caller asks, so one that has enough draws no more."""
    pool, left = list(items), list(weights)
    while pool:
        index = rng.choices(range(len(pool)), weights=left)[0]
        left.pop(index)
        yield pool.pop(index)


class _Detours:
    """How far each wrong step is from the point where its error shows: a step its own judge
    failed, or a wrong final answer. Branches that never show an error (an `unknown` step the
    budget cut, say) are not detours."""

    def __init__(self, tree: Tree) -> None:
        self.children = children_by_parent(tree.nodes)  # one walk, not one a node
        self._distances: dict[str, float] = {}

    def _wrong_children(self, node: Node) -> list[Node]:
        return [c for c in self.children.get(node.id, []) if c.label == "incorrect"]

    def distance(self, node: Node) -> float:
        """Steps from `node` down to its error (inf: none shows), measured when first asked:
        branches no sibling of the correct path leads into are never walked."""
        if node.id not in self._distances:
            self._distances[node.id] = self._measure(node)
        return self._distances[node.id]

    def _measure(self, node: Node) -> float:
        if node.label != "incorrect":
            return math.inf
        if _error_reason(node) is not None:
            return 1
        below = [self.distance(c) for c in self._wrong_children(node)]
        return 1 + min(below, default=math.inf)

    def follow(self, start: Node, rng: random.Random) -> list[Node]:
        """One child per level, on a shortest way down to the error: the most plausible
        looking child (seeded among equals)."""
        chain = [start]
        while _error_reason(chain[-1]) is None:
            wanted = self.distance(chain[-1]) - 1
            closest = [c for c in self._wrong_children(chain[-1]) if self.distance(c) == wanted]
            best = max(_form(c.text) for c in closest)
            chain.append(rng.choice([c for c in closest if _form(c.text) == best]))
        return chain


@dataclass
class _Survey:
    """The detours a correct path offers: usable chains by position (each with whether its
    reflection will say why), and the wrong siblings that could not be used, by why not."""

    chains: dict[int, list[tuple[list[Node], bool]]] = field(default_factory=dict)
    unused: Counter[str] = field(default_factory=Counter)


def _survey(
    tree: Tree,
    path: Sequence[Node],
    rng: random.Random,
    *,
    detour_depth: int,
    sources: Sequence[ReflectionSource],
) -> _Survey:
    """Every sibling of the path's steps, followed to its error when it can be a detour, or
    counted under why not, so `stats` can say why a journey is short."""
    finder = _Detours(tree)
    survey = _Survey()
    for index, step in enumerate(path):
        parent = path[index - 1].id if index else None
        for child in finder.children.get(parent, []):
            if child.id == step.id or child.label == "correct":
                continue
            if child.label == "unknown":
                survey.unused["only_unknown"] += 1
            elif finder.distance(child) > detour_depth:
                survey.unused["too_deep"] += 1
            else:
                chain = finder.follow(child, rng)
                best = best_offer(chain[-1], tree, sources)
                if best is None and "llm" not in sources:
                    survey.unused["no_reflection"] += 1
                    continue
                informative = best is not None and best.rank >= INFORMATIVE
                survey.chains.setdefault(index, []).append((chain, informative))
    return survey


def _plan(
    survey: _Survey, detours: int, wrong_trials: int, rng: random.Random
) -> dict[int, list[list[Node]]]:
    """Up to `detours` chains, at most `wrong_trials` at one step, then fresh starts from the
    question for what the steps leave of the budget (a reference path hangs every branch of
    the model there); in each round those whose reflection says why first, then the rest,
    each group drawn by plausibility. `rng` draws stop once the plan is full."""
    plan: dict[int, list[list[Node]]] = {}
    weight = {id(chain): _weight(chain) for chains in survey.chains.values() for chain, _ in chains}
    taken = 0
    for cap, at in ((wrong_trials, None), (detours, 0)):
        for informative in (True, False):
            group = [
                (index, chain)
                for index, chains in sorted(survey.chains.items())
                if at is None or index == at
                for chain, says_why in chains
                if says_why is informative and all(chain is not c for c in plan.get(index, []))
            ]
            weights = [weight[id(chain)] for _, chain in group]
            for index, chain in _weighted_draws(group, weights, rng):
                if taken < detours and len(plan.get(index, [])) < cap:
                    plan.setdefault(index, []).append(chain)
                    taken += 1
                if taken == detours:  # full: no draw left can change it
                    return plan
    return plan


def _journey_rng(tree: Tree, seed: int, attempt: int) -> random.Random:
    """The seeded draws of a tree's journey (`attempt` 0 is the first journey), so
    `detour_shortfall` surveys the detours the first journey chose from."""
    return random.Random(f"{seed}\x1f{tree.problem.id}" + (f"\x1f{attempt}" if attempt else ""))


def extract_journey(
    tree: Tree,
    *,
    detours: int,
    detour_depth: int,
    seed: int,
    wrong_trials: int = 1,
    attempt: int = 0,
    sources: Sequence[ReflectionSource] = REFLECTION_SOURCES,
) -> Journey | None:
    """The correct path with every usable detour up to `detours`, at most `wrong_trials` of
    them at any one correct-path step (fresh starts from the question take the rest):
    detours whose reflection can say why (by `sources`) first, then plausible ones favoured,
    chosen by the seed (and `attempt`); None when the tree has no correct leaf or no usable
    detour."""
    path = correct_path(tree)
    if not path:
        return None
    leaf = path[-1]
    rng = _journey_rng(tree, seed, attempt)
    survey = _survey(tree, path, rng, detour_depth=detour_depth, sources=sources)
    if not survey.chains:
        return None
    plan = _plan(survey, detours, wrong_trials, rng)

    segments: list[Segment] = []
    for index, step in enumerate(path):
        for detour in plan.get(index, []):
            segments.extend(
                Segment(kind="wrong_step", node_id=n.id, text=n.text)
                for n in detour
                if n is detour[-1] or not is_padding(n)
            )
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
        if step.id == leaf.id:
            segments.append(Segment(kind="answer", node_id=step.id, text=step.text))
        elif not is_padding(step):  # a step that adds nothing stays out of the text
            segments.append(Segment(kind="step", node_id=step.id, text=step.text))
    return Journey(
        kind="journey",
        problem_id=tree.problem.id,
        path_source=_path_source(leaf),
        segments=segments,
        seed=seed,
    )


def detour_shortfall(tree: Tree, config: JourneyConfig, *, seed: int) -> str:
    """Why a journey of `tree` holds fewer than `config.detours` detours: a key of
    `SHORT_REASONS`, the first that holds along its correct path."""
    path = correct_path(tree)
    if not path:
        return "no_wrong_sibling"
    survey = _survey(
        tree,
        path,
        _journey_rng(tree, seed, attempt=0),
        detour_depth=config.detour_depth,
        sources=config.reflection_sources,
    )
    if any(len(c) > config.wrong_trials for i, c in survey.chains.items() if i):
        return "wrong_trials"
    return next((why for why in SHORT_REASONS if survey.unused[why]), "no_wrong_sibling")


def extract_journeys(tree: Tree, config: JourneyConfig, *, seed: int) -> list[Journey]:
    """Up to `config.samples_per_tree` journeys that differ in their detours (seeded tries,
    duplicates dropped), in the order found; empty when the tree allows none."""
    found: dict[tuple[tuple[str, str | None], ...], Journey] = {}
    for attempt in range(config.samples_per_tree * ATTEMPTS_PER_SAMPLE):
        journey = extract_journey(
            tree,
            detours=config.detours,
            detour_depth=config.detour_depth,
            seed=seed,
            wrong_trials=config.wrong_trials,
            attempt=attempt,
            sources=config.reflection_sources,
        )
        if journey is None:
            break
        found.setdefault(tuple((s.kind, s.node_id) for s in journey.segments), journey)
        if len(found) == config.samples_per_tree:
            break
    return list(found.values())
