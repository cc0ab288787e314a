"""The policy-critic dialogue on scripted fakes: the critic's calls after each step, its
objection as a verdict, the negative signal sent to the critic, the episode in the critic's
words; and the critic's settings (another model only for the dialogue strategy)."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_cases import PROBLEM, act, assert_well_formed, moves, scripted

from journeygen.backends.fake import FakeBackend
from journeygen.backends.local import LocalBackend
from journeygen.config import BackendConfig, RunConfig
from journeygen.config.recipe import RecipeError, resolve_config
from journeygen.derive.episode import extract_episode
from journeygen.judges.answer import AnswerJudge
from journeygen.models import Tree
from journeygen.problems import load_problems
from journeygen.prompts import load_prompts
from journeygen.search.tree import search

PROMPTS = load_prompts()
EXAMPLES = Path(__file__).parent.parent / "examples" / "problems.jsonl"
DIALOGUE = RunConfig.model_validate({"search": {"strategy": "dialogue"}})
START = "Tom starts with 3 apples."


async def talk(policy: FakeBackend, critic: FakeBackend) -> Tree:
    return await search(PROBLEM, policy, [AnswerJudge()], DIALOGUE, PROMPTS, critic)


async def test_the_critic_sends_the_policy_back_and_its_objection_is_a_verdict() -> None:
    policy = scripted([START, "He buys 5 more, so 3 - 5 = -2.", "3 + 5 = 8. The answer is 8."], [])
    critic = scripted(
        [],
        [
            act("Right: Tom starts with 3.", "continue"),
            act("Buying apples adds to what Tom has; step 2 subtracts.", "backtrack to step 1"),
        ],
    )
    tree = await talk(policy, critic)
    assert moves(tree.events) == [
        ("step", "policy", "1"),
        ("continue", "critic", "1"),
        ("step", "policy", "1.1"),
        ("backtrack", "critic", "1"),
        ("step", "policy", "1.2"),  # states the answer: checked at once, no critic call
        ("solved", "system", "1.2"),
    ]
    assert all(options.json_schema is None for _, options in policy.calls)
    assert all(options.json_schema is not None for _, options in critic.calls)
    assert [o.json_schema["properties"]["action"]["enum"] for _, o in critic.calls] == [  # type: ignore[index]
        ["continue", "reflect", "start over"],
        ["continue", "reflect", "start over", "backtrack to step 1"],
    ]
    assert "The critic says: Buying apples adds" in policy.calls[2][0][-1]["content"]
    (objection,) = [v for v in tree.node("1.1").verdicts if v.judge == "critic"]
    assert objection.label == "incorrect" and objection.reason.startswith("Buying apples")
    assert tree.node("1.1").label == "incorrect"

    episode = extract_episode(tree)
    assert episode is not None
    assert [(s.kind, s.node_id, s.source) for s in episode.segments] == [
        ("step", "1", None),
        ("wrong_step", "1.1", None),
        ("reflection", "1.1", "critic"),
        ("backtrack", "1", None),
        ("answer", "1.2", None),
    ]


async def test_a_wrong_answer_is_told_to_the_critic_who_names_the_step_to_go_back_to() -> None:
    policy = scripted([START, "3 + 4 = 7. The answer is 7.", "3 + 5 = 8. The answer is 8."], [])
    critic = scripted(
        [],
        [
            act("Good start.", "continue"),
            act("Tom buys 5 apples, not 4.", "backtrack to step 1"),
        ],
    )
    tree = await talk(policy, critic)
    assert moves(tree.events) == [
        ("step", "policy", "1"),
        ("continue", "critic", "1"),
        ("step", "policy", "1.1"),
        ("feedback", "system", "1.1"),
        ("backtrack", "critic", "1"),
        ("step", "policy", "1.2"),
        ("solved", "system", "1.2"),
    ]
    told = critic.calls[1][0][-1]["content"]
    assert "Feedback: the final answer 7 is not correct." in told and "8" not in told


async def test_a_dialogue_that_never_solves_has_no_episode() -> None:
    policy = scripted([START, "The answer is 9."], [])
    critic = scripted([], [act("Fine.", "continue"), act("Wrong sum.", "start over")])
    tree = await search(
        PROBLEM,
        policy,
        [AnswerJudge()],
        RunConfig.model_validate({"search": {"strategy": "dialogue", "turns": 2}}),
        PROMPTS,
        critic,
    )
    assert tree.stats.stop_reason == "step budget reached (2 steps written)"
    assert extract_episode(tree) is None


def test_another_critic_model_is_for_the_dialogue_only() -> None:
    critic = {"backend": "openai", "model": "gpt-4o"}
    config = resolve_config({"search": {"strategy": "dialogue"}, "critic": critic})
    assert config.critic_backend() == BackendConfig(name="openai", model="gpt-4o")
    assert DIALOGUE.critic_backend() is None  # the run's own model
    with pytest.raises(RecipeError, match="critic agent of the dialogue strategy, not of 'beam'"):
        resolve_config({"critic": critic})


def test_a_critic_on_the_runs_backend_keeps_its_server_and_model_unless_given() -> None:
    run = {"name": "openai", "model": "small", "base_url": "http://127.0.0.1:8000/v1"}
    config = resolve_config(
        {"backend": run, "search": {"strategy": "dialogue"}, "critic": {"model": "big"}}
    )
    assert config.critic_backend() == BackendConfig(
        name="openai", model="big", base_url="http://127.0.0.1:8000/v1"
    )
    other = resolve_config(
        {"backend": run, "search": {"strategy": "dialogue"}, "critic": {"backend": "anthropic"}}
    )
    assert other.critic_backend() == BackendConfig(name="anthropic")
    # the critic is part of what shapes a tree
    assert config.tree_hash() != other.tree_hash()


@pytest.mark.model
async def test_dialogue_on_the_embedded_model(local_backend: LocalBackend) -> None:
    (problem, *_), _ = load_problems(EXAMPLES, limit=1)
    settings = {"depth": 3, "turns": 4, "step_tokens": 32, "final_tokens": 48, "max_tokens": 4000}
    run_config = RunConfig.model_validate(
        {"search": {"strategy": "dialogue", **settings}, "critic": {"tokens": 64}}
    )
    tree = await search(problem, local_backend, [AnswerJudge()], run_config, PROMPTS)
    assert_well_formed(tree, "critic")
