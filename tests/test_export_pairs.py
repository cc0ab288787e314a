"""DPO pairs and PRM paths read off a hand-built tree: exactly the expected ones, in order."""

from __future__ import annotations

from export_cases import QUESTION, TIMES, node

from journeygen.export import labelled_paths, step_pairs
from journeygen.models import Problem, Tree, Verdict

WRONG_OWN = [Verdict(judge="arithmetic", label="incorrect", reason="3 + 3 is 6, not 5")]


def hand_tree() -> Tree:
    """
    1    Ann starts with 2 pens.                 correct
    ├─ 1.1  2 + 3 = 5. The answer is 5.         correct leaf
    ├─ 1.2  2 x 3 = 6. The answer is 6.         incorrect leaf
    ├─ 1.3  She buys more pens.                 unknown (cut by the budget)
    └─ 1.4  2 x 3 = 6. The answer is 6.         incorrect leaf, same text as 1.2
    2    Ann has 3 pens.                         incorrect by its own judge
    ├─ 2.1  3 + 3 = 6. The answer is 6.         incorrect leaf
    └─ 2.2  That makes 5. The answer is 5.      correct leaf (below a wrong step)
    3    2 + 3 = 5. The answer is 5.             correct leaf
    4    Ann starts with 2 pens.                 incorrect, same text as 1
    └─ 4.1  2 - 3 = -1. The answer is -1.       incorrect leaf
    5    Let me think.                           unknown, nothing below
    """
    nodes = [
        node("1", None, "Ann starts with 2 pens.", "correct"),
        node("2", None, "Ann has 3 pens.", "incorrect", verdicts=WRONG_OWN),
        node("3", None, "2 + 3 = 5. The answer is 5.", "correct", terminal=True, answer="5"),
        node("4", None, "Ann starts with 2 pens.", "incorrect"),
        node("5", None, "Let me think.", "unknown"),
        node("1.1", "1", "2 + 3 = 5. The answer is 5.", "correct", terminal=True, answer="5"),
        node(
            "1.2", "1", f"2 {TIMES} 3 = 6. The answer is 6.", "incorrect", terminal=True, answer="6"
        ),
        node("1.3", "1", "She buys more pens.", "unknown"),
        node(
            "1.4", "1", f"2 {TIMES} 3 = 6. The answer is 6.", "incorrect", terminal=True, answer="6"
        ),
        node("2.1", "2", "3 + 3 = 6. The answer is 6.", "incorrect", terminal=True, answer="6"),
        node("2.2", "2", "That makes 5. The answer is 5.", "correct", terminal=True, answer="5"),
        node("4.1", "4", "2 - 3 = -1. The answer is -1.", "incorrect", terminal=True, answer="-1"),
    ]
    problem = Problem(id="pens", question=QUESTION, answer="5")
    return Tree(problem=problem, nodes=nodes, config_hash="abc123")


def test_dpo_pairs_are_correct_vs_wrong_siblings_below_a_correct_prefix() -> None:
    pairs = list(step_pairs(hand_tree(), run="demo"))
    # Root: 1 and 3 against 2 and 4, except 1 vs 4 (same text). Below 1: 1.1 against 1.2 only
    # (1.3 is unknown, 1.4 repeats 1.2's text). Nothing below 2: its own judge failed it.
    assert [([n.id for n in p.prefix], p.chosen.id, p.rejected.id) for p in pairs] == [
        ([], "1", "2"),
        ([], "3", "2"),
        ([], "3", "4"),
        (["1"], "1.1", "1.2"),
    ]
    assert all(p.prompt == QUESTION for p in pairs)
    assert pairs[3].provenance() == {
        "kind": "dpo",
        "run": "demo",
        "problem_id": "pens",
        "node_ids": ["1"],
        "chosen_id": "1.1",
        "rejected_id": "1.2",
        "config_hash": "abc123",
        "path_source": "policy",
    }


def test_prm_paths_stop_before_unknown_and_drop_repeats_and_prefixes() -> None:
    paths = list(labelled_paths(hand_tree(), run="demo"))
    # 1→1.3 is cut to [1], a prefix of 1→1.1; 1→1.4 repeats 1→1.2 word for word; 5 is
    # unknown from the start, so nothing of it is left.
    assert [([n.id for n in p.steps], p.labels) for p in paths] == [
        (["1", "1.1"], [True, True]),
        (["1", "1.2"], [True, False]),
        (["2", "2.1"], [False, False]),
        (["2", "2.2"], [False, True]),
        (["3"], [True]),
        (["4", "4.1"], [False, False]),
    ]
    assert paths[0].provenance()["node_ids"] == ["1", "1.1"]


def test_reference_steps_mark_the_path_source() -> None:
    tree = hand_tree()
    tree.nodes[0].source = "reference"  # node 1
    pairs = {(p.chosen.id, p.rejected.id): p for p in step_pairs(tree, run="demo")}
    assert pairs["1", "2"].provenance()["path_source"] == "reference"
    assert pairs["3", "2"].provenance()["path_source"] == "policy"
    assert pairs["1.1", "1.2"].provenance()["path_source"] == "reference"
    sources = {p.steps[0].id: p.provenance()["path_source"] for p in labelled_paths(tree, run="d")}
    assert sources == {"1": "reference", "2": "policy", "3": "policy", "4": "policy"}


def test_a_tree_without_labels_gives_nothing() -> None:
    tree = hand_tree()
    for each in tree.nodes:
        each.label = "unknown"
    assert list(step_pairs(tree, run="demo")) == []
    assert list(labelled_paths(tree, run="demo")) == []
