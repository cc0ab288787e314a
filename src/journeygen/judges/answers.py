"""Find the final answer a step states and check it against the gold answer.

Checking uses math-verify (gold first) with its signal-based timeouts switched off, since
`signal.alarm` only works in the main thread; our own timeout runs the check in a daemon
worker thread instead, so judges can run from any thread or event loop. math-verify (and
sympy under it) is imported by the first check that needs it, not with this module.
"""

from __future__ import annotations

import functools
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from types import ModuleType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import concurrent.futures
    import logging

__all__ = [
    "AnswerCheck",
    "AnswerStatement",
    "answer_statement",
    "check_answer",
    "extract_answer",
    "is_final_step",
    "last_number",
]

CheckLabel = Literal["correct", "incorrect", "unknown"]
# How a step states its final answer ("the answer is" covers "Answer: X" too)
AnswerStatement = Literal["boxed", "####", "the answer is", "is the answer"]

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_HASHES = re.compile(r"####\s*([^\n]+)")
_ANSWER_IS = re.compile(r"\banswer\s+is\b\s*:?\s*([^\n]+)", re.IGNORECASE)
_ANSWER_COLON = re.compile(
    r"^[\s>#*_-]*(?:final\s+)?answer\s*[*_]*\s*:\s*[*_]*\s*([^\n]+)",
    re.IGNORECASE | re.MULTILINE,
)
# "… so 5 + 5 = 10 is the answer.": a number (or `$…$`) said to be the answer
_IS_THE_ANSWER = re.compile(
    r"(?<![\w.])([-\u2212]?\$?\d[\d,]*(?:\.\d+)?(?:/\d+)?|\$[^$\n]+\$)"
    r"\s+is\s+(?:the|my|our)\s+(?:final\s+)?answer\b",
    re.IGNORECASE,
)
# Where a stated answer ends: a full stop, or a clause that goes on about it ("15, but I'll
# add that to the next step", "7, which is the final step"); not "1,000" or "3, 4 and 5"
_SENTENCE_END = re.compile(
    r"\.(?=\s|$)|;|,?\s+(?:because|since|as|so that)\b"
    r"|,\s+(?:but|which|where|while|so|then|this|that|because|since|as|if|i|we)\b",
    re.IGNORECASE,
)
# "the answer is 4 + 3 = 7": the claim's result is the answer
_EQUATION_RESULT = re.compile(r"^[^=]*[0-9a-z)}\]]\s*=\s*([^=]+)$", re.IGNORECASE)
# "the answer is not clear", "whether the answer is correct": talk about an answer, not one
_NOT_AN_ANSWER = re.compile(
    r"(?:not|to|that|the|what|whether|how|in|of|still|probably|likely|unclear|correct|"
    r"wrong|incorrect|right|given|found|obtained|below|above|being|then|also|and|or|but)\b",
    re.IGNORECASE,
)
# 'ends with "The answer is" and the number': the phrase quoted (its closing quote follows),
# as a model that copies the prompt's instructions writes it, is a mention, not an answer
_QUOTED_PHRASE = re.compile(r"^[\"'\u201d\u2019]\s")
_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_COMMA_NUMBER = re.compile(r"^([-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?)(?=$|\s+[A-Za-z])")
_LAST_NUMBER = re.compile(
    r"(?<![\w.])[-\u2212]?(?:\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?(?:/\d+)?)"
)
_PLAIN_NUMBER = re.compile(
    r"[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+|\d+/\d+)"
    r"(?P<unit>(?:\s*\\text\{\s*[A-Za-z ]+\})|(?:\s+[A-Za-z]{2,})+)?"
)
_NOT_UNITS = {"pi", "sqrt", "root", "times", "over"}
_MATH_DELIMITER = re.compile(r"\$|\\\(|\\\[|\\boxed")


