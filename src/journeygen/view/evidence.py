"""How far a run's labels can be trusted, for `journeygen stats`: what evidence made each step
of the samples' correct paths correct, whose paths they are, how many steps were cut by
`max_tokens` or add nothing, how final steps state their answers, and whether any journey's
correct path holds a calculation the arithmetic check fails. Pure, over trees and samples."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import Field

from journeygen.judges import BACKUP
from journeygen.judges.answers import answer_statement
from journeygen.judges.arithmetic import check_claims
from journeygen.judges.labels import ROLLOUT
from journeygen.judges.redundancy import is_padding
from journeygen.models import Node, Sample, StrictModel, Tree, empty_dict, empty_list

__all__ = [
    "CUT_HINT_SHARE",
    "EVIDENCE",
    "STATEMENTS",
    "EvidenceStats",
    "evidence_of",
    "evidence_stats",
]

# A verdict's judge → the evidence it is: a stated final answer that matches, an LLM judge,
# a value at or above the threshold (backed up or the rollout check), the reference solution,
# a human label (imported); any other judge counts under its own name.
EVIDENCE = {
    "answer": "answer",
    "llm": "llm",
    BACKUP: "value",
    ROLLOUT: "value",
    "reference": "reference",
    "human": "human",
}
NO_EVIDENCE = "none"
STATEMENTS = ("boxed", "####", "the answer is", "is the answer", "none")
CUT_HINT_SHARE = 0.1  # at least this share of the model's steps cut: say which knob to raise


class EvidenceStats(StrictModel):
    """The trust rows of `journeygen stats`."""

    correct_path_steps: int = Field(0, description="distinct steps on the samples' correct paths")
    by_evidence: dict[str, int] = Field(
        default_factory=empty_dict, description="evidence → steps with it (a step may have several)"
    )
    only_evidence: dict[str, int] = Field(
        default_factory=empty_dict, description="evidence → steps with no other"
    )
    paths: dict[str, int] = Field(
        default_factory=empty_dict,
        description="correct paths the samples use, by their steps' source",
    )
    trees_without_path: int = 0
    model_steps: int = Field(0, description="steps written by the model (policy)")
    cut_steps: int = Field(0, description="steps whose completion was cut by max_tokens")
    redundant_steps: int = Field(0, description="steps that restate the question or a step")
    answer_statements: dict[str, int] = Field(
        default_factory=empty_dict, description="how non-reference final steps state their answer"
    )
    journeys_failing_arithmetic: int = 0
    arithmetic_failures: list[str] = Field(
        default_factory=empty_list, description="problem/node: the claim the check fails"
    )
    hints: list[str] = Field(default_factory=empty_list)


def evidence_of(node: Node) -> list[str]:
    """The kinds of evidence behind a step's `correct` label (`none` if it has none)."""
    kinds = {EVIDENCE.get(v.judge, v.judge) for v in node.verdicts if v.label == "correct"}
    return sorted(kinds) or [NO_EVIDENCE]


def _path(tree: Tree, sample: Sample) -> list[Node]:
    """The correct path a sample stands on: the steps down to its answer."""
    answer = next((seg.node_id for seg in sample.segments if seg.kind == "answer"), None)
    return tree.path(answer) if answer is not None else []


def _cut_hint(trees: Sequence[Tree], cut: int, steps: int) -> list[str]:
    if not steps or cut / steps < CUT_HINT_SHARE:
        return []
    limits = sorted({tree.config.search.step_tokens for tree in trees})
    now = f" (now {', '.join(map(str, limits))})" if limits else ""
    return [
        f"{cut / steps:.0%} of the model's steps were cut by max_tokens: raise "
        f"search.step_tokens{now} (search.final_tokens, search.rollout_tokens for cut final "
        "steps and whole solutions)"
    ]


def evidence_stats(
    trees: Sequence[Tree], journeys: Sequence[Sample], shortcuts: Sequence[Sample]
) -> EvidenceStats:
    """The trust rows of a run from its trees and the samples built from them."""
    by_id = {tree.problem.id: tree for tree in trees}
    steps: dict[tuple[str, str], Node] = {}
    paths: dict[tuple[str, str], str] = {}
    for sample in [*journeys, *shortcuts]:
        tree = by_id.get(sample.provenance.problem_id)
        path = _path(tree, sample) if tree else []
        if tree is None or not path:
            continue
        paths[(tree.problem.id, path[-1].id)] = path[-1].source  # policy, reference, import
        steps.update({(tree.problem.id, node.id): node for node in path})
    kinds = [evidence_of(node) for node in steps.values()]
    model = [node for tree in trees for node in tree.nodes if node.source == "policy"]
    cut = sum(1 for node in model if node.finish_reason == "length")
    finals = [node for tree in trees for node in tree.nodes if node.terminal]
    statements: Counter[str] = Counter(
        answer_statement(node.text) or "none" for node in finals if node.source != "reference"
    )
    failing, failures = _arithmetic(by_id, journeys)
    return EvidenceStats.model_construct(
        correct_path_steps=len(steps),
        by_evidence=dict(sorted(Counter(k for found in kinds for k in found).items())),
        only_evidence=dict(sorted(Counter(found[0] for found in kinds if len(found) == 1).items())),
        paths=dict(sorted(Counter(paths.values()).items())),
        trees_without_path=len({pid for pid in by_id} - {pid for pid, _ in paths}),
        model_steps=len(model),
        cut_steps=cut,
        redundant_steps=sum(1 for tree in trees for node in tree.nodes if is_padding(node)),
        answer_statements={kind: statements[kind] for kind in STATEMENTS if statements[kind]},
        journeys_failing_arithmetic=failing,
        arithmetic_failures=failures,
        hints=_cut_hint(trees, cut, len(model)),
    )


def _arithmetic(by_id: dict[str, Tree], journeys: Sequence[Sample]) -> tuple[int, list[str]]:
    """Journeys whose correct path holds a step with a calculation that does not hold, and
    each such step once as `problem/node: claim`."""
    failed: dict[tuple[str, str], str] = {}
    checked: set[tuple[str, str]] = set()
    count = 0
    for sample in journeys:
        tree = by_id.get(sample.provenance.problem_id)
        bad = False
        for node in _path(tree, sample) if tree else []:
            key = (sample.provenance.problem_id, node.id)
            if key not in checked:
                checked.add(key)
                wrong = [claim.reason for claim in check_claims(node.text) if not claim.holds]
                if wrong:
                    failed[key] = "; ".join(wrong)
            bad = bad or key in failed
        count += bad
    return count, [f"{pid}/{node}: {reason}" for (pid, node), reason in sorted(failed.items())]
