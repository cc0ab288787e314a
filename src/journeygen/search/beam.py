"""Step-level beam search, the paper's tree building: sample `width` next steps per frontier
node (the whole frontier at once), keep the best `keep`, and make the last level close the
solution with an answer."""

from __future__ import annotations

from journeygen.models import Node
from journeygen.search.builder import TreeBuilder, dead_end

__all__ = ["beam"]


def _score(node: Node) -> float:
    """Mean judge score of a step; unscored steps sit in the middle."""
    scores = [v.score for v in node.verdicts if v.score is not None]
    return sum(scores) / len(scores) if scores else 0.5


def _select(children_per_parent: list[list[Node]], keep: int) -> list[Node]:
    """Best `keep` open steps; ties go round-robin over parents so the beam stays diverse."""
    interleaved: list[Node] = []
    for rank in range(max((len(c) for c in children_per_parent), default=0)):
        interleaved.extend(c[rank] for c in children_per_parent if rank < len(c))
    open_steps = [node for node in interleaved if not node.terminal and not dead_end(node)]
    return sorted(open_steps, key=_score, reverse=True)[:keep]


async def beam(builder: TreeBuilder) -> None:
    """Grow the tree level by level until every kept path has ended or the budget is spent."""
    search = builder.config.search
    frontier: list[str | None] = [None]
    for depth in range(1, search.depth + 1):
        if builder.out_of_budget():
            return
        # the frontier (best first, as many as the budget has room for) is asked at once;
        # answers are added in frontier order
        frontier = frontier[: builder.affordable(len(frontier))]
        children_per_parent = await builder.expand_all(
            frontier, n=search.width, final=depth == search.depth
        )
        frontier = [node.id for node in _select(children_per_parent, search.keep)]
        if not frontier:
            return
