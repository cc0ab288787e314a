"""Back labels up the tree: a step is wrong when every finished continuation of it ends wrong."""

from __future__ import annotations

from collections.abc import Sequence

from journeygen.models import Label, Node, TreeStats, Usage, Verdict

__all__ = ["backup_labels", "own_label", "tree_stats"]

BACKUP_JUDGE = "backup"


def own_label(node: Node) -> Label:
    """What the node's own judges say: any hard failure wins, then any pass, else unknown."""
    labels = {v.label for v in node.verdicts if v.judge != BACKUP_JUDGE}
    if "incorrect" in labels:
        return "incorrect"
    if "correct" in labels:
        return "correct"
    return "unknown"


def _answers(leaves: Sequence[Node]) -> str:
    shown = sorted({leaf.answer or "none" for leaf in leaves})
    return ", ".join(shown[:5]) + (", …" if len(shown) > 5 else "")


def backup_labels(nodes: list[Node], gold: str | None) -> None:
    """Set `label` and `value` of every node from its own verdicts and its finished leaves.

    A terminal step keeps its own label; value 1.0 if correct, 0.0 if incorrect. An inner
    step's value is the share of its judged leaves that are correct; it is `correct` if any
    leaf is, `incorrect` if all judged leaves are wrong (or its own judge failed it), and
    `unknown` when nothing below it finished. Reference steps are left as given.
    """
    children: dict[str | None, list[Node]] = {}
    for node in nodes:
        children.setdefault(node.parent, []).append(node)

    def leaves_of(node: Node) -> list[Node]:
        if node.terminal:
            return [node]
        found: list[Node] = []
        for child in children.get(node.id, []):
            found.extend(leaves_of(child))
        return found

    searched = [node for node in nodes if node.source != "reference"]
    for node in searched:
        node.verdicts = [v for v in node.verdicts if v.judge != BACKUP_JUDGE]
        if node.terminal:
            node.label = own_label(node)
            node.value = {"correct": 1.0, "incorrect": 0.0, "unknown": None}[node.label]
    for node in searched:
        if node.terminal:
            continue
        own = own_label(node)
        judged = [leaf for leaf in leaves_of(node) if leaf.label != "unknown"]
        if not judged:
            node.label = "incorrect" if own == "incorrect" else "unknown"
            node.value = None
            continue
        right = [leaf for leaf in judged if leaf.label == "correct"]
        node.value = len(right) / len(judged)
        if right:
            verdict = Verdict(
                judge=BACKUP_JUDGE,
                label="correct",
                score=node.value,
                reason=f"{len(right)} of {len(judged)} finished continuations reach the gold "
                f"answer {gold}",
            )
        else:
            verdict = Verdict(
                judge=BACKUP_JUDGE,
                label="incorrect",
                score=0.0,
                reason=f"all {len(judged)} finished continuations end wrong (final answers "
                f"{_answers(judged)}; gold answer {gold})",
            )
        node.verdicts.append(verdict)
        node.label = "incorrect" if own == "incorrect" else verdict.label


def tree_stats(nodes: Sequence[Node], usage: Usage, stop_reason: str | None) -> TreeStats:
    """Size, depth, leaves by label and tokens of a finished search."""
    depth_of: dict[str, int] = {}
    for node in nodes:  # parents always come before children
        depth_of[node.id] = 1 if node.parent is None else depth_of[node.parent] + 1
    leaves = [node for node in nodes if node.terminal]
    return TreeStats(
        nodes=len(nodes),
        depth=max(depth_of.values(), default=0),
        terminal=len(leaves),
        correct_leaves=sum(1 for leaf in leaves if leaf.label == "correct"),
        incorrect_leaves=sum(1 for leaf in leaves if leaf.label == "incorrect"),
        usage=usage,
        stop_reason=stop_reason,
    )
