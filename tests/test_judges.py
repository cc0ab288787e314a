"""AnswerJudge: one verdict for a terminal step, with a readable reason; nothing otherwise."""

from __future__ import annotations

import pytest

from journeygen.judges.answer import AnswerJudge
from journeygen.judges.answers import AnswerCheck
from journeygen.judges.base import Judge
from journeygen.models import Node, Problem, Verdict

PROBLEM = Problem(id="gsm-1", question="9 apples at 8 dollars each: total?", answer="72")
FIRST = Node(id="1", parent=None, text="Each apple costs 8 dollars.")


def _terminal(answer: str | None, text: str = "So 9 * 8 = 72. The answer is 72.") -> Node:
    return Node(id="1.1", parent="1", text=text, terminal=True, answer=answer)


def test_answer_judge_is_a_judge() -> None:
    judge: Judge = AnswerJudge()
    assert judge.name == "answer"


async def test_non_terminal_step_gets_no_verdict() -> None:
    step = Node(id="1.1", parent="1", text="So 9 * 8 = 72. The answer is 72.", answer="72")
    assert await AnswerJudge().judge(PROBLEM, [FIRST], step) == []


async def test_terminal_step_with_the_gold_answer_is_correct() -> None:
    verdicts = await AnswerJudge().judge(PROBLEM, [FIRST], _terminal("72.0"))
    assert verdicts == [
        Verdict(
            judge="answer",
            label="correct",
            score=1.0,
            reason="final answer 72.0 matches the gold answer 72",
        )
    ]


async def test_terminal_step_with_a_wrong_answer_is_incorrect_with_both_named() -> None:
    verdicts = await AnswerJudge().judge(PROBLEM, [FIRST], _terminal("35", "The answer is 35."))
    assert verdicts == [
        Verdict(
            judge="answer",
            label="incorrect",
            score=0.0,
            reason="final answer 35 does not match the gold answer 72",
        )
    ]


async def test_terminal_step_without_an_answer_is_incorrect() -> None:
    verdicts = await AnswerJudge().judge(PROBLEM, [FIRST], _terminal(None, "I give up."))
    assert [(v.label, v.score, v.reason) for v in verdicts] == [
        ("incorrect", 0.0, "the step states no final answer")
    ]


async def test_missing_node_answer_falls_back_to_the_stated_one() -> None:
    node = _terminal(None, r"Thus the total is \boxed{72}.")
    verdicts = await AnswerJudge().judge(PROBLEM, [FIRST], node)
    assert [v.label for v in verdicts] == ["correct"]


async def test_problem_without_gold_gives_unknown_without_score() -> None:
    problem = PROBLEM.model_copy(update={"answer": None})
    verdicts = await AnswerJudge().judge(problem, [FIRST], _terminal("72"))
    assert [(v.label, v.score, v.reason) for v in verdicts] == [
        ("unknown", None, "no gold answer to check against")
    ]


async def test_judge_passes_its_timeout_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    async def fake_check(predicted: str | None, gold: str | None, *, timeout: float) -> AnswerCheck:
        seen.append(timeout)
        return AnswerCheck("unknown", f"answer check timed out after {timeout} s")

    monkeypatch.setattr("journeygen.judges.answer.check_answer", fake_check)
    verdicts = await AnswerJudge(timeout=0.25).judge(PROBLEM, [FIRST], _terminal("72"))
    assert seen == [0.25]
    assert [(v.label, v.score, v.reason) for v in verdicts] == [
        ("unknown", None, "answer check timed out after 0.25 s")
    ]
