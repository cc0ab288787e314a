"""The extraction knobs: wrong trials per step, detours, samples per tree, the seed, and the
preference for detours whose reflection says why, then for plausible ones; `unknown`
(budget-cut) branches are never detours, and a shortfall of detours says why."""

from __future__ import annotations

from collections import Counter
from functools import partial

import hand_cases
from hand_cases import PROBLEM

from journeygen.config import JourneyConfig
from journeygen.derive.journey import (
    detour_shortfall,
    extract_journey,
    extract_journeys,
    plausibility,
)
from journeygen.derive.samples import SampleSettings, samples
from journeygen.judges.labels import backup_labels
from journeygen.models import Node, Segment, Tree, Verdict
from journeygen.prompts import load_prompts

leaf = partial(hand_cases.leaf, gold_words="gold")  # reasons here say "... gold 8"


def tree_of(*nodes: Node) -> Tree:
    listed = list(nodes)
    backup_labels(listed, "8")
    return Tree(problem=PROBLEM, nodes=listed, config={"seed": 0})


def two_by_two() -> Tree:
    """Two wrong siblings at each of the two correct-path steps."""
    return tree_of(
        hand_cases.judged_start(),
        leaf("2", None, "The answer is 9.", "9"),
        leaf("3", None, "3 - 5 = -2. The answer is -2.", "-2"),
        leaf("1.1", "1", "3 + 5 = 8. The answer is 8.", "8"),
        leaf("1.2", "1", "3 + 4 = 7. The answer is 7.", "7"),
        leaf("1.3", "1", "3 + 6 = 9. The answer is 9.", "9"),
    )


def wrong_ids(tree: Tree, **knobs: int) -> list[str]:
    journey = extract_journey(tree, detour_depth=4, **knobs)
    assert journey is not None
    return [s.node_id or "" for s in journey.segments if s.kind == "wrong_step"]


def test_one_wrong_trial_per_step_by_default_as_the_paper() -> None:
    for seed in range(10):
        ids = wrong_ids(two_by_two(), detours=2, seed=seed)
        # one detour at each step: one of 2/3 before step 1, one of 1.2/1.3 before 1.1
        assert len(ids) == 2
        assert ids[0] in ("2", "3") and ids[1] in ("1.2", "1.3")


def test_fresh_starts_from_the_question_fill_what_the_steps_leave_of_the_budget() -> None:
    for seed in range(10):
        ids = wrong_ids(two_by_two(), detours=4, seed=seed)
        # the question takes both of its wrong first steps; step 1 still takes one
        assert sorted(ids[:2]) == ["2", "3"] and ids[2] in ("1.2", "1.3") and len(ids) == 3


def test_wrong_trials_puts_several_detours_at_one_step() -> None:
    tree = two_by_two()
    journey = extract_journey(tree, detours=4, detour_depth=4, seed=0, wrong_trials=2)
    assert journey is not None
    kinds = [(s.kind, s.node_id) for s in journey.segments if s.kind != "reflection"]
    first, second = kinds[0][1], kinds[2][1]
    third, fourth = kinds[5][1], kinds[7][1]
    assert {first, second} == {"2", "3"} and {third, fourth} == {"1.2", "1.3"}
    assert [k for k, _ in kinds] == [
        "wrong_step", "backtrack", "wrong_step", "backtrack", "step",
        "wrong_step", "backtrack", "wrong_step", "backtrack", "answer",
    ]  # fmt: skip
    # the detour budget still caps the total; two trials may share a step
    picked = [sorted(wrong_ids(tree, detours=2, seed=s, wrong_trials=2)) for s in range(12)]
    assert all(len(ids) == 2 for ids in picked)
    assert ["1.2", "1.3"] in picked or ["2", "3"] in picked


def test_samples_per_tree_gives_distinct_journeys_and_no_more_than_exist() -> None:
    tree = two_by_two()
    config = JourneyConfig(detours=1, samples_per_tree=4)
    journeys = extract_journeys(tree, config, seed=0)
    picked = [tuple(s.node_id for s in j.segments if s.kind == "wrong_step") for j in journeys]
    assert sorted(picked) == [("1.2",), ("1.3",), ("2",), ("3",)]  # the 4 one-detour walks
    more = extract_journeys(tree, config.updated({"samples_per_tree": 10}), seed=0)
    assert len(more) == 4
    assert extract_journeys(tree, config, seed=0) == journeys


def test_plausible_detours_are_preferred_to_gibberish_but_not_exclusively() -> None:
    tree = tree_of(
        hand_cases.judged_start(),
        leaf("1.1", "1", "3 + 5 = 8. The answer is 8.", "8"),
        leaf("2", None, "Apples apples apples apples apples", None),
        leaf("3", None, "He buys 4 more, so 3 + 4 = 7. The answer is 7.", "7"),
    )
    # form: gibberish 0.4 (no number, 1 distinct word in 5), plausible 1.0; no judge scores
    assert abs(plausibility([tree.node("2")]) - 0.45) < 1e-9
    assert abs(plausibility([tree.node("3")]) - 0.75) < 1e-9
    picks = Counter(wrong_ids(tree, detours=1, seed=seed)[0] for seed in range(60))
    # weights 0.02 + p^4: 0.061 vs 0.336, so about 85% plausible
    assert picks["3"] >= 42 and picks["2"] >= 1


