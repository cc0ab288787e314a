"""Propose-critique loop (O1 Journey Part 1, attempt 2): after each step the policy chooses its
own action (continue, reflect, backtrack to a named step, terminate); when it terminates on a
wrong answer it is told so and must go back, its reflection in its own words (source `self`)."""

from __future__ import annotations

from journeygen.search.agents import Agent, Episode
from journeygen.search.builder import TreeBuilder

__all__ = ["critique"]


async def critique(builder: TreeBuilder) -> None:
    """Grow the tree by the policy's own actions until its answer is right or a budget ends it."""
    agent = Agent(
        name="policy",
        backend=builder.backend,
        template=builder.prompts.critique,
        inner=("continue", "reflect", "terminate", "backtrack"),
        final=("terminate", "backtrack"),
        note="progress_note",
        objects=False,
    )
    await Episode(builder, agent).run()
