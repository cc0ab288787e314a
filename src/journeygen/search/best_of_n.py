"""Best-of-N, the baseline every other strategy is compared with: `rollouts` independent
full solutions from the question, merged into one tree on equal step prefixes."""

from __future__ import annotations

from journeygen.search.builder import TreeBuilder

__all__ = ["best_of_n"]


async def best_of_n(builder: TreeBuilder) -> None:
    """One request per solution (each with its own seed), all sent at once; a node's value is
    the share of the solutions through it that reach the gold answer."""
    if not builder.out_of_budget():
        await builder.rollout_all([None] * builder.config.search.rollouts, n=1)
