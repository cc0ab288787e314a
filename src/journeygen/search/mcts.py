"""Monte Carlo tree search over steps (Marco-o1, rStar-Math): UCT selection, expansion by
`width` sampled next steps, a one-solution rollout rewarded by its final answer, and backup
of visit counts and value along the path.

With `parallel_simulations` k > 1 a round chooses up to k simulations one after the other,
each counting the ones chosen before it as visits that lost (virtual loss), so they spread
over the tree; the round's expansions are asked together, then its rollouts together, and
their answers are added in the order the simulations were chosen. Choosing is deterministic
and answers never race, so a tree is the same at any concurrency and in any order answers
arrive. k = 1 is plain sequential MCTS, one simulation a round.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

from journeygen.models import Node
from journeygen.search.builder import TreeBuilder, reward

__all__ = ["mcts", "uct"]


def uct(
    builder: TreeBuilder,
    parent: str | None,
    child: Node,
    pending: Mapping[str | None, int] | None = None,
) -> float:
    """Mean reward plus the exploration bonus; an unvisited child comes first. `pending`
    counts the round's chosen simulations through a step as visits that lost (virtual loss)."""
    pending = pending or {}
    tally = builder.tally(child.id)
    visits = tally.visits + pending.get(child.id, 0)
    if visits == 0:
        return math.inf
    parent_visits = builder.tally(parent).visits + pending.get(parent, 0)
    bonus = builder.config.search.exploration * math.sqrt(math.log(parent_visits) / visits)
    return tally.wins / visits + bonus


def _select(
    builder: TreeBuilder,
    expanded: set[str | None],
    pending: Mapping[str | None, int],
    asked: set[str | None],
) -> tuple[bool, str | None]:
    """Walk down by UCT (ties: the earlier child) while the step has been expanded, past the
    steps this round already asks about. Returns whether a step was found, and the step."""
    node_id: str | None = None
    while node_id in expanded and (children := builder.children(node_id)):
        free = [child for child in children if child.id not in asked]
        if not free:  # every way down waits for this round's answers
            return False, node_id
        node_id = max(free, key=partial(uct, builder, node_id, pending=pending)).id
    return node_id not in asked, node_id


@dataclass
class _Round:
    """The simulations of one round that need a request, in the order they were chosen."""

    expansions: list[str | None] = field(default_factory=list)
    finals: list[bool] = field(default_factory=list)  # the expansion's steps close the solution
    rollouts: list[str | None] = field(default_factory=list)
    pending: Counter[str | None] = field(default_factory=Counter)  # virtual losses

    def asks(self, builder: TreeBuilder, node_id: str | None) -> None:
        """Count a chosen simulation as a lost visit on every step down to `node_id`."""
        for key in [None, *(node.id for node in builder.path(node_id))]:
            self.pending[key] += 1


def _choose(builder: TreeBuilder, expanded: set[str | None], k: int) -> tuple[_Round, int]:
    """Up to `k` simulations: a finished step scores at once; a step never visited is rolled
    out; one visited before is expanded (and its first new step simulated); a step that
    cannot grow scores nothing. Steps already asked about this round are passed over; when
    every way down is asked about, the round ends early.
    Returns the round and how many simulations it holds."""
    search = builder.config.search
    chosen = _Round()
    asked: set[str | None] = set()
    count = 0
    for _ in range(k):
        found, node_id = _select(builder, expanded, chosen.pending, asked)
        if not found:
            break
        count += 1
        node = builder.node(node_id) if node_id is not None else None
        depth = len(builder.path(node_id))
        if node is not None and node.terminal:
            builder.record(node_id, reward(node))
            continue
        if builder.tally(node_id).visits == 0:
            chosen.rollouts.append(node_id)
        elif node_id in expanded or depth >= search.depth:
            builder.record(node_id, None)  # a dead end: no step can follow it
            continue
        else:
            expanded.add(node_id)
            chosen.expansions.append(node_id)
            chosen.finals.append(depth + 1 == search.depth)
        asked.add(node_id)
        chosen.asks(builder, node_id)
    return chosen, count


async def _play(builder: TreeBuilder, chosen: _Round) -> None:
    """Ask the round's expansions together, then its rollouts (those chosen, then one from
    each expansion's first new step that is still open) together; answers in chosen order."""
    rollouts = list(chosen.rollouts)
    if chosen.expansions:
        width = builder.config.search.width
        added = await builder.expand_all(chosen.expansions, n=width, final=chosen.finals)
        for node_id, children in zip(chosen.expansions, added, strict=True):
            if not children:
                builder.record(node_id, None)
            elif children[0].terminal:  # a finished step scores by its own answer
                builder.record(children[0].id, reward(children[0]))
            else:
                rollouts.append(children[0].id)
    if rollouts:
        await builder.rollout_all(rollouts, n=1)


async def mcts(builder: TreeBuilder) -> None:
    """Run `simulations` iterations, `parallel_simulations` at a time, stopping early when a
    budget is spent. A step is rolled out from on its first visit and expanded on its second;
    a finished step just scores."""
    search = builder.config.search
    expanded: set[str | None] = set()
    left = search.simulations
    while left > 0:
        if builder.out_of_budget():
            return
        # a round holds as many simulations as the token budget has room for
        wanted = min(search.parallel_simulations, left)
        chosen, count = _choose(builder, expanded, builder.affordable(wanted, "simulations"))
        builder.counters["simulations"] += count
        left -= count
        await _play(builder, chosen)
