"""Reflections say why, from the best source in the configured order, never reveal the gold
answer, and stock markers stay rare."""

from __future__ import annotations

import random
from collections import Counter
from functools import partial
from itertools import pairwise

from hand_cases import leaf

from journeygen.derive.journey import extract_journey
from journeygen.derive.linearize import Markers, linearize
from journeygen.derive.reflect import PHRASE_ORIGIN, Phrases, reflect, reflection_origin
from journeygen.derive.texts import TextCache
from journeygen.judges.labels import backup_labels
from journeygen.models import Journey, Node, Problem, ReflectionSource, Tree, Verdict
from journeygen.prompts import load_prompts

PROBLEM = Problem(
    id="pens",
    question="A box holds 48 pens. How many pens are in 5 boxes and 2 more?",
    answer="242",
)
ARITHMETIC = Verdict(judge="arithmetic", label="incorrect", reason="48 \u00d7 5 is 240, not 204")


def llm(reason: str) -> Verdict:
    return Verdict(judge="llm", label="incorrect", score=0.3, reason=reason)


answer = partial(leaf, gold="242", scored=False)  # a terminal step, judged against 242


def pens_tree(*judge_verdicts: Verdict) -> Tree:
    """1 → 1.1 is correct; 2 multiplies wrongly (judged by itself); 3 states a wrong answer."""
    nodes = [
        Node(id="1", parent=None, text="5 boxes hold 48 \u00d7 5 = 240 pens."),
        Node(
            id="2",
            parent=None,
            text="5 boxes hold 48 \u00d7 5 = 204 pens.",
            verdicts=[ARITHMETIC, *judge_verdicts],
        ),
        answer("3", None, "48 + 5 + 2 = 55, so 250. The answer is 250.", "250"),
        answer("1.1", "1", "240 + 2 = 242. The answer is 242.", "242"),
    ]
    backup_labels(nodes, "242")
    return Tree(problem=PROBLEM, nodes=nodes, config={"seed": 0})


def detoured(tree: Tree) -> Journey:
    journey = extract_journey(tree, detours=2, detour_depth=4, seed=0, wrong_trials=2)
    assert journey is not None
    return journey


def reflections(
    tree: Tree, sources: list[ReflectionSource], texts: TextCache | None = None
) -> dict[str, tuple[str | None, str]]:
    journey = reflect(detoured(tree), tree, load_prompts(), sources=sources, texts=texts, seed=0)
    return {s.node_id or "": (s.source, s.text) for s in journey.segments if s.kind == "reflection"}


DEFAULT: list[ReflectionSource] = ["judge", "arithmetic", "answer", "llm", "phrase"]


def test_a_judges_reason_that_says_why_is_used_when_no_claim_is_more_exact() -> None:
    tree = pens_tree(llm("The product 48 \u00d7 5 is computed wrongly"))
    found = reflections(tree, ["judge", "answer", "phrase"])
    source, text = found["2"]
    assert source == "judge"
    assert "the product 48 \u00d7 5 is computed wrongly" in text
    assert found["3"][0] == "answer"


def test_an_exact_arithmetic_claim_beats_the_judges_sentence_whatever_the_order() -> None:
    found = reflections(pens_tree(llm("The product 48 \u00d7 5 is computed wrongly")), DEFAULT)
    source, text = found["2"]
    assert source == "arithmetic"
    assert "48 \u00d7 5 is 240, not 204" in text and "computed wrongly" not in text


def test_a_vacuous_judge_reason_gives_way_to_the_arithmetic_claim() -> None:
    for vacuous in ("incorrect", "Incorrect.", "The step is wrong.", "204", "48 \u00d7 5 = 204"):
        found = reflections(pens_tree(llm(vacuous)), DEFAULT)
        assert found["2"][0] == "arithmetic", vacuous
        assert "48 \u00d7 5 is 240, not 204" in found["2"][1]


