"""The episode of a critique or dialogue tree: the moves its search recorded, replayed as a
journey in the order they happened (the model's own steps, reflections and backtracks), not
a walk constructed afterwards. Pure."""

from __future__ import annotations

from journeygen.judges.labels import solved_leaves
from journeygen.models import Event, Journey, Segment, SegmentKind, SegmentSource, Tree

__all__ = ["extract_episode"]


def _solved_leaf(tree: Tree) -> str | None:
    """The final step the search ended on with the right answer, when every step above it is
    correct too (only such a path may stand as the solution)."""
    solved = [event.node_id for event in tree.events if event.kind == "solved"]
    if not solved or solved[-1] is None:
        return None
    fit = {leaf.id for leaf in solved_leaves(tree.nodes)}
    return solved[-1] if solved[-1] in fit else None


def _kept_steps(events: list[Event]) -> dict[int, str]:
    """The step events something happened about (index → step): a step followed straight by
    another one was cut or added nothing, and the policy was asked again."""
    return {
        index: event.node_id
        for index, event in enumerate(events)
        if event.kind == "step"
        and event.node_id is not None
        and (index + 1 == len(events) or events[index + 1].kind != "step")
    }


def extract_episode(tree: Tree) -> Journey | None:
    """The search's own walk up to its right answer: each step it wrote (`step` on the final
    path at its last visit, `wrong_step` otherwise), each reflection and backtrack reason in
    the words of who said it (source `self` for the policy, `critic` for the critic), each
    backtrack to the step named. None when the search never reached a right answer."""
    leaf = _solved_leaf(tree)
    if leaf is None:
        return None
    final_path = {node.id for node in tree.path(leaf)}
    kept = _kept_steps(tree.events)
    last_visit = {node_id: index for index, node_id in kept.items()}
    segments: list[Segment] = []
    last_step: str | None = None
    for index, event in enumerate(tree.events):
        source: SegmentSource = "critic" if event.agent == "critic" else "self"
        if index in kept:
            last_step = kept[index]
            kind: SegmentKind = "wrong_step"
            if last_step in final_path and last_visit[last_step] == index:
                kind = "answer" if last_step == leaf else "step"
            segments.append(Segment(kind=kind, node_id=last_step, text=tree.node(last_step).text))
            if kind == "answer":
                break
        elif event.kind in ("reflect", "backtrack") and last_step is not None:
            segments.append(
                Segment(kind="reflection", node_id=last_step, text=event.text, source=source)
            )
            if event.kind == "backtrack":
                back = event.node_id
                text = tree.node(back).text if back is not None else ""
                segments.append(Segment(kind="backtrack", node_id=back, text=text))
    return Journey(
        kind="episode", problem_id=tree.problem.id, path_source="policy", segments=segments
    )
