"""`journeygen stats` and export determinism, on hand-made samples and trees and a scripted fake
run; the trust rows (evidence behind correct paths, cut and padding steps) worked out by hand."""

from __future__ import annotations

import json
from contextlib import chdir
from pathlib import Path

from click.testing import CliRunner, Result
from hand_cases import PROBLEM, fake_run_inputs, judged_start, leaf

from journeygen.cli import main
from journeygen.config import RunConfig
from journeygen.derive.samples import samples
from journeygen.judges.answers import answer_statement
from journeygen.judges.labels import backup_labels
from journeygen.judges.redundancy import redundancy_verdict
from journeygen.models import Label, Node, Problem, Provenance, Sample, Segment, Tree, Verdict
from journeygen.prompts import load_prompts
from journeygen.search.reference import reference_nodes
from journeygen.view.evidence import EvidenceStats
from journeygen.view.stats import compute_stats, count_tokens


def sample(kind: str, thought: str, sources: list[str], reason: str | None = None) -> Sample:
    segments = [Segment(kind="step", node_id="1", text="x")]
    for source in sources:
        segments += [
            Segment(kind="wrong_step", node_id="2", text="y"),
            Segment(kind="reflection", node_id="2", text="z", source=source),  # type: ignore[arg-type]
            Segment(kind="backtrack", node_id="1", text="x"),
        ]
    return Sample(
        kind=kind,  # type: ignore[arg-type]
        prompt="q",
        thought=thought,
        solution="s",
        provenance=Provenance(
            run="r",
            problem_id=f"p{len(thought)}",
            node_ids=["1"],
            config_hash="h",
            path_source="policy",
            linearize_mode="rewrite" if reason is None and kind == "journey" else "template",
            linearize_reason=reason,
        ),
        segments=segments,
    )


def test_tokens_are_words_numbers_and_punctuation() -> None:
    assert count_tokens("3 + 5 = 8.") == 6
    assert count_tokens("Hmm, wait.") == 4


def test_stats_of_hand_made_samples() -> None:
    journeys = [
        sample("journey", "a" * 10, ["answer", "llm"]),
        sample(
            "journey", "b" * 20, ["arithmetic"], "fidelity check failed: dropped: x; numbers: 1"
        ),
        sample("journey", "c" * 40, ["answer"], "no rewrite: none cached and no backend"),
    ]
    shortcuts = [sample("shortcut", "one two.", [], None)]
    stats = compute_stats(
        "r", problems=5, trees=[], journeys=journeys, shortcuts=shortcuts, rejects=2
    )
    assert (stats.problems, stats.journeys, stats.shortcuts, stats.rejects) == (5, 3, 1, 2)
    assert stats.trees_with_journey == 3
    assert stats.detours_per_journey.values == [2, 1, 1]
    assert stats.detours_per_journey.mean == 1.33 and stats.detours_per_journey.median == 1
    assert stats.reflection_sources == {"answer": 2, "llm": 1, "arithmetic": 1}
    assert stats.lengths["journey"].chars.values == [10, 20, 40]
    assert stats.lengths["journey"].tokens.values == [1, 1, 1]
    assert stats.lengths["shortcut"].tokens.values == [3]
    fidelity = stats.fidelity
    assert (fidelity.requested, fidelity.checked, fidelity.passed) == (3, 2, 1)
    assert fidelity.pass_rate == 0.5 and fidelity.no_rewrite == 1
    assert fidelity.failures == {"dropped": 1, "numbers": 1}
    assert stats.linearize_modes == {"rewrite": 1, "template": 2}


def journeygen(*args: str | Path, cwd: Path) -> Result:
    """The command in-process (a subprocess per call would cost seconds of imports)."""
    with chdir(cwd):
        return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)


def fake_run(tmp_path: Path) -> None:
    problems, _ = fake_run_inputs(tmp_path, broken_line=2)  # the third line
    args = ("--backend", "fake", "--model", "script.json", "--width", "2", "--depth", "2")
    done = journeygen("generate", problems, *args, cwd=tmp_path)
    assert done.exit_code == 0, done.output


