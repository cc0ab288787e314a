"""How verdicts combine into a step's label: `any` (the default), `consensus` and
`cascade`, the rollout verdict against its thresholds, and the rule that a step is `correct`
only on evidence; every label keeps its evidence."""

from __future__ import annotations

from journeygen.config import JudgeConfig
from journeygen.judges.labels import backup_labels, combine
from journeygen.models import Node, Verdict


def v(judge: str, label: str) -> Verdict:
    score = {"correct": 1.0, "incorrect": 0.0}.get(label)
    return Verdict(judge=judge, label=label, score=score, reason=f"{judge} says {label}")  # type: ignore[arg-type]


def tree() -> list[Node]:
    """1 ─ 1.1 (✓ leaf), 1.2 (✗ leaf), 1.3 (✗ leaf), 1.4 (✗ leaf); 2 ─ 2.1 (✗ leaf)."""
    leaf = {"terminal": True}
    return [
        Node(id="1", parent=None, text="a", verdicts=[v("llm", "incorrect")]),
        Node(id="2", parent=None, text="b", verdicts=[v("arithmetic", "unknown")]),
        Node(id="1.1", parent="1", text="c", verdicts=[v("answer", "correct")], **leaf),
        Node(id="1.2", parent="1", text="d", verdicts=[v("answer", "incorrect")], **leaf),
        Node(id="1.3", parent="1", text="e", verdicts=[v("answer", "incorrect")], **leaf),
        Node(id="1.4", parent="1", text="f", verdicts=[v("answer", "incorrect")], **leaf),
        Node(id="2.1", parent="2", text="g", verdicts=[v("answer", "incorrect")], **leaf),
    ]


def test_default_any_rule_is_unchanged_an_own_failure_wins() -> None:
    nodes = tree()
    backup_labels(nodes, "8")
    labels = {n.id: (n.label, n.value) for n in nodes}
    assert labels["1"] == ("incorrect", 0.25)  # llm failed it; 1 of 4 leaves right
    assert labels["2"] == ("incorrect", 0.0)  # every continuation ends wrong
    assert [x.judge for x in nodes[0].verdicts] == ["llm", "backup"]  # evidence kept


def test_rollout_threshold_adds_a_verdict_that_fails_a_weak_step() -> None:
    nodes = tree()
    nodes[0].verdicts = []
    backup_labels(nodes, "8", JudgeConfig(use=["answer", "rollout"], rollout_threshold=0.3))
    first = nodes[0]
    assert (first.label, first.value) == ("incorrect", 0.25)
    rollout = [x for x in first.verdicts if x.judge == "rollout"]
    assert [(x.label, x.score) for x in rollout] == [("incorrect", 0.25)]
    assert "0.25" in rollout[0].reason and "0.30" in rollout[0].reason
    backup_labels(nodes, "8", JudgeConfig(use=["answer", "rollout"], rollout_threshold=0.2))
    assert nodes[0].label == "unknown"  # 0.25 is above 0.2 but below the 0.5 for correct
    assert [x.label for x in nodes[0].verdicts] == ["unknown", "unknown"]
    config = JudgeConfig(use=["answer", "rollout"], rollout_threshold=0.2, value_threshold=0.25)
    backup_labels(nodes, "8", config)
    assert nodes[0].label == "correct"
    assert [x.judge for x in nodes[0].verdicts] == ["backup", "rollout"]  # replaced, not piled


def test_cascade_hard_failure_then_llm_then_rollout_then_backup() -> None:
    def node(*verdicts: Verdict, terminal: bool = False) -> Node:
        return Node(id="1", parent=None, text="t", terminal=terminal, verdicts=list(verdicts))

    assert combine(node(v("arithmetic", "incorrect"), v("llm", "correct")), "cascade") == (
        "incorrect"
    )
    assert combine(node(v("answer", "correct"), v("llm", "incorrect")), "cascade") == "incorrect"
    assert combine(node(v("llm", "correct"), v("rollout", "incorrect")), "cascade") == "correct"
    assert combine(node(v("llm", "unknown"), v("rollout", "incorrect")), "cascade") == ("incorrect")
    assert combine(node(v("rollout", "correct"), v("backup", "incorrect")), "cascade") == (
        "correct"
    )
    assert combine(node(v("answer", "correct"), terminal=True), "cascade") == "correct"
    assert combine(node(v("arithmetic", "unknown")), "cascade") == "unknown"
    # under `any` the LLM's failure wins over a passing answer
    assert combine(node(v("answer", "correct"), v("llm", "incorrect")), "any") == "incorrect"


def test_cascade_lets_the_llm_overrule_the_backed_up_leaves() -> None:
    nodes = tree()
    nodes[1].verdicts = [v("llm", "correct")]
    backup_labels(nodes, "8", JudgeConfig(use=["answer", "llm"], combine="cascade"))
    assert nodes[1].label == "correct"  # `any` would say incorrect: its only leaf is wrong
    backup_labels(nodes, "8")
    assert nodes[1].label == "incorrect"


def test_one_lucky_continuation_is_no_evidence_a_majority_is() -> None:
    nodes = tree()
    nodes[0].verdicts = []  # no judge spoke on step 1: only its continuations tell
    backup_labels(nodes, "8")
    backup = next(x for x in nodes[0].verdicts if x.judge == "backup")
    assert (nodes[0].label, backup.label) == ("unknown", "unknown")  # 1 of 4 reach 8
    assert "1 of 4" in backup.reason and "below 0.50" in backup.reason
    for leaf in nodes[3:5]:  # now 3 of 4 continuations reach the gold answer
        leaf.verdicts = [v("answer", "correct")]
    backup_labels(nodes, "8")
    assert (nodes[0].label, nodes[0].value) == ("correct", 0.75)


def test_consensus_needs_a_judge_and_the_value_for_an_inner_step() -> None:
    def node(*verdicts: Verdict, terminal: bool = False) -> Node:
        return Node(id="1", parent=None, text="t", terminal=terminal, verdicts=list(verdicts))

    assert combine(node(v("backup", "correct")), "consensus") == "unknown"
    assert combine(node(v("llm", "correct")), "consensus") == "unknown"
    assert combine(node(v("llm", "correct"), v("backup", "correct")), "consensus") == "correct"
    assert combine(node(v("llm", "correct"), v("rollout", "correct")), "consensus") == "correct"
    assert combine(node(v("llm", "incorrect"), v("backup", "correct")), "consensus") == (
        "incorrect"
    )
    # a final step needs no second opinion: its stated answer matched
    assert combine(node(v("answer", "correct"), terminal=True), "consensus") == "correct"
    # while `any` takes either piece of evidence
    assert combine(node(v("backup", "correct")), "any") == "correct"
    assert combine(node(v("llm", "correct")), "any") == "correct"


def test_a_step_cut_by_max_tokens_is_never_correct() -> None:
    cut = Node(
        id="1", parent=None, text="The answer is 8", terminal=True, answer="8",
        finish_reason="length", verdicts=[v("answer", "correct")],
    )  # fmt: skip
    for rule in ("any", "consensus", "cascade"):
        assert combine(cut, rule) == "unknown"
    backup_labels([cut], "8")
    assert cut.label == "unknown" and cut.value is None