def test_a_high_judge_score_makes_a_detour_likelier() -> None:
    def llm(score: float) -> Verdict:
        return Verdict(judge="llm", label="incorrect", score=score, reason="adds the wrong count")

    tree = tree_of(
        hand_cases.judged_start(),
        leaf("1.1", "1", "3 + 5 = 8. The answer is 8.", "8"),
        leaf("2", None, "3 + 4 = 7. The answer is 7.", "7", llm(0.9)),
        leaf("3", None, "3 + 6 = 9. The answer is 9.", "9", llm(0.1)),
    )
    assert abs(plausibility([tree.node("2")]) - 0.95) < 1e-9  # the answer judge's 0 is ignored
    picks = Counter(wrong_ids(tree, detours=1, seed=seed)[0] for seed in range(60))
    assert picks["2"] >= 45  # 0.835 vs 0.111: about 88%


def test_a_branch_the_budget_cut_is_never_a_detour() -> None:
    correct = [
        hand_cases.judged_start(),
        leaf("1.1", "1", "3 + 5 = 8. The answer is 8.", "8"),
    ]
    cut = Node(id="2", parent=None, text="He buys 4 more.")  # nothing below it finished
    tree = tree_of(*correct, cut)
    assert tree.node("2").label == "unknown"
    assert all(extract_journey(tree, detours=2, detour_depth=4, seed=s) is None for s in range(5))
    wrong = leaf("3", None, "The answer is 9.", "9")
    tree = tree_of(*correct, cut, wrong)
    for seed in range(20):
        assert wrong_ids(tree, detours=2, seed=seed) == ["3"]


def test_same_tree_and_seed_give_identical_samples_and_seeds_vary_the_detours() -> None:
    tree = two_by_two()
    prompts = load_prompts()

    def dump(seed: int) -> str:
        settings = SampleSettings(journey={"seed": seed, "detours": 1})
        rows = samples([tree], "journey", prompts, run="r", settings=settings)
        return "\n".join(s.model_dump_json() for s in rows)

    assert dump(3) == dump(3)
    detours = {
        tuple(s.node_id for s in samples_of(tree, seed) if s.kind == "wrong_step")
        for seed in range(8)
    }
    assert len(detours) >= 3  # 4 possible one-detour walks
    assert len({dump(seed) for seed in range(8)}) >= 3


def samples_of(tree: Tree, seed: int) -> list[Segment]:
    settings = SampleSettings(journey={"seed": seed, "detours": 1})
    (sample,) = samples([tree], "journey", load_prompts(), run="r", settings=settings)
    return list(sample.segments)


def reference_tree(*model: Node) -> Tree:
    """The reference solution ref1 → ref2 as the correct path, the model's steps beside it."""
    verdict = Verdict(judge="reference", label="correct", score=1.0, reason="reference step")
    ref = {"source": "reference", "label": "correct", "value": 1.0, "verdicts": [verdict]}
    return tree_of(
        *model,
        Node(id="ref1", parent=None, text="3 + 5 = 8.", **ref),
        Node(id="ref2", parent="ref1", text="The answer is 8.", terminal=True, answer="8", **ref),
    )


def test_a_reference_path_takes_every_wrong_first_step_up_to_detours() -> None:
    """Every branch of the model hangs at the question, where a reference path starts."""
    tree = reference_tree(
        leaf("1", None, "The answer is 9.", "9"),
        leaf("2", None, "3 + 4 = 7. The answer is 7.", "7"),
        leaf("3", None, "3 - 5 = -2. The answer is -2.", "-2"),
        Node(id="4", parent=None, text="He buys 4 more."),  # unknown: never a detour
    )
    for seed in range(6):
        assert len(wrong_ids(tree, detours=2, seed=seed)) == 2
        assert sorted(wrong_ids(tree, detours=5, seed=seed)) == ["1", "2", "3"]


def test_detours_whose_reflection_says_why_come_first() -> None:
    wrong_sum = Verdict(judge="arithmetic", label="incorrect", reason="3 + 5 is 8, not 9")
    tree = tree_of(
        hand_cases.judged_start(),
        leaf("1.1", "1", "3 + 5 = 8. The answer is 8.", "8"),
        leaf("2", None, "He buys 4 more, so 3 + 4 = 7. The answer is 7.", "7"),
        Node(id="3", parent=None, text="3 + 5 = 9 apples.", verdicts=[wrong_sum]),
    )
    # "2" looks as plausible, but only a re-check of its answer can say what is wrong
    assert {wrong_ids(tree, detours=1, seed=seed)[0] for seed in range(20)} == {"3"}
    only_answers = JourneyConfig(detours=1, reflection_sources=["answer", "phrase"])
    picks = {extract_journeys(tree, only_answers, seed=s)[0].segments[0].node_id for s in range(20)}
    assert picks == {"2", "3"}  # no source that says why: plausibility alone decides


def test_the_shortfall_says_why_a_journey_has_fewer_detours_than_asked() -> None:
    config = JourneyConfig(detours=3)
    start, right = hand_cases.judged_start(), leaf("1.1", "1", "3 + 5 = 8. The answer is 8.", "8")
    cut = Node(id="3", parent=None, text="He buys 4 more.")
    alone = tree_of(start, right)
    assert detour_shortfall(alone, config, seed=0) == "no_wrong_sibling"
    assert detour_shortfall(tree_of(start, right, cut), config, seed=0) == "only_unknown"
    wrong = leaf("2", None, "The answer is 9.", "9")
    silent = config.updated({"reflection_sources": ["judge"]})
    assert detour_shortfall(tree_of(start, right, cut, wrong), silent, seed=0) == "no_reflection"
    deep = [Node(id="4", parent=None, text="Tom eats one."), leaf("4.1", "4", "So 9.", "9")]
    shallow = config.updated({"detour_depth": 1})
    assert detour_shortfall(tree_of(start, right, *deep), shallow, seed=0) == "too_deep"
    assert detour_shortfall(two_by_two(), config.updated({"detours": 5}), seed=0) == (
        "wrong_trials"
    )