def test_stats_of_a_fake_run_as_json_and_as_tables(tmp_path: Path) -> None:
    fake_run(tmp_path)
    done = journeygen("stats", "demo", "--json", cwd=tmp_path)
    assert done.exit_code == 0, done.output
    stats = json.loads(done.stdout)
    # The fake answers without waiting, so each tree runs to its save before the next starts
    # and both read the cycling script from its start: "First I add" and "answer is 9" at
    # depth 1, then the correct "total is 8" and "answer is 7" under "First I add". Each
    # journey detours through the two wrong answers, 9 and 7, on the model's own path.
    assert (stats["problems"], stats["trees"], stats["journeys"], stats["shortcuts"]) == (
        2,
        2,
        2,
        2,
    )
    assert stats["rejects"] == 1  # the broken third line
    assert stats["detours_per_journey"]["values"] == [2, 2]
    assert stats["reflection_sources"] == {"answer": 4}
    assert stats["fidelity"]["pass_rate"] is None
    tables = journeygen("stats", "demo", "--linearize", "rewrite", cwd=tmp_path)
    assert tables.exit_code == 0, tables.output
    assert "reflection sources" in tables.stdout and "answer" in tables.stdout
    assert "0/0 passed (n/a); no rewrite 2" in tables.stdout
    missing = journeygen("stats", "nope", cwd=tmp_path)
    assert missing.exit_code != 0 and "no run at" in missing.output


def test_exports_repeat_byte_for_byte_and_the_journey_seed_changes_detours(tmp_path: Path) -> None:
    fake_run(tmp_path)

    def export(name: str, *knobs: str) -> bytes:
        out = tmp_path / name
        done = journeygen("export", "demo", "--kind", "journey", "-o", out, *knobs, cwd=tmp_path)
        assert done.exit_code == 0, done.output
        return out.read_bytes()

    assert export("a.jsonl") == export("b.jsonl")
    assert export("c.jsonl", "--journey-seed", "4") == export("d.jsonl", "--journey-seed", "4")
    by_seed = {export(f"s{seed}.jsonl", "--journey-seed", str(seed)) for seed in range(6)}
    assert len(by_seed) >= 2
    bad = journeygen("export", "demo", "--reflection-sources", "judge,oracle", cwd=tmp_path)
    assert bad.exit_code == 2 and "oracle" in bad.output


# ---- how far the labels can be trusted, on hand-built trees ----


def apples_tree() -> Tree:
    """Policy path 1 → 1.1: step 1 judged correct by the LLM judge and by its value (1 of 2
    finished continuations right: 0.50, at the threshold); two steps cut by max_tokens (4, 5)
    and one repeating step 1 (1.3); final answers boxed (2), "The answer is" (1.1), #### (1.2.1)."""
    start = judged_start("1")
    repeat = "Tom starts with 3 apples."
    nodes = [
        start,
        leaf("2", None, "So it is \\boxed{9}.", "9"),
        Node(id="3", parent=None, text="Tom has no apples."),
        Node(id="4", parent=None, text="Tom has 3 apples and then he", finish_reason="length"),
        Node(id="5", parent=None, text="He buys", finish_reason="length"),
        leaf("1.1", "1", "3 + 5 = 8. The answer is 8.", "8"),
        Node(id="1.2", parent="1", text="He buys 4 more."),
        Node(
            id="1.3",
            parent="1",
            text=repeat,
            verdicts=[v for v in [redundancy_verdict(repeat, PROBLEM.question, [start])] if v],
        ),
        leaf("1.2.1", "1.2", "3 + 4 = 7\n#### 7", "7"),
    ]
    backup_labels(nodes, "8")
    return Tree(problem=PROBLEM, nodes=nodes, config=RunConfig().model_dump(mode="json"))


def pens_tree() -> Tree:
    """No policy path (answers 12 and 12), so the reference solution ref1 → ref2 is the path."""
    problem = Problem(
        id="pens",
        question="Ann has 10 pens and gives away 2. How many are left?",
        answer="8",
        solution="10 - 2 = 8.\nThe answer is 8.",
    )
    nodes = [
        leaf("1", None, "The answer is 12.", "12"),
        Node(id="2", parent=None, text="Ann has 10 pens."),
        leaf("2.1", "2", "10 + 2 = 12. The answer is 12.", "12"),
    ]
    backup_labels(nodes, "8")
    nodes += reference_nodes(problem)
    return Tree(problem=problem, nodes=nodes, config=RunConfig().model_dump(mode="json"))


def human(node_id: str, parent: str | None, text: str, label: Label, answer: str | None) -> Node:
    """An imported step with a labeller's verdict; a step under another one is final."""
    verdict = Verdict(judge="human", label=label, reason=f"rated {label} by a labeller")
    return Node(
        id=node_id, parent=parent, text=text, source="import", terminal=parent is not None,
        answer=answer, label=label, verdicts=[verdict],
    )  # fmt: skip