def _last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` whose braces close (nested braces allowed)."""
    for match in reversed(list(_BOXED.finditer(text))):
        depth = 1
        for index in range(match.end(), len(text)):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    return text[match.end() : index]
    return None


def _last_stated(text: str) -> str | None:
    """What follows the last "the answer is" / "Answer:", up to the end of its sentence."""
    matches = [*_ANSWER_IS.finditer(text), *_ANSWER_COLON.finditer(text)]
    for match in sorted(matches, key=lambda match: match.start(1), reverse=True):
        rest = match.group(1)
        if _QUOTED_PHRASE.match(rest):
            continue
        end = _SENTENCE_END.search(rest)
        stated = rest[: end.start()] if end else rest
        if result := _EQUATION_RESULT.match(stated.strip()):
            stated = result.group(1)
        if not _NOT_AN_ANSWER.match(_clean(stated)):
            return stated
    return None


def _clean(answer: str) -> str:
    """Drop the wrapping a model puts around an answer: bold, quotes, `$…$`, a `$` sign, a
    final '.'."""
    previous = None
    while answer != previous:
        previous = answer
        answer = answer.strip().strip("*\"'“”").strip().rstrip(".").strip()
        for left, right in _DELIMITERS:
            wrapped = answer.startswith(left) and answer.endswith(right)
            if wrapped and len(answer) > len(left) + len(right):
                answer = answer[len(left) : -len(right)]
                break
        for sign in ("\\$", "$"):
            if answer.startswith(sign) and answer[len(sign) : len(sign) + 1].isdigit():
                answer = answer[len(sign) :]
    return _COMMA_NUMBER.sub(lambda match: match.group(1).replace(",", ""), answer)


@functools.lru_cache(maxsize=4096)
def _statement(text: str) -> tuple[AnswerStatement, str] | None:
    """How the step states its final answer and the answer, in the order of precedence.
    Cached: the search, the answer judge and the labels each read a new step's answer."""
    tried: tuple[tuple[AnswerStatement, Callable[[str], str | None]], ...] = (
        ("boxed", _last_boxed),
        ("####", lambda t: _last_match(_HASHES, t)),
        ("the answer is", _last_stated),
        ("is the answer", lambda t: _last_match(_IS_THE_ANSWER, t)),
    )
    for kind, find in tried:
        found = find(text)
        if found is not None and (answer := _clean(found)):
            return kind, answer
    return None


def extract_answer(text: str) -> str | None:
    """The final answer a step states: last `\\boxed{}`, else `#### X`, else "the answer is X"
    or "Answer: X", else "X is the answer". None when it states none (never a bare number)."""
    stated = _statement(text)
    return stated[1] if stated else None


def answer_statement(text: str) -> AnswerStatement | None:
    """Which of those forms gives the step's answer (`stats` counts them); None: none."""
    stated = _statement(text)
    return stated[0] if stated else None


def _last_match(pattern: re.Pattern[str], text: str) -> str | None:
    matches = list(pattern.finditer(text))
    return matches[-1].group(1) if matches else None


def last_number(text: str) -> str | None:
    """The last number in `text` (e.g. "-3", "2.5", "3/4", "1000" for "1,000"), or None."""
    found = _LAST_NUMBER.findall(text)
    return found[-1].replace(",", "").replace("\u2212", "-") if found else None


def is_final_step(text: str) -> bool:
    """Whether the step states a final answer explicitly (boxed, `####`, "the answer is")."""
    return extract_answer(text) is not None


@dataclass(frozen=True)
class AnswerCheck:
    """The outcome of comparing a stated answer with the gold one, with a readable reason."""

    label: CheckLabel
    reason: str


def _as_number(answer: str) -> tuple[Fraction, bool] | None:
    """A plain number (with `$`, `%`, thousands commas or unit words dropped) and whether
    it had a percent sign; None if the answer is anything more than that."""
    text = _clean(answer).replace("\\$", "").replace("$", "").replace("\\!", "").strip()
    percent = text.endswith("%")
    text = text.removesuffix("\\%").removesuffix("%").strip()
    match = _PLAIN_NUMBER.fullmatch(text)
    if match is None:
        return None
    unit = match.group("unit")
    if unit and _NOT_UNITS & set(unit.lower().split()):
        return None
    number = text[: match.start("unit")] if unit else text
    try:
        return Fraction(number.replace(",", "")), percent
    except (ValueError, ZeroDivisionError):
        return None


def _same_text(left: str, right: str) -> bool:
    return " ".join(left.split()).casefold() == " ".join(right.split()).casefold()


def _verdict(same: bool, predicted: str, gold: str) -> AnswerCheck:
    if same:
        return AnswerCheck("correct", f"final answer {predicted} matches the gold answer {gold}")
    return AnswerCheck(
        "incorrect", f"final answer {predicted} does not match the gold answer {gold}"
    )


