"""The fidelity check passes a faithful rewrite and fails each rule it enforces."""

from __future__ import annotations

from fractions import Fraction

from journeygen.derive.fidelity import check_fidelity, number_values, numbers
from journeygen.models import Journey, Segment

QUESTION = "Tom has 3 apples and buys 5 more. How many?"
JOURNEY = Journey(
    kind="journey",
    problem_id="apples",
    path_source="policy",
    segments=[
        Segment(kind="wrong_step", node_id="2", text="The answer is 9."),
        Segment(
            kind="reflection",
            node_id="2",
            source="answer",
            text="That gives 9, but it doesn't fit what the question asks.",
        ),
        Segment(kind="backtrack", node_id=None, text=""),
        Segment(kind="step", node_id="1", text="Tom starts with 3 apples."),
        Segment(kind="wrong_step", node_id="1.2", text="He buys 4 more."),
        Segment(kind="wrong_step", node_id="1.2.1", text="3 + 4 = 7. The answer is 7."),
        Segment(
            kind="reflection",
            node_id="1.2.1",
            source="judge",
            text="Checking the count, he buys 5 apples, not 4.",
        ),
        Segment(kind="backtrack", node_id="1", text="Tom starts with 3 apples."),
        Segment(kind="answer", node_id="1.1", text="3 + 5 = 8. The answer is 8."),
    ],
)
DRAFT = "\n\n".join(s.text for s in JOURNEY.segments if s.text)
FAITHFUL = (
    "Maybe the answer is just 9? No, that can't be right: 9 doesn't fit what the question "
    "asks. Let me start over. Tom starts with 3 apples. Suppose he buys 4 more; then "
    "3 + 4 = 7, so the answer would be 7. But wait, he buys 5 apples, not 4. Going back to "
    "the 3 apples he starts with: 3 + 5 = 8. So the answer is 8."
)


def check(rewrite: str) -> list[str]:
    result = check_fidelity(rewrite, JOURNEY, draft=DRAFT, question=QUESTION, answer="8")
    assert result.ok == (not result.failures)
    return [failure.split(":")[0] for failure in result.failures]


def test_a_faithful_rewrite_passes() -> None:
    assert check(FAITHFUL) == []


def test_a_rewrite_that_drops_a_wrong_step_fails() -> None:
    dropped = FAITHFUL.replace("then 3 + 4 = 7, so the answer would be 7. ", "")
    assert "dropped" in check(dropped)
    first_detour = (
        "Maybe the answer is just 9? No, that can't be right: 9 doesn't fit what the question "
        "asks. Let me start over. "
    )
    assert "dropped" in check(FAITHFUL.replace(first_detour, ""))


def test_a_rewrite_that_corrects_before_the_error_fails() -> None:
    reordered = (
        "Maybe the answer is just 9? No, 9 can't be right. Tom starts with 3 apples, and "
        "3 + 5 = 8, the answer is 8. But suppose he buys 4 more: 3 + 4 = 7, the answer would "
        "be 7, but he buys 5, not 4. So the answer is 8."
    )
    assert check(reordered) == ["order"]


def test_a_rewrite_that_changes_the_answer_fails() -> None:
    assert "answer" in check(FAITHFUL.replace("So the answer is 8.", "So the answer is 7."))


def test_a_rewrite_that_adds_a_number_fails() -> None:
    added = FAITHFUL.replace("Let me start over.", "Let me start over with 12 apples.")
    failures = check_fidelity(added, JOURNEY, draft=DRAFT, question=QUESTION, answer="8")
    assert failures.failures == ["numbers: new 12"]


def test_a_rewrite_without_the_reflection_fails() -> None:
    silent = FAITHFUL.replace(
        "No, that can't be right: 9 doesn't fit what the question asks. Let me start over. ", ""
    )
    assert set(check(silent)) == {"reflection"}  # no cue, and its 9 not said again
    lost = FAITHFUL.replace("he buys 5 apples, not 4", "that is wrong")
    assert check(lost) == ["reflection"]  # the reason's own numbers (5 apples, not 4) are gone


def test_a_rewrite_that_echoes_the_prompt_fails() -> None:
    echo = FAITHFUL + "\nRewrite the draft as one natural first-person monologue."
    result = check_fidelity(
        echo, JOURNEY, draft=DRAFT, question=QUESTION, answer="8",
        forbidden=["Rewrite the draft as one natural first-person monologue"],
    )  # fmt: skip
    assert [f.split(":")[0] for f in result.failures] == ["echo"]


def test_numbers_are_read_as_written_and_compared_by_value() -> None:
    assert numbers("1,200 apples, -3 and 2.5 or 3/4; step2 is no number") == [
        "1,200",
        "-3",
        "2.5",
        "3/4",
    ]
    assert number_values("2.5/100 and 3/0 and 0.025") == {Fraction(1, 40), Fraction(3)}
    question = "A crate holds 1,200 apples."
    assert check_fidelity("1200 apples.", JOURNEY.model_copy(update={"segments": []}),
                          draft="", question=question, answer="1200").ok  # fmt: skip
