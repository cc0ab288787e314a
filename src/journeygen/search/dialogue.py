"""Policy-critic dialogue (O1 Journey Part 1, attempt 3): the policy writes each step and a
critic agent, possibly a stronger model, says whether to go on, reflect or go back to a named
step, and why; the policy is shown the critic's words (source `critic`) before its next step.
The run checks final answers and tells the critic when one is wrong."""

from __future__ import annotations

from journeygen.search.agents import Agent, Episode
from journeygen.search.builder import TreeBuilder

__all__ = ["dialogue"]


async def dialogue(builder: TreeBuilder) -> None:
    """Grow the tree by the critic's calls until the policy's answer is right or a budget
    ends it; the critic's reason for each backtrack is a verdict on the step it drops."""
    agent = Agent(
        name="critic",
        backend=builder.critic,
        template=builder.prompts.critic,
        inner=("continue", "reflect", "backtrack"),
        final=None,
        note="progress_critique",
        objects=True,
    )
    await Episode(builder, agent).run()