def imported_tree() -> Tree:
    """Human labels (PRM800K style): 1 → 1.1 correct ("Answer: 12"), 1.2 wrong, no statement."""
    problem = Problem(id="cookies", question="4 rows of 3 cookies: how many?", answer="12")
    nodes = [
        human("1", None, "The box has 4 rows of 3.", "correct", None),
        human("1.1", "1", "4 * 3 = 12.\nAnswer: 12", "correct", "12"),
        human("1.2", "1", "It is 13.", "incorrect", None),
    ]
    return Tree(problem=problem, nodes=nodes, config=RunConfig().model_dump(mode="json"))


def bad_sum_tree() -> Tree:
    """The LLM judge passed "2 + 2 = 5" (no arithmetic judge ran) and the path still reached
    the gold answer 4: a journey whose correct path fails the arithmetic check."""
    problem = Problem(id="bad", question="Sam has 2 cookies and gets 2 more. How many?", answer="4")
    llm = Verdict(judge="llm", label="correct", score=1.0, reason="adds what he gets")
    nodes = [
        Node(id="1", parent=None, text="First 2 + 2 = 5.", verdicts=[llm]),
        leaf("2", None, "The answer is 5.", "5", gold="4"),
        leaf("3", None, "Then 6 is the answer.", "6", gold="4"),
        leaf("1.1", "1", "So he has 4 cookies. The answer is 4.", "4", gold="4"),
    ]
    backup_labels(nodes, "4")
    return Tree(problem=problem, nodes=nodes, config=RunConfig().model_dump(mode="json"))


def trust(trees: list[Tree]) -> EvidenceStats:
    prompts = load_prompts()
    journeys = list(samples(trees, "journey", prompts, run="r"))
    shortcuts = list(samples(trees, "shortcut", prompts, run="r"))
    assert len(journeys) == len(shortcuts) == len(trees)  # one of each per tree
    return compute_stats(
        "r", problems=len(trees), trees=trees, journeys=journeys, shortcuts=shortcuts, rejects=0
    ).evidence


def test_answer_statement_names_how_a_final_answer_is_stated() -> None:
    assert answer_statement("So it is \\boxed{9}.") == "boxed"
    assert answer_statement("3 + 4 = 7\n#### 7") == "####"
    assert answer_statement("The answer is 8.") == answer_statement("Answer: 12") == "the answer is"
    assert answer_statement("Then 6 is the answer.") == "is the answer"
    assert answer_statement("It is 13.") is None and answer_statement("j = 1") is None


def test_trust_rows_of_hand_built_trees() -> None:
    stats = trust([apples_tree(), pens_tree(), imported_tree(), bad_sum_tree()])
    # correct paths: apples 1 (llm + value), 1.1 (answer); pens ref1, ref2 (reference);
    # cookies 1, 1.1 (human); bad 1 (llm + value 1.00), 1.1 (answer)
    assert stats.correct_path_steps == 8
    assert stats.by_evidence == {"answer": 2, "human": 2, "llm": 2, "reference": 2, "value": 2}
    assert stats.only_evidence == {"answer": 2, "human": 2, "reference": 2}
    assert stats.paths == {"import": 1, "policy": 2, "reference": 1}
    assert stats.trees_without_path == 0
    # model steps: apples 9, pens 3, bad 4; cut: apples 4 and 5; padding: apples 1.3
    assert (stats.model_steps, stats.cut_steps, stats.redundant_steps) == (16, 2, 1)
    # final steps (not the reference's): apples 2, 1.1, 1.2.1; pens 1, 2.1; cookies 1.1, 1.2;
    # bad 2, 3, 1.1
    assert stats.answer_statements == {
        "boxed": 1, "####": 1, "the answer is": 6, "is the answer": 1, "none": 1,
    }  # fmt: skip
    assert stats.journeys_failing_arithmetic == 1
    assert stats.arithmetic_failures == ["bad/1: 2 + 2 is 4, not 5"]
    assert stats.hints == [
        "12% of the model's steps were cut by max_tokens: raise search.step_tokens (now 96) "
        "(search.final_tokens, search.rollout_tokens for cut final steps and whole solutions)"
    ]


def test_few_cut_steps_give_no_hint_and_a_tree_without_path_is_counted() -> None:
    unsolved = apples_tree()
    unsolved.nodes = [n for n in unsolved.nodes if n.id not in ("1.1", "4", "5")]
    backup_labels(unsolved.nodes, "8")  # 1 now has only a wrong leaf: no correct path
    stats = compute_stats(
        "r", problems=2, trees=[unsolved, bad_sum_tree()], journeys=[], shortcuts=[], rejects=0
    ).evidence
    assert (stats.cut_steps, stats.hints, stats.correct_path_steps) == (0, [], 0)
    assert stats.paths == {} and stats.trees_without_path == 2
