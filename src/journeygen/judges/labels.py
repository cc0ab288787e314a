"""Back labels up the tree: a step is wrong when every finished continuation of it ends wrong."""

from __future__ import annotations

from collections.abc import Sequence

from journeygen.config import JudgeConfig
from journeygen.judges.rollout import rollout_verdict
from journeygen.models import Label, Node, TreeStats, Usage, Verdict

__all__ = ["BACKUP_JUDGE", "HARD_JUDGES", "backup_labels", "combine", "own_label", "tree_stats"]

BACKUP_JUDGE = "backup"
ROLLOUT_JUDGE = "rollout"
HARD_JUDGES = frozenset({"answer", "arithmetic"})  # deterministic checks: a failure is final
_CASCADE = ("llm", ROLLOUT_JUDGE, BACKUP_JUDGE)  # after hard failures, first decisive wins


def own_label(node: Node) -> Label:
    """What the node's own judges say: any hard failure wins, then any pass, else unknown."""
    labels = {v.label for v in node.verdicts if v.judge != BACKUP_JUDGE}
    if "incorrect" in labels:
        return "incorrect"
    if "correct" in labels:
        return "correct"
    return "unknown"


def combine(node: Node, rule: str) -> Label:
    """A node's label from all its verdicts (its own and the backed-up one) under `rule`.

    `any`: an own `incorrect` verdict wins; else an inner step takes the backed-up label and
    a final step its own. `cascade`: a hard failure (answer, arithmetic) wins; else the first
    of llm, rollout, backup with a decisive label; else a hard pass; else unknown.
    """
    own = own_label(node)
    if rule == "any":
        if own == "incorrect" or node.terminal:
            return own
        backup = [v.label for v in node.verdicts if v.judge == BACKUP_JUDGE]
        return backup[0] if backup else "unknown"
    by_judge: dict[str, set[Label]] = {}
    for verdict in node.verdicts:
        by_judge.setdefault(verdict.judge, set()).add(verdict.label)
    hard = set().union(*(labels for judge, labels in by_judge.items() if judge in HARD_JUDGES))
    if "incorrect" in hard:
        return "incorrect"
    for judge in _CASCADE:
        decisive = by_judge.get(judge, set()) - {"unknown"}
        if decisive:
            return "incorrect" if "incorrect" in decisive else "correct"
    return "correct" if "correct" in hard else "unknown"


def _answers(leaves: Sequence[Node]) -> str:
    shown = sorted({leaf.answer or "none" for leaf in leaves})
    return ", ".join(shown[:5]) + (", …" if len(shown) > 5 else "")


def backup_labels(nodes: list[Node], gold: str | None, judges: JudgeConfig | None = None) -> None:
    """Set `label` and `value` of every node from its own verdicts and its finished leaves.

    A terminal step keeps its own label; value 1.0 if correct, 0.0 if incorrect. An inner
    step's value is the share of its judged leaves that are correct (a value a strategy set
    stays when nothing below finished); the backed-up verdict is `correct` if any leaf is,
    `incorrect` if all judged leaves are wrong. With the `rollout` judge configured, an inner
    step with a value also gets a rollout verdict against its threshold. The verdicts then
    combine as `judges.combine` says (default `any`: an own failure wins, else the backed-up
    label, else `unknown`). Reference steps are left as given.
    """
    settings = judges or JudgeConfig()
    rollout = ROLLOUT_JUDGE in settings.use
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
        derived = (BACKUP_JUDGE, ROLLOUT_JUDGE) if rollout else (BACKUP_JUDGE,)
        node.verdicts = [v for v in node.verdicts if v.judge not in derived]
        if node.terminal:
            node.label = combine(node, settings.combine)
            node.value = {"correct": 1.0, "incorrect": 0.0, "unknown": None}[node.label]
    for node in searched:
        if node.terminal:
            continue
        judged = [leaf for leaf in leaves_of(node) if leaf.label != "unknown"]
        if judged:
            _add_backup(node, judged, gold)
        if rollout and (verdict := rollout_verdict(node, settings.rollout_threshold)):
            node.verdicts.append(verdict)
        node.label = combine(node, settings.combine)


def _add_backup(node: Node, judged: Sequence[Node], gold: str | None) -> None:
    """The value and the backed-up verdict of an inner step from its judged leaves."""
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
