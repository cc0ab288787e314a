"""Final-answer extraction and checking: math-verify behind our own off-main-thread timeout."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator
from types import ModuleType

import pytest

from journeygen.judges import answers
from journeygen.judges.answers import (
    AnswerCheck,
    check_answer,
    extract_answer,
    is_final_step,
    last_number,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"So x = \boxed{\frac{1}{2}}, i.e. \boxed{\frac{\sqrt{3}}{2}}.", r"\frac{\sqrt{3}}{2}"),
        (r"Total: \boxed{ {1, 2} } done", "{1, 2}"),
        ("She earns 9 * 2 = 18 dollars.\n#### 1,000", "1000"),
        ("The answer is $18.", "18"),
        ("the final answer is: $\\frac{3}{4}$.", r"\frac{3}{4}"),
        ("**Answer:** 3/4", "3/4"),
        ("**Final Answer**: 42", "42"),
        ("So the answer is 18 because 9 * 2 = 18.", "18"),
        ("The answer is 3.5. Next we check it.", "3.5"),
        ("The answer is C", "C"),
        ('The answer is "42".', "42"),  # an answer in quotes is still stated
        (r"\boxed{7} but #### 8 and the answer is 9", "7"),
        ("#### 8\nthe answer is 9", "8"),
        ("The answer is 12. We are not sure the answer is correct", "12"),
        # the answer ends where a clause goes on about it; an equation's result is the answer
        ("The answer is 15, but I'll add that to the next step.", "15"),
        ("The answer is 15, which is the final step in the next step.", "15"),
        ("so the answer is 4 + 3 = 7.", "7"),
        ("The answer is 3, 4 and 5.", "3, 4 and 5"),
        ("Then 5 + 5 = 10 is the answer.", "10"),
    ],
)
def test_extract_answer_finds_the_stated_answer(text: str, expected: str) -> None:
    assert extract_answer(text) == expected
    assert is_final_step(text)


@pytest.mark.parametrize(
    "text",
    [
        "First, 9 * 2 = 18.",
        "Let's find the answer: first add 3 and 4.",
        "We do not know yet whether the answer is correct.",
        "The answer is not obvious, so compute 5 + 6 = 11.",
        # the prompt's instruction copied: the phrase is quoted, no answer follows it
        'When the last step ends with "The answer is" and the number, for example: "Sara '
        'runs 60 meters" is the next step.',
        "The answer is and the number of pens.",
        r"\boxed{}",
        r"We write \boxed{5 without closing",
    ],
)
def test_no_answer_marker_gives_none(text: str) -> None:
    assert extract_answer(text) is None
    assert not is_final_step(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She pays $1,250 in total.", "1250"),
        ("Then 12,345,678 - 1 = 12,345,677", "12345677"),
        ("The temperature drops to -3 degrees.", "-3"),
        ("x = \u22127", "-7"),
        ("Each costs 2.5, so 4 cost 10.25.", "10.25"),
        ("She eats 3/4 of the pie.", "3/4"),
        ("Subtract: 10-4", "4"),
        ("no digits here", None),
    ],
)
def test_last_number(text: str, expected: str | None) -> None:
    assert last_number(text) == expected


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [
        ("72", "72.0"),
        ("1,000", "1000"),
        ("$18", "18"),
        ("18 dollars", "18"),
        ("50%", "50"),
        (r"\frac{1}{2}", "0.5"),
        ("0.5", r"\frac{1}{2}"),
        (r"\frac{3}{4}", "3/4"),
        (r"2\sqrt{3}", r"\sqrt{12}"),
        ("x = 5", "5"),
        ("B", "b"),
    ],
)
async def test_equal_answers_are_correct(predicted: str, gold: str) -> None:
    check = await check_answer(predicted, gold)
    assert check == AnswerCheck(
        "correct", f"final answer {predicted} matches the gold answer {gold}"
    )


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [("35", "72"), ("2 pi", "2"), (r"\frac{1}{3}", "0.5"), ("18", "18.5"), ("-4", "4")],
)
async def test_different_answers_are_incorrect_and_name_both(predicted: str, gold: str) -> None:
    check = await check_answer(predicted, gold)
    assert check.label == "incorrect"
    assert check.reason == f"final answer {predicted} does not match the gold answer {gold}"


@pytest.mark.parametrize("gold", [None, "", "   "])
async def test_no_gold_answer_is_unknown(gold: str | None) -> None:
    assert await check_answer("72", gold) == AnswerCheck(
        "unknown", "no gold answer to check against"
    )


@pytest.mark.parametrize("predicted", [None, ""])
async def test_no_stated_answer_is_incorrect(predicted: str | None) -> None:
    assert await check_answer(predicted, "72") == AnswerCheck(
        "incorrect", "the step states no final answer"
    )


def test_check_works_from_a_plain_thread_with_its_own_loop() -> None:
    results: list[AnswerCheck] = []
    errors: list[BaseException] = []

    def work() -> None:  # as in a worker thread of an executor: no signals, a loop of its own
        try:
            results.append(asyncio.run(check_answer(r"\frac{1}{2}", "0.5")))
            results.append(asyncio.run(check_answer(r"\frac{2}{3}", "0.5")))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=30)
    assert not errors
    assert [r.label for r in results] == ["correct", "incorrect"]


async def test_checks_run_in_parallel_on_one_loop_and_from_another_thread() -> None:
    results = await asyncio.gather(
        check_answer(r"\frac{3}{4}", "3/4"),
        check_answer(r"\sqrt{2}", "1.5"),
        asyncio.to_thread(asyncio.run, check_answer(r"\dfrac{1}{2}", "0.5")),
    )
    assert [r.label for r in results] == ["correct", "incorrect", "correct"]


@pytest.fixture
def stuck_verifier(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Replace the worker's math-verify call with one that hangs until the test ends."""
    release = threading.Event()

    def hang(predicted: str, gold: str) -> AnswerCheck:
        release.wait(timeout=10)
        return AnswerCheck("correct", "too late")

    monkeypatch.setattr(answers, "_math_verify", hang)
    yield
    release.set()


