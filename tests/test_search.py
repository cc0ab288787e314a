"""Beam search on the scripted fake backend grows exactly the expected tree."""

from __future__ import annotations

import pytest

from journeygen.backends.base import BackendError, ChatMessage, SamplingOptions
from journeygen.backends.fake import FakeBackend
from journeygen.config import RunConfig, SearchConfig
from journeygen.judges.answer import AnswerJudge
from journeygen.models import Problem
from journeygen.prompts import load_prompts
from journeygen.search.tree import search

PROBLEM = Problem(
    id="apples",
    question="Tom has 3 apples and buys 5 more. How many apples does he have?",
    answer="8",
    solution="Tom starts with 3 apples.\nHe buys 5 more, so 3 + 5 = 8.\nThe answer is 8.",
)


def config(**search: object) -> RunConfig:
    settings: dict[str, object] = {"width": 2, "keep": 2, "depth": 2, **search}
    return RunConfig(search=SearchConfig.model_validate(settings))


async def grow(responses: list[str], **search_settings: object):  # type: ignore[no-untyped-def]
    backend = FakeBackend(responses)
    tree = await search(
        PROBLEM, backend, [AnswerJudge()], config(**search_settings), load_prompts()
    )
    return tree, backend


async def test_beam_grows_the_exact_tree_and_backs_labels_up() -> None:
    tree, backend = await grow(
        [
            "1. Tom starts with 3 apples.\nThen more text.",
            "3 + 5 = 9. The answer is 9. Extra words.",
            "He buys 5 more, so 3 + 5 = 8. The answer is 8.",
            "So he has 3 + 4 = 7.\nThe answer is 7.",
        ]
    )
    shape = [(n.id, n.parent, n.text, n.terminal, n.answer, n.label, n.value) for n in tree.nodes]
    assert shape == [
        ("1", None, "Tom starts with 3 apples.", False, None, "correct", 0.5),
        ("2", None, "3 + 5 = 9. The answer is 9.", True, "9", "incorrect", 0.0),
        ("1.1", "1", "He buys 5 more, so 3 + 5 = 8. The answer is 8.", True, "8", "correct", 1.0),
        ("1.2", "1", "So he has 3 + 4 = 7. The answer is 7.", True, "7", "incorrect", 0.0),
    ]
    assert tree.status == "complete"
    assert (tree.stats.nodes, tree.stats.depth) == (4, 2)
    assert (tree.stats.correct_leaves, tree.stats.incorrect_leaves) == (1, 2)
    assert tree.stats.usage.calls == 2
    wrong = tree.node("2").verdicts[0]
    assert (wrong.judge, wrong.label) == ("answer", "incorrect")
    assert "9" in wrong.reason and "8" in wrong.reason
    # the second request is the final level: it carries the step so far, and asks to finish
    first, second = (call[0][-1]["content"] for call in backend.calls)
    assert "Tom starts with 3 apples." not in first
    assert "Steps so far:\nTom starts with 3 apples.\n" in second
    assert "Finish the solution" in second
    step_options, final_options = (call[1] for call in backend.calls)
    assert (step_options.n, step_options.stop) == (2, ["\n"])
    assert final_options.stop == [] and final_options.max_tokens == 128
    assert step_options.seed != final_options.seed
    assert not any(node.source == "reference" for node in tree.nodes)


async def test_a_step_whose_continuations_all_fail_is_wrong_with_both_answers_named() -> None:
    tree, _ = await grow(
        [
            "Tom starts with 5 apples.",
            "Tom has apples.",
            "The answer is 10.",
            "The answer is 11.",
            "The answer is 12.",
            "Maybe 3 + 5 = 8, the answer is 8.",
        ],
        reference_path="never",
    )
    first = tree.node("1")
    assert first.label == "incorrect" and first.value == 0.0
    reason = next(v for v in first.verdicts if v.label == "incorrect").reason
    assert "10" in reason and "11" in reason and "gold answer 8" in reason
    assert tree.node("2").label == "correct"


async def test_duplicate_and_empty_siblings_add_no_node() -> None:
    tree, _ = await grow(
        ["Tom starts with 3 apples.", "Tom starts with 3 apples.", "", "The answer is 8."],
        width=4,
        depth=1,
    )
    assert [n.text for n in tree.nodes] == ["Tom starts with 3 apples.", "The answer is 8."]
    assert tree.stats.usage.calls == 1


async def test_node_budget_stops_the_tree_as_partial() -> None:
    tree, _ = await grow(
        ["Step a.", "Step b.", "The answer is 8.", "The answer is 1."],
        max_nodes=2,
        reference_path="never",
    )
    assert tree.status == "partial"
    assert [n.id for n in tree.nodes] == ["1", "2"]
    assert "node budget" in (tree.stats.stop_reason or "")


async def test_a_beam_level_asks_only_as_many_parents_as_the_token_budget_has_room_for() -> None:
    steps = ["Step a.", "Step b.", "Step c.", "Step d.", "Step e.", "Step f."]
    first, _ = await grow(steps, depth=1, reference_path="never")
    per_request = first.stats.usage.total_tokens  # the first level: one request
    unbounded, _ = await grow(steps, depth=3, reference_path="never")
    assert unbounded.stats.usage.calls == 3  # the question, then both kept steps together

    budget = 2 * per_request  # room for one more request of that size after the first
    tree, backend = await grow(steps, depth=3, max_tokens=budget, reference_path="never")
    assert len(backend.calls) == 2  # the second level asked for the best parent only
    assert backend.calls[1][0][-1]["content"].count("Step a.") == 1  # the first kept step
    assert tree.stats.stop_reason == f"token budget reached ({budget} tokens)"
    assert tree.stats.usage.total_tokens - budget < per_request * 2  # one request over, at most


async def test_reference_path_carries_a_tree_with_no_correct_leaf() -> None:
    tree, _ = await grow(["The answer is 9.", "The answer is 7."])
    reference = [n for n in tree.nodes if n.source == "reference"]
    assert [n.text for n in reference] == [
        "Tom starts with 3 apples.",
        "He buys 5 more, so 3 + 5 = 8.",
        "The answer is 8.",
    ]
    assert [n.parent for n in reference] == [None, "ref1", "ref2"]
    assert all(n.label == "correct" for n in reference)
    assert reference[-1].terminal and reference[-1].answer == "8"
    assert [n.label for n in tree.nodes if n.source == "policy"] == ["incorrect", "incorrect"]
    # stats describe what the search found, not the reference added after it
    assert (tree.stats.nodes, tree.stats.correct_leaves, tree.stats.incorrect_leaves) == (2, 0, 2)


@pytest.mark.parametrize("mode, expected", [("never", 0), ("always", 3)])
async def test_reference_path_modes(mode: str, expected: int) -> None:
    responses = ["The answer is 8.", "The answer is 7."]
    tree, _ = await grow(responses, reference_path=mode)
    assert sum(n.source == "reference" for n in tree.nodes) == expected


async def test_backend_failure_keeps_the_steps_found_before_it() -> None:
    def script(messages: list[ChatMessage], options: SamplingOptions, index: int) -> str:
        if "Steps so far" in messages[-1]["content"]:
            raise BackendError("server said 500")
        return "Tom starts with 3 apples."

    tree = await search(
        PROBLEM, FakeBackend(script), [AnswerJudge()], config(width=1), load_prompts()
    )
    assert tree.status == "failed"
    assert tree.error == "server said 500"
    assert [n.text for n in tree.nodes] == ["Tom starts with 3 apples."]
