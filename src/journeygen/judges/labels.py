"""Label a searched tree: back labels up from finished continuations, check step values
against the rollout threshold, and combine every verdict into each step's label."""

from __future__ import annotations

from collections.abc import Sequence

from journeygen.config import JudgeConfig
from journeygen.judges import BACKUP, JUDGES, traits
from journeygen.models import Label, Node, Verdict

__all__ = ["backup_labels", "combine", "own_label", "value_verdict"]

ROLLOUT = "rollout"
# After hard failures, the first decisive verdict wins: the judges that are no hard check,
# in registry order (llm, then the rollout value), then the backed-up label.
_CASCADE = (*(name for name, kind in JUDGES.items() if not kind.hard), BACKUP)


def value_verdict(node: Node, threshold: float) -> Verdict | None:
    """The rollout check: `incorrect` when the inner step's value (share of its finished
    continuations that reach the gold answer) is at or below `threshold`, else `correct`;
    None for a final step (its answer judges it) or a step without a value."""
    if node.terminal or node.value is None:
        return None
    if node.value <= threshold:
        reason = (
            f"value {node.value:.2f} (share of continuations that reach the gold answer) "
            f"is at or below the threshold {threshold:.2f}"
        )
        return Verdict(judge=ROLLOUT, label="incorrect", score=node.value, reason=reason)
    reason = f"value {node.value:.2f} is above the threshold {threshold:.2f}"
    return Verdict(judge=ROLLOUT, label="correct", score=node.value, reason=reason)


def own_label(node: Node) -> Label:
    """What the node's own judges say: any hard failure wins, then any pass, else unknown."""
    labels = {v.label for v in node.verdicts if v.judge != BACKUP}
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
        backup = [v.label for v in node.verdicts if v.judge == BACKUP]
        return backup[0] if backup else "unknown"
    by_judge: dict[str, set[Label]] = {}
    for verdict in node.verdicts:
        by_judge.setdefault(verdict.judge, set()).add(verdict.label)
    hard = set().union(*(labels for judge, labels in by_judge.items() if traits(judge).hard))
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
    rollout = ROLLOUT in settings.use
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
        derived = (BACKUP, ROLLOUT) if rollout else (BACKUP,)
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
        if rollout and (verdict := value_verdict(node, settings.rollout_threshold)):
            node.verdicts.append(verdict)
        node.label = combine(node, settings.combine)


def _add_backup(node: Node, judged: Sequence[Node], gold: str | None) -> None:
    """The value and the backed-up verdict of an inner step from its judged leaves."""
    right = [leaf for leaf in judged if leaf.label == "correct"]
    node.value = len(right) / len(judged)
    if right:
        verdict = Verdict(
            judge=BACKUP,
            label="correct",
            score=node.value,
            reason=f"{len(right)} of {len(judged)} finished continuations reach the gold "
            f"answer {gold}",
        )
    else:
        verdict = Verdict(
            judge=BACKUP,
            label="incorrect",
            score=0.0,
            reason=f"all {len(judged)} finished continuations end wrong (final answers "
            f"{_answers(judged)}; gold answer {gold})",
        )
    node.verdicts.append(verdict)