@pytest.mark.usefixtures("stuck_verifier")
async def test_async_check_times_out_without_blocking_the_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    check = await check_answer(r"\frac{1}{2}", "0.5", timeout=0.1)
    task.cancel()
    assert check == AnswerCheck("unknown", "answer check timed out after 0.1 s")
    assert ticks > 3  # the loop kept running while the check hung


async def test_importing_math_verify_is_not_part_of_the_first_checks_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """math-verify is imported by the first check that needs it, which on a busy machine can
    take longer than a check may: the import waits outside the timeout."""
    module = answers._load_math_verify()
    imports: list[float] = []

    def slow_first_import() -> ModuleType:
        if not imports:
            time.sleep(1.0)
        imports.append(time.monotonic())
        sys.modules["math_verify"] = module
        return module

    monkeypatch.delitem(sys.modules, "math_verify")
    monkeypatch.setattr(answers, "_load_math_verify", slow_first_import)
    check = await check_answer(r"\frac{1}{2}", "0.5", timeout=0.8)
    assert check.label == "correct" and imports


@pytest.mark.usefixtures("stuck_verifier")
async def test_plain_numbers_never_reach_math_verify() -> None:
    assert (await check_answer("1,000", "1000", timeout=0.05)).label == "correct"
    assert (await check_answer("35", "72", timeout=0.05)).label == "incorrect"


async def test_unparseable_gold_is_unknown_and_worker_errors_are_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await check_answer("5", r"\frac{") == AnswerCheck(
        "unknown", r"the gold answer \frac{ could not be parsed"
    )
    assert await check_answer(r"\frac{", "5") == AnswerCheck(
        "incorrect", r"final answer \frac{ could not be parsed (the gold answer is 5)"
    )

    def broken(predicted: str, gold: str) -> AnswerCheck:
        raise RuntimeError("sympy exploded")

    monkeypatch.setattr(answers, "_math_verify", broken)
    assert await check_answer(r"\frac{1}{2}", "0.5") == AnswerCheck(
        "unknown", "answer check failed: RuntimeError: sympy exploded"
    )


async def test_math_verify_notice_about_its_disabled_timeout_is_dropped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import math_verify.grader
    import math_verify.parser

    monkeypatch.setattr(math_verify.parser, "TIMEOUT_WARNING_SHOWN", False)
    monkeypatch.setattr(math_verify.grader, "TIMEOUT_WARNING_SHOWN", False)
    with caplog.at_level("DEBUG"):
        assert (await check_answer(r"\frac{1}{2}", "0.5")).label == "correct"
    assert not [r for r in caplog.records if "Timeout is disabled" in r.getMessage()]


def test_quotes_around_a_stated_answer_are_dropped() -> None:
    assert extract_answer('So the next step would be: "The answer is 3"') == "3"
    assert extract_answer("The answer is “12”.") == "12"