def test_incorrect_alone_is_never_a_reflection() -> None:
    tree = pens_tree(llm("incorrect"))
    tree.node("3").verdicts.append(llm("incorrect"))
    for sources in (["judge"], ["judge", "phrase"], DEFAULT, ["judge", "llm"]):
        for node_id, (source, text) in reflections(tree, sources, TextCache()).items():
            assert source != "judge", (sources, node_id)
            assert not text.rstrip(".").lower().endswith("incorrect"), text


def test_the_most_specific_reason_wins_among_several_judges() -> None:
    """A vague sentence comes before a precise one on the step: the precise one is used."""
    vague = Verdict(judge="human", label="incorrect", reason="The reasoning does not follow.")
    precise = llm("It multiplies 48 by 5 but writes 204 for the product")
    found = reflections(pens_tree(vague, precise), ["judge", "phrase"])
    assert found["2"][0] == "judge" and "writes 204 for the product" in found["2"][1]


def test_the_arithmetic_claim_when_no_judge_wrote_why() -> None:
    found = reflections(pens_tree(), DEFAULT)
    assert found["2"][0] == "arithmetic"
    assert "48 \u00d7 5 is 240, not 204" in found["2"][1]


def test_a_judge_reason_that_reveals_the_gold_answer_is_skipped() -> None:
    found = reflections(pens_tree(llm("the total should be 242")), DEFAULT)
    assert found["2"][0] == "arithmetic"


def test_the_answer_recheck_names_the_wrong_answer_never_the_gold() -> None:
    found = reflections(pens_tree(), ["answer", "phrase"])
    source, text = found["3"]
    assert source == "answer" and "250" in text and "242" not in text
    assert found["2"][0] == "phrase"  # an inner step has no final answer to re-check
    assert found["2"][1] in load_prompts().phrase_list("reflection_generic")


def test_a_vague_llm_reflection_is_not_used() -> None:
    tree = pens_tree()
    texts = TextCache()
    reflections(tree, ["llm", "phrase"], texts)
    for key in list(texts.missing):
        texts.put(key, "reflect", "I made a mistake there and it is wrong.")
    found = reflections(tree, ["llm", "phrase"], texts)
    assert {source for source, _ in found.values()} == {"phrase"}


def test_the_llm_is_asked_only_when_it_could_beat_every_verdict() -> None:
    texts = TextCache()
    reflections(pens_tree(), ["arithmetic", "llm", "answer", "phrase"], texts)
    asked = [r.messages[1]["content"] for r in texts.missing.values()]
    # step 2 has an exact claim (more specific than any text); step 3 only an answer re-check
    assert len(asked) == 1 and "The answer is 250." in asked[0]


def test_llm_reflections_come_from_the_text_cache_and_misses_are_recorded() -> None:
    tree = pens_tree()
    texts = TextCache()
    first = reflections(tree, ["llm", "phrase"], texts)
    assert {source for source, _ in first.values()} == {"phrase"}
    assert len(texts.missing) == 2
    asked = [r.messages[1]["content"] for r in texts.missing.values()]
    assert any("Wrong steps:\n5 boxes hold 48 \u00d7 5 = 204 pens." in a for a in asked)
    assert all(PROBLEM.question in a for a in asked)
    for key, request in list(texts.missing.items()):
        wrong_250 = "250" in request.messages[1]["content"]
        text = (
            "I added where I should have multiplied; 242 is it."
            if wrong_250
            else ("I multiplied 48 by 5 wrongly.")
        )
        texts.put(key, "reflect", text)
    second = reflections(tree, ["llm", "phrase"], texts)
    assert second["2"] == ("llm", "I multiplied 48 by 5 wrongly.")
    assert second["3"][0] == "phrase"  # the LLM text revealed the gold answer 242


