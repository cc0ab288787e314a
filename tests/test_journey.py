"""Extraction on hand-built trees gives exactly the expected segments, seeded and repeatable."""

from __future__ import annotations

import pytest
from hand_cases import PROBLEM, apples_nodes

from journeygen.derive.journey import extract_journey, extract_shortcut
from journeygen.derive.linearize import linearize
from journeygen.derive.reflect import reflect
from journeygen.models import Tree
from journeygen.prompts import load_prompts


def hand_tree() -> Tree:
    """The apples hand tree (hand_cases.apples_nodes), seed 0."""
    return Tree(problem=PROBLEM, nodes=apples_nodes(), config={"seed": 0})


def test_backed_up_labels_of_the_hand_tree() -> None:
    tree = hand_tree()
    labels = {n.id: (n.label, n.value) for n in tree.nodes}
    assert labels == {
        "1": ("correct", 0.5),
        "2": ("incorrect", 0.0),
        "3": ("unknown", None),
        "1.1": ("correct", 1.0),
        "1.2": ("incorrect", 0.0),
        "1.2.1": ("incorrect", 0.0),
    }


def test_shortcut_is_the_correct_path_only() -> None:
    shortcut = extract_shortcut(hand_tree())
    assert shortcut is not None
    assert [(s.kind, s.node_id) for s in shortcut.segments] == [("step", "1"), ("answer", "1.1")]
    assert shortcut.path_source == "policy"


def test_journey_takes_every_detour_followed_to_its_wrong_answer() -> None:
    journey = extract_journey(hand_tree(), detours=2, detour_depth=4, seed=0)
    assert journey is not None
    assert [(s.kind, s.node_id, s.text) for s in journey.segments] == [
        ("wrong_step", "2", "The answer is 9."),
        ("reflection", "2", "final answer 9 does not match the gold answer 8"),
        ("backtrack", None, ""),
        ("step", "1", "Tom starts with 3 apples."),
        ("wrong_step", "1.2", "He buys 4 more."),
        ("wrong_step", "1.2.1", "3 + 4 = 7. The answer is 7."),
        ("reflection", "1.2.1", "final answer 7 does not match the gold answer 8"),
        ("backtrack", "1", "Tom starts with 3 apples."),
        ("answer", "1.1", "3 + 5 = 8. The answer is 8."),
    ]
    assert journey.detours == 2


def test_detour_depth_skips_detours_whose_error_shows_too_late() -> None:
    journey = extract_journey(hand_tree(), detours=2, detour_depth=1, seed=0)
    assert journey is not None
    assert [s.node_id for s in journey.segments if s.kind == "wrong_step"] == ["2"]


def test_one_detour_is_chosen_by_the_seed_and_repeats_with_it() -> None:
    tree = hand_tree()
    picks = {}
    for seed in range(8):
        first = extract_journey(tree, detours=1, detour_depth=4, seed=seed)
        again = extract_journey(tree, detours=1, detour_depth=4, seed=seed)
        assert first == again and first is not None and first.detours == 1
        picks[seed] = tuple(s.node_id for s in first.segments if s.kind == "wrong_step")
    assert set(picks.values()) == {("2",), ("1.2", "1.2.1")}


def test_no_journey_without_a_wrong_branch_or_without_a_correct_leaf() -> None:
    tree = hand_tree()
    only_correct = tree.model_copy(
        update={"nodes": [n for n in tree.nodes if n.id in ("1", "1.1")]}
    )
    assert extract_journey(only_correct, detours=2, detour_depth=4, seed=0) is None
    no_correct = tree.model_copy(update={"nodes": [n for n in tree.nodes if n.id == "2"]})
    assert extract_journey(no_correct, detours=2, detour_depth=4, seed=0) is None
    assert extract_shortcut(no_correct) is None


def test_linearized_journey_reflects_backtracks_and_ends_with_the_gold_answer() -> None:
    # Reflections are resolved by `reflect` before linearising (their raw reason names the
    # gold answer, so `linearize` refuses an unreflected journey).
    tree = hand_tree()
    extracted = extract_journey(tree, detours=2, detour_depth=4, seed=0)
    assert extracted is not None
    with pytest.raises(ValueError, match="reflect"):
        linearize(extracted, tree, load_prompts(), run="r", seed=0)
    journey = reflect(extracted, tree, load_prompts(), sources=["answer"], texts=None, seed=0)
    assert [s.source for s in journey.segments if s.kind == "reflection"] == ["answer"] * 2
    sample = linearize(journey, tree, load_prompts(), run="r", seed=0)
    paragraphs = sample.thought.split("\n\n")
    assert len(paragraphs) == len(journey.segments)
    assert paragraphs[0] == "The answer is 9."
    assert "9" in paragraphs[1] and "8" not in paragraphs[1]  # reflects without the gold
    assert paragraphs[2] in load_prompts().phrase_list("backtrack_start")
    assert paragraphs[7].endswith("Tom starts with 3 apples.")
    assert sample.thought.index("3 + 4 = 7") < sample.thought.index("3 + 5 = 8")
    assert sample.solution.endswith("$\\boxed{8}$.")
    assert sample.solution.startswith("Tom starts with 3 apples.\n3 + 5 = 8. The answer is 8.")
    assert sample.provenance.node_ids == ["2", "1", "1.2", "1.2.1", "1.1"]
    assert linearize(journey, tree, load_prompts(), run="r", seed=0) == sample
