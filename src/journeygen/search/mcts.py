"""Monte Carlo tree search over steps (Marco-o1, rStar-Math): UCT selection, expansion by
`width` sampled next steps, a one-solution rollout rewarded by its final answer, and backup
of visit counts and value along the path."""

from __future__ import annotations

import math
from functools import partial

from journeygen.models import Node
from journeygen.search.builder import TreeBuilder, reward

__all__ = ["mcts", "uct"]


def uct(builder: TreeBuilder, parent: str | None, child: Node) -> float:
    """Mean reward plus the exploration bonus; an unvisited child comes first."""
    tally = builder.tally(child.id)
    if tally.visits == 0:
        return math.inf
    parent_visits = builder.tally(parent).visits
    bonus = builder.config.search.exploration * math.sqrt(math.log(parent_visits) / tally.visits)
    return tally.wins / tally.visits + bonus


def _select(builder: TreeBuilder, expanded: set[str | None]) -> str | None:
    """Walk down by UCT (ties: the earlier child) while the step has been expanded."""
    node_id: str | None = None
    while node_id in expanded and (children := builder.children(node_id)):
        node_id = max(children, key=partial(uct, builder, node_id)).id
    return node_id


async def _simulate(builder: TreeBuilder, node: Node) -> None:
    """Score a fresh step: a finished one by its own answer, an open one by one rollout."""
    if node.terminal:
        builder.record(node.id, reward(node))
    else:
        await builder.rollout(node.id, n=1)


async def mcts(builder: TreeBuilder) -> None:
    """Run `simulations` iterations, stopping early when a budget is spent. A step is rolled
    out from on its first visit and expanded on its second; a finished step just scores."""
    search = builder.config.search
    expanded: set[str | None] = set()
    for _ in range(search.simulations):
        if builder.out_of_budget():
            return
        builder.counters["simulations"] += 1
        node_id = _select(builder, expanded)
        node = builder.node(node_id) if node_id is not None else None
        depth = len(builder.path(node_id))
        if node is not None and node.terminal:
            builder.record(node_id, reward(node))
        elif builder.tally(node_id).visits == 0:
            await builder.rollout(node_id, n=1)
        elif node_id in expanded or depth >= search.depth:
            builder.record(node_id, None)  # a dead end: no step can follow it
        else:
            expanded.add(node_id)
            final = depth + 1 == search.depth
            children = await builder.expand(node_id, n=search.width, final=final)
            if children:
                await _simulate(builder, children[0])
            else:
                builder.record(node_id, None)
