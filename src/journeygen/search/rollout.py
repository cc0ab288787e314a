"""Rollout search (Math-Shepherd, OmegaPRM): complete the solution `rollouts` times from a
prefix, value a step by the share of its finished continuations that reach the gold answer,
and find the first wrong step of a wrong solution by binary search over its prefixes."""

from __future__ import annotations

from journeygen.models import Node, Verdict
from journeygen.search.builder import TreeBuilder, reward

__all__ = ["BINARY_SEARCH_JUDGE", "rollout"]

BINARY_SEARCH_JUDGE = "binary_search"


def _reaches_gold(builder: TreeBuilder, node_id: str | None) -> bool:
    return builder.tally(node_id).wins > 0


async def _probe(builder: TreeBuilder, node_id: str, probed: set[str]) -> bool:
    """Whether some continuation of `node_id` reaches the gold answer, rolling out from it
    only when the samples so far don't already show one."""
    if not _reaches_gold(builder, node_id) and node_id not in probed:
        probed.add(node_id)
        builder.counters["probes"] += 1
        await builder.rollout(node_id, n=builder.config.search.rollouts)
    return _reaches_gold(builder, node_id)


def _mark_first_wrong(builder: TreeBuilder, node: Node) -> None:
    if any(v.judge == BINARY_SEARCH_JUDGE for v in node.verdicts):
        return
    builder.counters["first_wrong_steps"] += 1
    tally = builder.tally(node.id)
    before = "the step before it" if node.parent is not None else "the question"
    node.verdicts.append(
        Verdict(
            judge=BINARY_SEARCH_JUDGE,
            label="incorrect",
            score=0.0,
            reason=f"first wrong step: none of its {tally.judged} finished continuations "
            f"reaches the gold answer {builder.problem.answer}, while continuations from "
            f"{before} do",
        )
    )


async def _first_wrong(builder: TreeBuilder, leaf: str, probed: set[str]) -> None:
    """OmegaPRM's binary search along the path to a wrong leaf: everything before `low`
    reaches the gold answer, `high` does not; probe the middle until they meet."""
    path = builder.path(leaf)
    # start below no step already known to be a dead end, so no probe contradicts it
    high = next(i for i, n in enumerate(path) if n.id in probed or n.id == leaf)
    low = 0
    builder.counters["binary_searches"] += 1
    while low < high:
        if builder.out_of_budget():
            return
        middle = (low + high) // 2
        if await _probe(builder, path[middle].id, probed):
            low = middle + 1
        else:
            high = middle
    _mark_first_wrong(builder, path[low])


async def rollout(builder: TreeBuilder) -> None:
    """Roll out from the question; if some solutions are right and some wrong, locate the
    first wrong step of each distinct wrong solution, in the order they were sampled."""
    if builder.out_of_budget():
        return
    ends = await builder.rollout(None, n=builder.config.search.rollouts)
    if not _reaches_gold(builder, None):
        return  # no correct solution to compare with: every step is suspect
    wrong = [
        end for end in dict.fromkeys(ends) if end is not None and reward(builder.node(end)) == 0.0
    ]
    probed: set[str] = set()
    for leaf in wrong:
        if builder.out_of_budget():
            return
        await _first_wrong(builder, leaf, probed)
