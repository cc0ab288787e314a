"""The propose-critique loop on scripted fakes: the exact moves for a backtrack to a named step,
a wrong terminate answered by the negative signal, reflections, unparseable actions, and the
budgets that stop a loop; and the episode journey those moves replay as."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agent_cases import PROBLEM, act, assert_well_formed, moves, scripted

from journeygen.backends.base import ChatMessage, SamplingOptions
from journeygen.backends.fake import FakeBackend
from journeygen.backends.local import LocalBackend
from journeygen.config import CriticConfig, RunConfig
from journeygen.derive.episode import extract_episode
from journeygen.derive.reflect import reflect
from journeygen.judges.answer import AnswerJudge
from journeygen.models import Tree
from journeygen.problems import load_problems
from journeygen.prompts import load_prompts
from journeygen.search.tree import search

PROMPTS = load_prompts()
EXAMPLES = Path(__file__).parent.parent / "examples" / "problems.jsonl"
START = "Tom starts with 3 apples."
WRONG_ADD = "He buys 5 more, so 3 + 4 = 7."
RIGHT_ADD = "He buys 5 more, so 3 + 5 = 8."


def config(**search: Any) -> RunConfig:
    return RunConfig.model_validate({"search": {"strategy": "critique", **search}})


async def grow(fake: FakeBackend, **search: Any) -> Tree:
    return await search_tree(fake, config(**search))


async def search_tree(fake: FakeBackend, run_config: RunConfig) -> Tree:
    return await search(PROBLEM, fake, [AnswerJudge()], run_config, PROMPTS)


def prompt(fake: FakeBackend, call: int) -> str:
    return fake.calls[call][0][-1]["content"]


async def test_backtrack_to_a_named_step() -> None:
    fake = scripted(
        [START, WRONG_ADD, RIGHT_ADD, "The answer is 8."],
        [
            act("That matches the question.", "continue"),
            act("I added 4 apples, but Tom buys 5.", "backtrack to step 1"),
            act("5 more is right.", "continue"),
            act("8 answers the question.", "terminate"),
        ],
    )
    tree = await grow(fake)
    assert moves(tree.events) == [
        ("step", "policy", "1"),
        ("continue", "policy", "1"),
        ("step", "policy", "1.1"),
        ("backtrack", "policy", "1"),  # back to step 1, named by the model
        ("step", "policy", "1.2"),
        ("continue", "policy", "1.2"),
        ("step", "policy", "1.2.1"),
        ("terminate", "policy", "1.2.1"),
        ("solved", "system", "1.2.1"),
    ]
    assert [n.text for n in tree.nodes] == [START, WRONG_ADD, RIGHT_ADD, "The answer is 8."]
    assert tree.status == "complete" and tree.stats.stop_reason is None
    assert tree.stats.counters == {"actions": 4, "backtracks": 1, "steps_written": 4}
    # the actions offered after step 2 are exactly the schema's enum
    options = fake.calls[3][1]
    assert options.json_schema is not None
    assert options.json_schema["properties"]["action"]["enum"] == [
        "continue",
        "reflect",
        "terminate",
        "start over",
        "backtrack to step 1",
    ]
    # after the backtrack the policy sees step 1 only, and its own reason
    assert "Step 1: Tom starts with 3 apples.\n\nNote to self: I added 4 apples" in prompt(fake, 4)
    assert WRONG_ADD not in prompt(fake, 4)
    # a continue passes no note on
    assert "Note to self" not in prompt(fake, 2)
    # at a step that states an answer only terminate and backtracks are offered
    assert fake.calls[7][1].json_schema["properties"]["action"]["enum"][0] == "terminate"  # type: ignore[index]

    episode = extract_episode(tree)
    assert episode is not None and episode.kind == "episode"
    assert [(s.kind, s.node_id, s.source) for s in episode.segments] == [
        ("step", "1", None),
        ("wrong_step", "1.1", None),
        ("reflection", "1.1", "self"),
        ("backtrack", "1", None),
        ("step", "1.2", None),
        ("answer", "1.2.1", None),
    ]
    assert episode.segments[2].text == "I added 4 apples, but Tom buys 5."


async def test_wrong_terminate_gets_the_negative_signal_then_reflects_and_corrects() -> None:
    fake = scripted(
        [START, "He buys 5 more, so 3 + 4 = 7. The answer is 7.", f"{RIGHT_ADD} The answer is 8."],
        [
            act("Tom has 3 apples at first.", "continue"),
            act("I have my answer.", "terminate"),
            act("I added 4 apples, but Tom buys 5.", "backtrack to step 1"),
            act("That is the total.", "terminate"),
        ],
    )
    tree = await grow(fake)
    assert moves(tree.events) == [
        ("step", "policy", "1"),
        ("continue", "policy", "1"),
        ("step", "policy", "1.1"),
        ("terminate", "policy", "1.1"),
        ("feedback", "system", "1.1"),  # the negative signal
        ("backtrack", "policy", "1"),
        ("step", "policy", "1.2"),
        ("terminate", "policy", "1.2"),
        ("solved", "system", "1.2"),
    ]
    feedback = tree.events[4].text
    assert "7 is not correct" in feedback and "8" not in feedback  # never the gold answer
    # after the signal only backtracks are offered, and the model is shown the signal
    signal_call = fake.calls[4]
    assert signal_call[1].json_schema["properties"]["action"]["enum"] == [  # type: ignore[index]
        "start over",
        "backtrack to step 1",
    ]
    assert feedback in signal_call[0][-1]["content"]
    assert tree.node("1.1").label == "incorrect" and tree.node("1.2").label == "correct"

    episode = extract_episode(tree)
    assert episode is not None
    assert [(s.kind, s.node_id, s.source) for s in episode.segments] == [
        ("step", "1", None),
        ("wrong_step", "1.1", None),
        ("reflection", "1.1", "self"),
        ("backtrack", "1", None),
        ("answer", "1.2", None),
    ]


async def test_reflect_keeps_the_step_and_shows_the_reflection_before_the_next() -> None:
    fake = scripted(
        [START, RIGHT_ADD, "The answer is 8."],
        [
            act("I should check whether Tom gives any away.", "reflect"),
            act("Adding 5 is right.", "continue"),
            act("Done.", "terminate"),
        ],
    )
    tree = await grow(fake)
    assert moves(tree.events)[:4] == [
        ("step", "policy", "1"),
        ("reflect", "policy", "1"),
        ("step", "policy", "1.1"),  # the reflected step stays on the path
        ("continue", "policy", "1.1"),
    ]
    assert "Note to self: I should check whether Tom gives any away." in prompt(fake, 2)
    episode = extract_episode(tree)
    assert episode is not None
    assert [s.kind for s in episode.segments] == ["step", "reflection", "step", "answer"]


async def test_an_unparseable_action_is_asked_again() -> None:
    fake = scripted(
        [START, "The answer is 8."],
        ["I think we should go on.", act("Fine so far.", "continue"), act("Done.", "terminate")],
    )
    tree = await grow(fake)
    assert [e.kind for e in tree.events] == ["step", "continue", "step", "terminate", "solved"]
    first, second = fake.calls[1][1], fake.calls[2][1]
    assert (first.temperature, second.temperature) == (0.0, 0.7)  # a retry is asked hotter
    assert first.seed != second.seed
    assert "unparsed_actions" not in tree.stats.counters


async def test_an_action_that_never_parses_is_recorded_and_the_search_goes_on() -> None:
    bad = ['{"reason": "Looks fine.", "action": "fly"}', "not json", '{"action": "continue"}']
    fake = scripted([START, "The answer is 8."], [*bad, act("Done.", "terminate")])
    tree = await grow(fake)
    assert moves(tree.events)[:3] == [
        ("step", "policy", "1"),
        ("unparsed", "policy", "1"),
        ("continue", "policy", "1"),  # the default: go on from the step
    ]
    reason = tree.events[1].text
    assert reason.startswith("no valid action after 3 attempts: ")
    assert "expected an object with reason and action" in reason
    assert tree.stats.counters["unparsed_actions"] == 1
    assert tree.events[-1].kind == "solved"


class Paid:
    """The fake, noting the tokens of each answer (to size a budget between two requests)."""

    def __init__(self, inner: FakeBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.spent: list[int] = []

    async def complete(self, messages: list[ChatMessage], options: SamplingOptions) -> Any:
        answers = await self.inner.complete(messages, options)
        self.spent.append(sum(a.usage.total_tokens for a in answers))
        return answers

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_spent_token_budget_stops_the_retries_of_an_unparseable_action() -> None:
    probe = Paid(scripted([START], ["not json"] * 3))
    await search(PROBLEM, probe, [AnswerJudge()], config(turns=1), PROMPTS)
    step, first_try = probe.spent[:2]
    assert len(probe.spent) == 4  # unbudgeted: the step and three tries at an action

    paid = Paid(scripted([START], ["not json"] * 3))
    budget = config(turns=1, max_tokens=step + first_try)  # spent by the first try
    tree = await search(PROBLEM, paid, [AnswerJudge()], budget, PROMPTS)
    assert paid.spent == [step, first_try]  # no retry once the budget is spent
    assert [e.kind for e in tree.events] == ["step", "unparsed", "continue"]  # the default
    assert tree.events[1].text.startswith("no valid action in 1 attempts before the budget ran")
    assert tree.stats.stop_reason == f"token budget reached ({step + first_try} tokens)"
    assert tree.stats.usage.total_tokens == step + first_try


async def test_going_back_to_one_step_too_often_stops_with_a_reason() -> None:
    fake = scripted([START] * 4, [act("This start is wrong; I will try again.", "start over")] * 4)
    tree = await grow(fake, revisits=2)
    assert tree.status == "partial"
    assert tree.stats.stop_reason == "went back to the question more than 2 times"
    assert [e.kind for e in tree.events] == ["step", "backtrack"] * 3
    assert [n.id for n in tree.nodes] == ["1"]  # the same step written again is met again
    assert extract_episode(tree) is None  # never solved: no episode


async def test_the_step_budget_stops_the_search() -> None:
    fake = scripted([START, WRONG_ADD, "Then 7 + 1 = 8."], [act("Go on.", "continue")] * 3)
    tree = await grow(fake, turns=3)
    assert tree.status == "partial"
    assert tree.stats.stop_reason == "step budget reached (3 steps written)"
    assert tree.stats.counters["steps_written"] == 3


async def test_a_reflection_that_reveals_the_gold_answer_is_replaced() -> None:
    fake = scripted(
        [START, WRONG_ADD, RIGHT_ADD, "The answer is 8."],
        [
            act("Go on.", "continue"),
            act("It should be 3 + 5 = 8, not 7.", "backtrack to step 1"),
            act("Go on.", "continue"),
            act("Done.", "terminate"),
        ],
    )
    tree = await grow(fake)
    episode = extract_episode(tree)
    assert episode is not None
    reflected = reflect(episode, tree, PROMPTS, sources=["judge", "phrase"], texts=None, seed=0)
    (reflection,) = [s for s in reflected.segments if s.kind == "reflection"]
    assert reflection.source == "phrase" and "8" not in reflection.text
    # words that keep the answer to themselves stand as the model said them
    honest = episode.model_copy(
        update={
            "segments": [
                s.model_copy(update={"text": "I added 4, not 5."}) if s.kind == "reflection" else s
                for s in episode.segments
            ]
        }
    )
    kept = reflect(honest, tree, PROMPTS, sources=["judge", "phrase"], texts=None, seed=0)
    assert [(s.text, s.source) for s in kept.segments if s.kind == "reflection"] == [
        ("I added 4, not 5.", "self")
    ]


@pytest.mark.model
async def test_critique_on_the_embedded_model(local_backend: LocalBackend) -> None:
    (problem, *_), _ = load_problems(EXAMPLES, limit=1)
    run_config = config(depth=3, turns=4, step_tokens=32, final_tokens=48, max_tokens=4000)
    run_config = run_config.model_copy(update={"critic": CriticConfig(tokens=64)})
    tree = await search(problem, local_backend, [AnswerJudge()], run_config, PROMPTS)
    assert_well_formed(tree, "policy")
