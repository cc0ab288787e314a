"""Every search strategy on the scripted fake backend grows exactly the tree worked out by hand
from its script, and every one stops cleanly at the same budgets."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from journeygen.backends.base import ChatMessage, SamplingOptions
from journeygen.backends.fake import FakeBackend
from journeygen.backends.local import LocalBackend
from journeygen.config import RunConfig, SearchConfig
from journeygen.judges.answer import AnswerJudge
from journeygen.models import Problem, Tree
from journeygen.problems import load_problems
from journeygen.prompts import load_prompts
from journeygen.search import STRATEGIES
from journeygen.search.steps import split_steps
from journeygen.search.tree import search

PROBLEM = Problem(
    id="apples",
    question="Tom has 3 apples and buys 5 more. How many apples does he have?",
    answer="8",
)

EXAMPLES = Path(__file__).parent.parent / "examples" / "problems.jsonl"
RIGHT = "Tom starts with 3 apples.\nHe buys 5 more, so 3 + 5 = 8.\nThe answer is 8."
WRONG = "Tom starts with 3 apples.\nHe buys 5 more, so 3 + 4 = 7.\nThe answer is 7."
ACT_CONTINUE = json.dumps({"reason": "Right so far.", "action": "continue"})


@dataclass
class Case:
    settings: dict[str, Any]
    script: list[str]
    # (id, parent, text, terminal, answer, label, value, visits), in the order nodes were added
    nodes: list[tuple[str, str | None, str, bool, str | None, str, float | None, int]]
    counters: dict[str, int]
    calls: int


CASES = {
    # the paper's beam: two steps sampled at the root, both kept; the first level ends the
    # second path at once, the last level closes the first
    "beam": Case(
        settings={"width": 2, "keep": 2, "depth": 2},
        script=[
            "1. Tom starts with 3 apples.\nThen more text.",
            "3 + 5 = 9. The answer is 9. Extra words.",
            "He buys 5 more, so 3 + 5 = 8. The answer is 8.",
            "So he has 3 + 4 = 7.\nThe answer is 7.",
        ],
        nodes=[
            ("1", None, "Tom starts with 3 apples.", False, None, "correct", 0.5, 0),
            ("2", None, "3 + 5 = 9. The answer is 9.", True, "9", "incorrect", 0.0, 0),
            (
                "1.1",
                "1",
                "He buys 5 more, so 3 + 5 = 8. The answer is 8.",
                True,
                "8",
                "correct",
                1.0,
                0,
            ),
            ("1.2", "1", "So he has 3 + 4 = 7. The answer is 7.", True, "7", "incorrect", 0.0, 0),
        ],
        counters={"expansions": 2},
        calls=2,
    ),
    # four solutions, one request each; the first two share a step, the last repeats the
    # second and counts again: step 1 carries 3 samples of which 1 is right
    "best_of_n": Case(
        settings={"rollouts": 4, "depth": 4},
        script=[RIGHT, WRONG, "1. Tom has 3 + 5 = 8 apples. The answer is 8.\nExtra line.", WRONG],
        nodes=[
            # 1 of 3 samples through step 1 is right: too few to call it correct
            ("1", None, "Tom starts with 3 apples.", False, None, "unknown", 1 / 3, 3),
            ("1.1", "1", "He buys 5 more, so 3 + 5 = 8.", False, None, "correct", 1.0, 1),
            ("1.1.1", "1.1", "The answer is 8.", True, "8", "correct", 1.0, 1),
            ("1.2", "1", "He buys 5 more, so 3 + 4 = 7.", False, None, "incorrect", 0.0, 2),
            ("1.2.1", "1.2", "The answer is 7.", True, "7", "incorrect", 0.0, 2),
            ("2", None, "Tom has 3 + 5 = 8 apples. The answer is 8.", True, "8", "correct", 1.0, 1),
        ],
        counters={"rollouts": 4},
        calls=4,
    ),
    # three rollouts from the question: one right, two wrong through step 1.2. Binary search
    # on the first wrong path [1, 1.2, 1.2.1, 1.2.1.1]: the middle 1.2 has no right sample,
    # so it is probed (three more rollouts, all wrong); then step 1 already reaches 8 without
    # a probe, so 1.2 is the first wrong step. The second wrong path starts below the known
    # dead end 1.2 and needs no probe at all.
    "rollout": Case(
        settings={"rollouts": 3, "depth": 4},
        script=[
            RIGHT,
            "Tom starts with 3 apples.\nHe buys 5 more, so 3 + 4 = 7.\nSo he has 7 apples.\n"
            "The answer is 7.",
            WRONG,
            "So he has 7 apples.\nThe answer is 7.",
            "The answer is 7.",
            "He has 3 + 4 = 7 apples.\nThe answer is 7.",
        ],
        nodes=[
            ("1", None, "Tom starts with 3 apples.", False, None, "unknown", 1 / 6, 6),
            ("1.1", "1", "He buys 5 more, so 3 + 5 = 8.", False, None, "correct", 1.0, 1),
            ("1.1.1", "1.1", "The answer is 8.", True, "8", "correct", 1.0, 1),
            ("1.2", "1", "He buys 5 more, so 3 + 4 = 7.", False, None, "incorrect", 0.0, 5),
            ("1.2.1", "1.2", "So he has 7 apples.", False, None, "incorrect", 0.0, 2),
            ("1.2.1.1", "1.2.1", "The answer is 7.", True, "7", "incorrect", 0.0, 2),
            ("1.2.2", "1.2", "The answer is 7.", True, "7", "incorrect", 0.0, 2),
            ("1.2.3", "1.2", "He has 3 + 4 = 7 apples.", False, None, "incorrect", 0.0, 1),
            ("1.2.3.1", "1.2.3", "The answer is 7.", True, "7", "incorrect", 0.0, 1),
        ],
        counters={"binary_searches": 2, "first_wrong_steps": 1, "probes": 1, "rollouts": 6},
        calls=2,
    ),
    # 1: the question is rolled out once (wrong, 9). 2: the question is expanded (one sample
    # repeats step 1, the other adds 2, which does not just restate the question) and 2 is
    # rolled out (right). 3: UCT 1 = 0 + √(ln2/1) < 2 = 1 + √(ln2/1): 2 is expanded (2.2
    # new) and 2.2 rolled out; its two steps exceed the depth and join into one right last
    # step. 4: 2 again (1 + √(ln3/2) > √(ln3)); 2.1 and 2.2
    # tie, the first wins: 2.1 is expanded with closing steps (2.1.2, right, scores itself).
    # 5: 2, then 2.2 (1 + √(ln3/1) > 1 + √(ln3/2)) is expanded: 2.2.2 is wrong, "" adds nothing.
    "mcts": Case(
        settings={"width": 2, "depth": 3, "simulations": 5, "exploration": 1.0},
        script=[
            "Tom starts with 3 apples.\nHe buys 5 more, so 3 + 5 = 9.\nThe answer is 9.",
            "Tom starts with 3 apples.",
            "He buys 5 more apples.",
            "So he has 3 + 5 = 8 apples.\nThe answer is 8.",
            "So he has 3 + 5 = 8 apples.",
            "He buys 5 more, so 3 + 5 = 8.",
            "So the total is 8.\nThe answer is 8.",
            "The answer is 8.",
            "So he has 8 apples. The answer is 8.",
            "So he has 3 + 5 = 10 apples. The answer is 10.",
            "",
        ],
        nodes=[
            ("1", None, "Tom starts with 3 apples.", False, None, "incorrect", 0.0, 1),
            ("1.1", "1", "He buys 5 more, so 3 + 5 = 9.", False, None, "incorrect", 0.0, 1),
            ("1.1.1", "1.1", "The answer is 9.", True, "9", "incorrect", 0.0, 1),
            ("2", None, "He buys 5 more apples.", False, None, "correct", 0.75, 4),
            ("2.1", "2", "So he has 3 + 5 = 8 apples.", False, None, "correct", 1.0, 2),
            ("2.1.1", "2.1", "The answer is 8.", True, "8", "correct", 1.0, 1),
            ("2.2", "2", "He buys 5 more, so 3 + 5 = 8.", False, None, "correct", 0.5, 2),
            ("2.2.1", "2.2", "So the total is 8. The answer is 8.", True, "8", "correct", 1.0, 1),
            ("2.1.2", "2.1", "So he has 8 apples. The answer is 8.", True, "8", "correct", 1.0, 1),
            (
                "2.2.2",
                "2.2",
                "So he has 3 + 5 = 10 apples. The answer is 10.",
                True,
                "10",
                "incorrect",
                0.0,
                1,
            ),
        ],
        counters={"expansions": 4, "rollouts": 3, "simulations": 5},
        calls=7,
    ),
    # the policy writes a step and chooses its action after each: it goes back from its
    # wrong sum to step 1 by name, and terminates on the right answer (checked: solved); the
    # step it left has no evidence either way
    "critique": Case(
        settings={"depth": 3},
        script=[
            "1. Tom starts with 3 apples.\nThen more text.",
            ACT_CONTINUE,
            "He buys 5 more, so 3 + 4 = 7.",
            json.dumps({"reason": "Tom buys 5, not 4.", "action": "backtrack to step 1"}),
            "He buys 5 more, so 3 + 5 = 8.",
            ACT_CONTINUE,
            "So he has 8 apples. The answer is 8.",  # the last level: a closing step
            json.dumps({"reason": "That is the total.", "action": "terminate"}),
        ],
        nodes=[
            ("1", None, "Tom starts with 3 apples.", False, None, "correct", 1.0, 0),
            ("1.1", "1", "He buys 5 more, so 3 + 4 = 7.", False, None, "unknown", None, 0),
            ("1.2", "1", "He buys 5 more, so 3 + 5 = 8.", False, None, "correct", 1.0, 0),
            ("1.2.1", "1.2", "So he has 8 apples. The answer is 8.", True, "8", "correct", 1.0, 0),
        ],
        counters={"actions": 4, "backtracks": 1, "steps_written": 4},
        calls=8,
    ),
    # the same moves with the critic (here the run's own model) choosing them: its objection
    # makes the step it sent the policy back from incorrect, and the closing step is checked
    # without asking it
    "dialogue": Case(
        settings={"depth": 3},
        script=[
            "Tom starts with 3 apples.",
            ACT_CONTINUE,
            "He buys 5 more, so 3 + 4 = 7.",
            json.dumps({"reason": "Tom buys 5, not 4.", "action": "backtrack to step 1"}),
            "He buys 5 more, so 3 + 5 = 8.",
            ACT_CONTINUE,
            "So he has 8 apples. The answer is 8.",
        ],
        nodes=[
            ("1", None, "Tom starts with 3 apples.", False, None, "correct", 1.0, 0),
            ("1.1", "1", "He buys 5 more, so 3 + 4 = 7.", False, None, "incorrect", None, 0),
            ("1.2", "1", "He buys 5 more, so 3 + 5 = 8.", False, None, "correct", 1.0, 0),
            ("1.2.1", "1.2", "So he has 8 apples. The answer is 8.", True, "8", "correct", 1.0, 0),
        ],
        counters={"actions": 3, "backtracks": 1, "steps_written": 4},
        calls=7,
    ),
}
SAMPLERS = ("rollout", "mcts", "best_of_n")  # strategies that sample whole solutions


def run_config(strategy: str, **settings: Any) -> RunConfig:
    search_settings = {"strategy": strategy, "reference_path": "never", **settings}
    return RunConfig(search=SearchConfig.model_validate(search_settings))


async def grow(backend: FakeBackend, config: RunConfig) -> Tree:
    return await search(PROBLEM, backend, [AnswerJudge()], config, load_prompts())


def test_every_strategy_has_a_worked_case_and_a_config_name() -> None:
    assert set(CASES) == set(STRATEGIES)
    for name in STRATEGIES:  # the config takes its names from the registry
        assert SearchConfig(strategy=name).strategy == name
    with pytest.raises(ValidationError, match="unknown strategy 'dfs'"):
        SearchConfig(strategy="dfs")


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
async def test_strategy_grows_the_expected_tree(strategy: str) -> None:
    case = CASES[strategy]
    backend = FakeBackend(case.script)
    tree = await grow(backend, run_config(strategy, **case.settings))
    shape = [
        (n.id, n.parent, n.text, n.terminal, n.answer, n.label, n.value, n.visits)
        for n in tree.nodes
    ]
    assert shape == case.nodes
    assert tree.strategy == strategy and tree.status == "complete"
    assert tree.stats.counters == case.counters
    assert tree.stats.usage.calls == len(backend.calls) == case.calls
    assert tree.config.search.strategy == strategy
    assert len({n.id for n in tree.nodes}) == len(tree.nodes)


async def test_rollout_marks_the_first_wrong_step_and_probes_from_its_prefix() -> None:
    case = CASES["rollout"]
    backend = FakeBackend(case.script)
    tree = await grow(backend, run_config("rollout", **case.settings))
    (found,) = [v for v in tree.node("1.2").verdicts if v.judge == "binary_search"]
    assert found.label == "incorrect"
    assert "none of its 5 finished continuations reaches the gold answer 8" in found.reason
    assert not any(
        v.judge == "binary_search" for n in tree.nodes for v in n.verdicts if n.id != "1.2"
    )
    root_prompt, probe_prompt = (call[0][-1]["content"] for call in backend.calls)
    assert "Steps so far" not in root_prompt
    assert (
        "Steps so far:\nTom starts with 3 apples.\nHe buys 5 more, so 3 + 4 = 7.\n\n"
        in probe_prompt
    )
    assert "Write the rest of the solution" in probe_prompt
    options = [call[1] for call in backend.calls]
    assert [(o.n, o.stop, o.max_tokens) for o in options] == [(3, [], 256), (3, [], 256)]


async def test_mcts_asks_for_closing_steps_on_the_last_level_and_is_repeatable() -> None:
    case = CASES["mcts"]
    runs = []
    for seed in (0, 0, 1):
        backend = FakeBackend(case.script)
        config = run_config("mcts", **case.settings).model_copy(update={"seed": seed})
        runs.append((await grow(backend, config), backend))
    (first, first_backend), (second, second_backend), (_, other_backend) = runs
    assert first.nodes == second.nodes
    seeds = [
        [call[1].seed for call in b.calls] for b in (first_backend, second_backend, other_backend)
    ]
    assert seeds[0] == seeds[1] != seeds[2]
    assert len(set(seeds[0])) == len(seeds[0])  # every request has its own seed
    kinds = [call[0][-1]["content"].rsplit("\n", 1)[-1] for call in first_backend.calls]
    assert kinds == [
        "Write the rest of the solution, one step per line.",
        "Write only the next step.",
        "Write the rest of the solution, one step per line.",
        "Write only the next step.",
        "Write the rest of the solution, one step per line.",
        "Finish the solution.",
        "Finish the solution.",
    ]


def _mixed_script() -> FakeBackend:
    """Rollouts alternate a right and a wrong solution; steps are new each time."""
    counter = itertools.count(1)

    def respond(messages: list[ChatMessage], options: SamplingOptions, index: int) -> str:
        prompt = messages[-1]["content"]
        if "Write the rest of the solution" in prompt:
            return RIGHT if next(counter) % 2 else WRONG
        if "Finish the solution" in prompt:
            return "The answer is 9."
        return f"Count the apples in group {next(counter)}."

    return FakeBackend(respond)


BUDGETS = {
    "tokens": ({"max_tokens": 1}, "token budget reached (1 tokens)"),
    "cost": (
        {"max_cost": 1e-6, "prompt_price": 1.0, "completion_price": 1.0},
        "cost budget reached ($1e-06)",
    ),
}


@pytest.mark.parametrize("budget", sorted(BUDGETS))
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
async def test_a_spent_budget_stops_after_the_first_request(strategy: str, budget: str) -> None:
    settings, reason = BUDGETS[budget]
    backend = _mixed_script()
    config = run_config(strategy, width=2, depth=3, rollouts=2, simulations=4, **settings)
    tree = await grow(backend, config)
    if strategy == "best_of_n":  # its one round of solutions goes out at once and finishes
        assert len(backend.calls) == 2 and tree.status == "complete"
        return
    assert len(backend.calls) == 1
    assert (tree.status, tree.stats.stop_reason) == ("partial", reason)


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
async def test_node_budget_caps_every_strategy(strategy: str) -> None:
    config = run_config(strategy, width=2, depth=3, rollouts=2, simulations=4, max_nodes=2)
    tree = await grow(_mixed_script(), config)
    assert len(tree.nodes) == 2
    assert (tree.status, tree.stats.stop_reason) == ("partial", "node budget reached (2 nodes)")


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
async def test_no_path_is_deeper_than_the_depth_budget(strategy: str) -> None:
    config = run_config(strategy, width=2, keep=1, depth=2, rollouts=2, simulations=6)
    tree = await grow(_mixed_script(), config)
    assert tree.stats.depth == 2
    # a rollout's steps past the last level join into one closing step with the answer
    last_steps = {n.text for n in tree.nodes if n.parent is not None and n.terminal}
    if strategy in SAMPLERS:
        assert "He buys 5 more, so 3 + 5 = 8. The answer is 8." in last_steps


def test_split_steps_keeps_one_step_a_line_up_to_the_answer() -> None:
    text = "1. Tom has 3.\n\nStep 2: 3 + 5 = 8.\nThe answer is 8. Then\nmore text"
    assert split_steps(text, truncated=False) == (
        ["Tom has 3.", "3 + 5 = 8.", "The answer is 8."],
        True,
    )
    # no stated answer: finished if the model stopped, and a cut-off last line is dropped
    assert split_steps("Tom has 3.\nSo 3 + 5 = 8", truncated=False) == (
        ["Tom has 3.", "So 3 + 5 = 8"],
        True,
    )
    assert split_steps("Tom has 3.\nSo 3 + 5 =", truncated=True) == (["Tom has 3."], False)
    assert split_steps("", truncated=False) == ([], False)


@pytest.mark.model
async def test_every_strategy_runs_on_the_embedded_model_within_its_budget(
    local_backend: LocalBackend,
) -> None:
    (problem, *_), _ = load_problems(EXAMPLES, limit=1)
    budget, request_cap = 700, 2 * (400 + 48)  # one request: 2 samples of prompt + output
    for strategy in STRATEGIES:
        config = run_config(
            strategy,
            width=2, keep=1, depth=2, rollouts=2, simulations=4, max_tokens=budget,
            step_tokens=32, final_tokens=48, rollout_tokens=48,
        )  # fmt: skip
        tree = await search(problem, local_backend, [AnswerJudge()], config, load_prompts())
        # What the model writes differs by CPU: assert what holds for any output.
        assert tree.status in ("complete", "partial"), (strategy, tree.error)
        assert tree.stats.depth <= 2
        assert tree.stats.usage.total_tokens < budget + request_cap
        if tree.status == "partial":  # critique, dialogue: or a step gone back to too often
            reason = tree.stats.stop_reason or ""
            assert "token budget" in reason or reason.startswith("went back to"), reason
        assert len({n.id for n in tree.nodes}) == len(tree.nodes)
        assert all(n.text.strip() and "\n" not in n.text for n in tree.nodes)
        assert all(n.parent is None or n.parent in {m.id for m in tree.nodes} for n in tree.nodes)
        if strategy in SAMPLERS:  # whole solutions were sampled: values count them
            assert tree.stats.counters["rollouts"] >= 1
            assert not tree.nodes or any(n.visits > 0 for n in tree.nodes)