def test_markers_are_capped_per_segments_and_extra_ones_removed() -> None:
    prompts = load_prompts()
    markers = Markers(prompts, random.Random(0), every=3)
    assert markers.apply(0, "Wait. That is off.") == "Wait. That is off."
    assert markers.apply(1, "Hmm, that is off too.") == "That is off too."
    assert markers.apply(2, "Plain.") == "Plain."
    for seed in range(20):
        markers = Markers(prompts, random.Random(seed), every=3)
        out = [markers.apply(position, "That is off.") for position in range(12)]
        marked = [i for i, text in enumerate(out) if text != "That is off."]
        assert all(b - a >= 3 for a, b in pairwise(marked))
        assert len(marked) <= 4
    firsts = set()
    for seed in range(20):
        markers = Markers(prompts, random.Random(seed), every=1)
        firsts.add(next(t for t in (markers.apply(i, "x") for i in range(9)) if t != "x"))
    assert len(firsts) >= 3  # the seed varies the marker


def test_no_reflection_phrase_starts_with_a_marker() -> None:
    prompts = load_prompts()
    markers = Markers(prompts, random.Random(0), every=1)
    for key in ("reflection_answer", "reflection_no_answer", "reflection_reason",
                "reflection_arithmetic", "reflection_generic"):  # fmt: skip
        for phrase in prompts.phrase_list(key):
            assert not markers.leading.match(phrase), phrase


def test_a_sample_has_at_most_one_marker_per_n_segments() -> None:
    tree = pens_tree()
    journey = reflect(detoured(tree), tree, load_prompts(), sources=DEFAULT, texts=None, seed=0)
    heads = ("Wait", "Hmm", "Hold on", "Actually")
    for seed in range(10):
        sample = linearize(journey, tree, load_prompts(), run="r", seed=seed, marker_every=4)
        paragraphs = sample.thought.split("\n\n")
        marked = [i for i, p in enumerate(paragraphs) if p.startswith(heads)]
        assert all(b - a >= 4 for a, b in pairwise(marked))


def test_a_journey_goes_through_a_phrase_list_before_it_repeats_one() -> None:
    prompts = load_prompts()
    choices = prompts.phrase_list("reflection_generic")
    n = len(choices)
    firsts: Counter[str] = Counter()
    for seed in range(600):
        phrases = Phrases(prompts, random.Random(seed))
        picks = [phrases.pick("reflection_generic") for _ in range(2 * n)]
        assert sorted(picks[:n]) == sorted(picks[n:]) == sorted(choices)
        assert all(a != b for a, b in pairwise(picks))
        firsts[picks[0]] += 1
    # seeded but spread: over many journeys each phrasing is near its even share
    assert all(0.75 * 600 / n <= count <= 1.25 * 600 / n for count in firsts.values())
    assert len(firsts) == n


def test_the_origin_of_a_reflection_names_its_verdict_and_what_was_passed_over() -> None:
    tree = pens_tree(llm("incorrect"))
    journey = reflect(detoured(tree), tree, load_prompts(), sources=DEFAULT, texts=None, seed=0)
    segment = next(s for s in journey.segments if s.kind == "reflection" and s.node_id == "2")
    origin = reflection_origin(segment, tree, DEFAULT)
    assert origin["source"] == "arithmetic"
    assert origin["reason"] == "48 \u00d7 5 is 240, not 204"
    assert origin["passed_over"] == [
        {"source": "judge", "judge": "llm", "reason": "incorrect", "why": "restates the label"}
    ]


def test_a_stock_phrase_says_no_source_had_a_reason_and_what_was_passed_over() -> None:
    tree = pens_tree(llm("incorrect"))
    sources: list[ReflectionSource] = ["judge", "phrase"]
    journey = reflect(detoured(tree), tree, load_prompts(), sources=sources, texts=None, seed=0)
    segment = next(s for s in journey.segments if s.kind == "reflection" and s.node_id == "2")
    origin = reflection_origin(segment, tree, sources)
    assert (origin["source"], origin["reason"]) == ("phrase", PHRASE_ORIGIN)
    assert [p["why"] for p in origin["passed_over"]] == ["restates the label"]
