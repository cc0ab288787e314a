"""Rollout judge: a step's value (share of its finished continuations that reach the gold
answer, as rollouts or the backed-up leaves measure it) against a threshold."""

from __future__ import annotations

from collections.abc import Sequence

from journeygen.models import Node, Problem, Verdict

__all__ = ["RolloutJudge", "rollout_verdict"]


def rollout_verdict(node: Node, threshold: float, name: str = "rollout") -> Verdict | None:
    """`incorrect` when the inner step's value is at or below `threshold`, else `correct`;
    None for a final step (its answer judges it) or a step without a value yet."""
    if node.terminal or node.value is None:
        return None
    if node.value <= threshold:
        reason = (
            f"value {node.value:.2f} (share of continuations that reach the gold answer) "
            f"is at or below the threshold {threshold:.2f}"
        )
        return Verdict(judge=name, label="incorrect", score=node.value, reason=reason)
    reason = f"value {node.value:.2f} is above the threshold {threshold:.2f}"
    return Verdict(judge=name, label="correct", score=node.value, reason=reason)


class RolloutJudge:
    """Reads `Node.value`. While the tree grows a new step has no value, so this judge speaks
    when labels are backed up (`search.labels.backup_labels`) or on a step a strategy valued."""

    name = "rollout"

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = threshold

    async def judge(self, problem: Problem, path: Sequence[Node], node: Node) -> list[Verdict]:
        verdict = rollout_verdict(node, self.threshold, self.name)
        return [verdict] if verdict is not None else []
