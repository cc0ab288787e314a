"""Label a searched tree: back labels up from finished continuations, check step values
against the rollout threshold, and combine every verdict into each step's label."""

from __future__ import annotations

from collections.abc import Sequence

from journeygen.config import JudgeConfig
from journeygen.judges import BACKUP, JUDGES, traits
from journeygen.models import Label, Node, Verdict, children_by_parent, path_to

__all__ = [
    "backup_labels",
    "combine",
    "own_label",
    "solved_leaves",
    "solved_paths",
    "value_verdict",
]

ROLLOUT = "rollout"
# After hard failures, the first decisive verdict wins: the judges that are no hard check,
# in registry order (llm, then the rollout value), then the backed-up label.
_CASCADE = (*(name for name, kind in JUDGES.items() if not kind.hard), BACKUP)


def value_verdict(node: Node, wrong_at: float, right_at: float) -> Verdict | None:
    """The rollout check: `incorrect` when the inner step's value (share of its finished
    continuations that reach the gold answer) is at or below `wrong_at`, `correct` at or
    above `right_at`, else `unknown`; None for a final step (its answer judges it) or a
    step without a value."""
    if node.terminal or node.value is None:
        return None
    value = node.value
    if value <= wrong_at:
        reason = (
            f"value {value:.2f} (share of continuations that reach the gold answer) "
            f"is at or below the threshold {wrong_at:.2f}"
        )
        return Verdict(judge=ROLLOUT, label="incorrect", score=value, reason=reason)
    if value >= right_at:
        reason = f"value {value:.2f} is at least the threshold {right_at:.2f}"
        return Verdict(judge=ROLLOUT, label="correct", score=value, reason=reason)
    reason = f"value {value:.2f} is between the thresholds {wrong_at:.2f} and {right_at:.2f}"
    return Verdict(judge=ROLLOUT, label="unknown", score=value, reason=reason)


def own_label(node: Node) -> Label:
    """What the node's own judges say: any failure wins, then any pass, else unknown."""
    return _strongest([v for v in node.verdicts if v.judge != BACKUP])


def combine(node: Node, rule: str) -> Label:
    """A node's label from all its verdicts (its own and the backed-up one) under `rule`.

    A step cut by `max_tokens` is `unknown` whatever its verdicts say. `any`: an
    `incorrect` verdict wins; else a `correct` one (a matching answer, a judge, a value at or
    above the threshold) makes the step correct. `consensus`: as `any`, but an inner step
    is correct only when a judge's verdict and its value agree. `cascade`: a hard failure
    (answer, arithmetic) wins; else the first of llm, rollout, backup with a decisive label;
    else a hard pass; else unknown.
    """
    if node.finish_reason == "length":
        return "unknown"
    if rule != "cascade":
        label = _strongest(node.verdicts)
        if rule == "consensus" and label == "correct" and not node.terminal:
            return "correct" if _judged_and_valued(node) else "unknown"
        return label
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


def _strongest(verdicts: Sequence[Verdict]) -> Label:
    """Any `incorrect` verdict, else any `correct` one, else unknown."""
    labels = {v.label for v in verdicts}
    if "incorrect" in labels:
        return "incorrect"
    return "correct" if "correct" in labels else "unknown"


def _judged_and_valued(node: Node) -> bool:
    """Both kinds of evidence say correct: a judge that reads the step (an LLM or a human)
    and the value of its continuations (backed up, or the rollout check)."""
    by_value = {BACKUP, ROLLOUT}
    correct = {v.judge for v in node.verdicts if v.label == "correct"}
    return bool(correct & by_value) and any(traits(judge).explains for judge in correct - by_value)


def solved_paths(nodes: Sequence[Node]) -> list[list[Node]]:
    """The steps down to each final step labelled correct whose every step above is correct
    too (first step first): the only paths a sample may present as the solution (a step
    without evidence makes the path unfit)."""
    by_id = {node.id: node for node in nodes}
    ends = (node for node in nodes if node.terminal and node.label == "correct")
    paths = (path_to(by_id, node.id) for node in ends)
    return [path for path in paths if all(step.label == "correct" for step in path)]


def solved_leaves(nodes: Sequence[Node]) -> list[Node]:
    """Final steps labelled correct whose every step above is correct too: the leaves of
    `solved_paths`."""
    return [path[-1] for path in solved_paths(nodes)]


def _answers(leaves: Sequence[Node]) -> str:
    shown = sorted({leaf.answer or "none" for leaf in leaves})
    return ", ".join(shown[:5]) + (", …" if len(shown) > 5 else "")


def backup_labels(nodes: list[Node], gold: str | None, judges: JudgeConfig | None = None) -> None:
    """Set `label` and `value` of every node from its own verdicts and its finished leaves.

    A terminal step keeps its own label; value 1.0 if correct, 0.0 if incorrect. An inner
    step's value is the share of its judged leaves that are correct (a value a strategy set
    stays when nothing below finished); the backed-up verdict is `correct` when that share
    is at least `judges.value_threshold` (one lucky continuation is no evidence), `incorrect`
    if all judged leaves are wrong, else `unknown`. With the `rollout` judge configured, an
    inner step with a value also gets a rollout verdict against the thresholds. The verdicts
    then combine as `judges.combine` says. Reference steps are left as given.
    """
    settings = judges or JudgeConfig()
    rollout = ROLLOUT in settings.use
    children = children_by_parent(nodes)

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
            _add_backup(node, judged, gold, settings.value_threshold)
        if rollout:
            verdict = value_verdict(node, settings.rollout_threshold, settings.value_threshold)
            if verdict is not None:
                node.verdicts.append(verdict)
        node.label = combine(node, settings.combine)


def _add_backup(node: Node, judged: Sequence[Node], gold: str | None, threshold: float) -> None:
    """The value and the backed-up verdict of an inner step from its judged leaves; where a
    strategy tallied every sampled solution through the step (`visits`), its value stands."""
    right = [leaf for leaf in judged if leaf.label == "correct"]
    if not node.visits or node.value is None:  # else a strategy counted every sample: keep it
        node.value = len(right) / len(judged)
    reached = f"{len(right)} of {len(judged)} finished continuations reach the gold answer {gold}"
    if node.value >= threshold:
        verdict = Verdict(
            judge=BACKUP,
            label="correct",
            score=node.value,
            reason=f"{reached} (value {node.value:.2f}, at least {threshold:.2f})",
        )
    elif right:
        verdict = Verdict(
            judge=BACKUP,
            label="unknown",
            score=node.value,
            reason=f"{reached} (value {node.value:.2f}, below {threshold:.2f}): too few to "
            "call the step correct",
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