def _quick_check(predicted: str | None, gold: str | None) -> AnswerCheck | tuple[str, str]:
    """Decide without math-verify where that is safe (missing values, equal text, plain
    numbers); otherwise hand back both answers, stripped, for math-verify."""
    if gold is None or not gold.strip():
        return AnswerCheck("unknown", "no gold answer to check against")
    if predicted is None or not predicted.strip():
        return AnswerCheck("incorrect", "the step states no final answer")
    predicted, gold = predicted.strip(), gold.strip()
    if _same_text(_clean(predicted), _clean(gold)):
        return _verdict(True, predicted, gold)
    pred_number, gold_number = _as_number(predicted), _as_number(gold)
    if pred_number is None or gold_number is None:
        return predicted, gold
    if pred_number[0] == gold_number[0]:
        return _verdict(True, predicted, gold)
    if pred_number[1] or gold_number[1]:
        return predicted, gold  # 50% may still equal 0.5: let math-verify decide
    return _verdict(False, predicted, gold)


def _latex(answer: str) -> str:
    """The answer as math-verify reads it best: inside `$…$` unless already delimited."""
    answer = _clean(answer)
    return answer if _MATH_DELIMITER.search(answer) else f"${answer}$"


def _load_math_verify() -> ModuleType:
    """math-verify, imported when an answer first needs it: with sympy it takes about half a
    second, which `--help`, `show` and runs whose answers are plain numbers never pay."""
    import logging

    import math_verify

    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(_drop_timeout_disabled_notice)  # added once
    module: ModuleType = math_verify  # untyped package: mypy sees Any
    return module


def _parse(answer: str) -> list[object]:
    """math-verify's reading of an answer; empty when it is not maths it can parse
    (no string fallback: equal strings were already accepted by the quick check)."""
    parsed: list[object] = _load_math_verify().parse(
        _latex(answer), fallback_mode="no_fallback", parsing_timeout=None
    )
    return parsed


def _math_verify(predicted: str, gold: str) -> AnswerCheck:
    """The slow path, run in a worker thread: parse both with math-verify, gold first."""
    gold_parsed = _parse(gold)
    if not gold_parsed:
        return AnswerCheck("unknown", f"the gold answer {gold} could not be parsed")
    pred_parsed = _parse(predicted)
    if not pred_parsed:
        return AnswerCheck(
            "incorrect",
            f"final answer {predicted} could not be parsed (the gold answer is {gold})",
        )
    same = _load_math_verify().verify(gold_parsed, pred_parsed, timeout_seconds=None)
    return _verdict(bool(same), predicted, gold)


def _run(future: concurrent.futures.Future[AnswerCheck], predicted: str, gold: str) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = _math_verify(predicted, gold)
    except Exception as exc:
        result = AnswerCheck("unknown", f"answer check failed: {type(exc).__name__}: {exc}")
    future.set_result(result)


def _start(predicted: str, gold: str) -> concurrent.futures.Future[AnswerCheck]:
    """Run the slow check in a daemon thread: a stuck sympy call can't be killed, but a
    daemon thread at least never blocks interpreter exit (pool workers would)."""
    import concurrent.futures

    future: concurrent.futures.Future[AnswerCheck] = concurrent.futures.Future()
    worker = threading.Thread(
        target=_run, args=(future, predicted, gold), name="journeygen-answer-check", daemon=True
    )
    worker.start()
    return future


async def check_answer(
    predicted: str | None, gold: str | None, *, timeout: float = 5.0
) -> AnswerCheck:
    """Compare a stated final answer with the gold answer; never blocks the event loop."""
    import asyncio  # loaded by the running loop; not at module level, where `stats` paid for it

    quick = _quick_check(predicted, gold)
    if isinstance(quick, AnswerCheck):
        return quick
    if "math_verify" not in sys.modules:  # the one-off import: off the loop, outside the timeout
        await asyncio.to_thread(_load_math_verify)
    future = _start(*quick)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
    except asyncio.TimeoutError:
        return AnswerCheck("unknown", f"answer check timed out after {timeout} s")


def _drop_timeout_disabled_notice(record: logging.LogRecord) -> bool:
    """math-verify logs that its timeout is off; ours is on, so the notice only misleads."""
    return not record.getMessage().startswith("Timeout is disabled")
