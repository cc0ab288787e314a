"""A judge's reason may be quoted by a reflection only when it says why: not the label, not a
bare number, not an echo of the step, and naming something in the step or a rule it broke;
the LLM judge records a bare label as no reason."""

from __future__ import annotations

import pytest

from journeygen.backends.fake import FakeBackend
from journeygen.judges.llm import VERDICT_SCHEMA, LLMJudge
from journeygen.judges.reasons import (
    ECHO,
    LABEL_ONLY,
    NO_REASON,
    TOO_SHORT,
    VAGUE,
    reason_flaw,
    recorded_reason,
)
from journeygen.models import Node, Problem
from journeygen.prompts import load_prompts

STEP = "Janet has 16 + 16 = 22 eggs, so she sells 9 eggs."


@pytest.mark.parametrize(
    ("reason", "flaw"),
    [
        ("incorrect", LABEL_ONLY),
        ("Incorrect.", LABEL_ONLY),
        ("The step is wrong.", LABEL_ONLY),
        ("This calculation is not correct", LABEL_ONLY),
        (f"{NO_REASON} ('incorrect')", LABEL_ONLY),
        ("18", TOO_SHORT),
        ("The reasoning does not follow.", TOO_SHORT),
        ("16 + 16 = 22", ECHO),
        ("She sells 9 eggs.", ECHO),
        ("The step uses a wrong number from the problem.", VAGUE),
        ("16 + 16 is 32, not 22", None),
        ("The step multiplies where it should divide the eggs.", None),
        ("Janet eats 3 eggs for breakfast, which the step leaves out.", None),
        ("It does not count the total number of eggs laid.", None),
    ],
)
def test_a_reason_says_why_or_says_what_it_lacks(reason: str, flaw: str | None) -> None:
    assert reason_flaw(reason, STEP) == flaw


def test_a_reason_that_copies_the_step_or_the_question_at_length_is_an_echo() -> None:
    question = "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning."
    copy = "Janet's ducks lay 16 eggs per day and she eats three for breakfast every morning."
    assert reason_flaw(copy, STEP, question) == ECHO
    assert reason_flaw(copy, STEP) is None  # without the question it names the step's 16
    quoting = "The incorrect step is: Janet has 16 + 16 = 22 eggs, so she sells 9 eggs."
    assert reason_flaw(quoting, STEP, question) == ECHO
    assert reason_flaw("16 + 16 is 32, not 22", STEP, "She has 32 hens and 16 eggs.") is None


def test_a_bare_label_is_recorded_as_no_reason_and_a_real_one_as_said() -> None:
    assert recorded_reason("incorrect") == f"{NO_REASON} ('incorrect')"
    assert recorded_reason("  The step is   wrong. ") == f"{NO_REASON} ('The step is wrong.')"
    assert recorded_reason(recorded_reason("incorrect")) == recorded_reason("incorrect")
    assert recorded_reason("16 + 16 is 32, not 22") == "16 + 16 is 32, not 22"


async def test_the_llm_judge_asks_for_the_reason_first_and_records_a_bare_label() -> None:
    backend = FakeBackend(['{"reason": "incorrect", "label": "incorrect"}'])
    judge = LLMJudge(backend, load_prompts().judge)
    problem = Problem(id="eggs", question="Janet's ducks lay 16 eggs a day...", answer="18")
    (verdict,) = await judge.judge(problem, [], Node(id="1", parent=None, text=STEP))
    assert (verdict.label, verdict.reason) == ("incorrect", f"{NO_REASON} ('incorrect')")
    assert list(VERDICT_SCHEMA["properties"]) == ["reason", "label"]
    assert "never just the label" in VERDICT_SCHEMA["properties"]["reason"]["description"]
    ((messages, _),) = backend.calls
    system = messages[0]["content"]
    assert system.index('First "reason"') < system.index('Then "label"')
    assert "names the number or calculation in the step" in system
    assert 'never just the word "incorrect"' in system
