"""A critic that is another model goes through a runtime stack of its own beside the run's:
its own cache file and price, the run's gate, and run budgets that count both models; a
whole dialogue run with two fake models replays from both caches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_cases import PROBLEM, act, scripted

from journeygen.backends.base import ChatMessage, SamplingOptions
from journeygen.backends.fake import FakeBackend
from journeygen.config.recipe import resolve_config
from journeygen.executors.local import generate
from journeygen.prompts import load_prompts
from journeygen.runtime import CACHE_FILE, CRITIC_CACHE_FILE, Price, RuntimeOptions, build_stack
from journeygen.store import RunStore

PRICES = {"small": Price(input=1.0, output=2.0), "big": Price(input=10.0, output=20.0)}
ASK: list[ChatMessage] = [{"role": "user", "content": "two words"}]


async def test_each_model_pays_its_own_price_into_one_run_budget(tmp_path: Path) -> None:
    options = RuntimeOptions(prices=PRICES, max_run_tokens=30)
    run = build_stack(
        FakeBackend(["a b c"], cycle=True), tmp_path, options, backend_name="openai", model="small"
    )
    critic = build_stack(
        FakeBackend(["d e f g"], cycle=True),
        tmp_path,
        options,
        backend_name="openai",
        model="big",
        beside=run,
    )
    run.critic = critic
    assert critic.gate is run.gate and critic.failures is run.failures
    await run.backend.complete(ASK, SamplingOptions(seed=1))
    await critic.backend.complete(ASK, SamplingOptions(seed=1))
    # 2 prompt + 3 completion words at the small price, 2 + 4 at the big one
    assert run.session_cost == pytest.approx((2 * 1.0 + 3 * 2.0 + 2 * 10.0 + 4 * 20.0) / 1e6)
    assert run.usage.total_tokens == 11 and run.usage.calls == 2
    assert (tmp_path / CACHE_FILE).is_file() and (tmp_path / CRITIC_CACHE_FILE).is_file()
    assert run.gate.reason is None
    for seed in range(2, 5):  # 11 + 3 x 6 = 29: still under 30 together
        await critic.backend.complete(ASK, SamplingOptions(seed=seed))
    assert run.gate.reason is None
    await run.backend.complete(ASK, SamplingOptions(seed=9))
    assert run.gate.reason == "run token budget reached (30 tokens)"  # counted both models
    run.close()


async def test_a_dialogue_run_with_a_critic_model_of_its_own(tmp_path: Path) -> None:
    problems = tmp_path / "problems.jsonl"
    problems.write_text(json.dumps(PROBLEM.model_dump(exclude={"meta"})) + "\n")
    config = resolve_config(
        {
            "backend": {"name": "fake"},
            "search": {"strategy": "dialogue"},
            "critic": {"backend": "fake", "model": "critic.json"},
        }
    )
    steps = [
        "Tom starts with 3 apples.",
        "3 + 4 = 7. The answer is 7.",
        "3 + 5 = 8. The answer is 8.",
    ]
    moves = [act("Good start.", "continue"), act("Tom buys 5, not 4.", "backtrack to step 1")]

    async def run() -> tuple[FakeBackend, FakeBackend]:
        policy, critic = scripted(steps, []), scripted([], moves)
        summary = await generate(
            problems,
            run="talk",
            config=config,
            backend=policy,
            prompts=load_prompts(),
            trees_dir=tmp_path / "trees",
            out_dir=tmp_path / "out",
            critic=critic,
        )
        assert summary.status == {"complete": 1}
        return policy, critic

    policy, critic = await run()
    assert len(policy.calls) == 3 and len(critic.calls) == 2
    store = RunStore(tmp_path / "trees", "talk")
    assert (store.dir / CRITIC_CACHE_FILE).is_file()
    tree = store.load_tree(PROBLEM.id)
    assert tree is not None and [e.kind for e in tree.events][-1] == "solved"
    first = store.tree_path(PROBLEM.id).read_bytes()
    manifest = store.read_manifest()
    assert manifest.usage.calls == 5  # both models' calls

    store.tree_path(PROBLEM.id).unlink()  # rebuilt from both caches: nothing asked again
    policy, critic = await run()
    assert policy.calls == [] and critic.calls == []
    assert store.tree_path(PROBLEM.id).read_bytes() == first
