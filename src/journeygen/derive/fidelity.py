"""Prove that an LLM rewrite of a journey kept what makes it a journey: every wrong step and
its reflection before the correction, the order, the final answer, and no invented numbers."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from journeygen.models import Journey, Segment

__all__ = ["RULES", "Fidelity", "check_fidelity", "number_values", "numbers"]

_NUMBER = re.compile(r"(?<![\w.])[-\u2212]?\d+(?:,\d{3})*(?:\.\d+)?(?:/\d+)?")
_WORDS = re.compile(r"[a-z]{4,}")
_CUES = re.compile(
    r"\b(wrong|mistake|error|incorrect|not right|isn't right|doesn't|does not|can't|cannot|"
    r"off|wait|hmm|actually|re-?check|recompute|check|but|not)\b",
    re.I,
)
Span = tuple[int, int]
RULES = ("dropped", "order", "reflection", "answer", "numbers", "echo")
WINDOW = 80  # extra characters a segment's numbers may spread over beyond its own length


@dataclass(frozen=True)
class Fidelity:
    """The outcome of a check; each failure reads `RULE: detail`, RULE one of `RULES`."""

    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def reason(self) -> str:
        return "; ".join(self.failures)


def numbers(text: str) -> list[str]:
    """The numbers written in `text`, in order, as written ("1,200", "-3", "2.5", "3/4")."""
    return _NUMBER.findall(text)


@functools.lru_cache(maxsize=4096)
def _value(number: str) -> Fraction:
    """The value of a number as `numbers` finds it; "2.5/100" is 0.025, "3/0" counts as 3.
    Cached: a Fraction from a string costs ~20 us, and the same few numbers recur."""
    top, _, bottom = number.replace(",", "").replace("\u2212", "-").partition("/")
    value, divisor = Fraction(top), Fraction(bottom or 1)
    return value / divisor if divisor else value


@functools.lru_cache(maxsize=4096)
def number_values(text: str) -> frozenset[Fraction]:
    """The values of the numbers in `text` ("1,200" and "1200.0" are the same number).
    Cached (an export asks it of each tree's question and gold answer again and again)."""
    return frozenset(_value(n) for n in numbers(text))


def _content_words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def _find_numbers(wanted: list[Fraction], text: str, start: int, window: int) -> Span | None:
    """The first place at or after `start` where `wanted` shows in order within `window`."""
    spans = [(m.start(), m.end(), _value(m.group())) for m in _NUMBER.finditer(text, start)]
    for first, (begin, end, value) in enumerate(spans):
        if value != wanted[0]:
            continue
        goals = iter(wanted[1:])
        goal = next(goals, None)
        for later_begin, later_end, later_value in spans[first + 1 :]:
            if goal is None or later_begin - begin > window:
                break
            if later_value == goal:
                end, goal = later_end, next(goals, None)
        if goal is None:
            return begin, end
    return None


def _find(segment: Segment, text: str, start: int) -> Span | None:
    """Where the content of `segment` shows in `text` at or after `start`: its numbers in
    order within a window, else most of its longer words; None when it does not show."""
    wanted = [_value(n) for n in numbers(segment.text)]
    if wanted:
        return _find_numbers(wanted, text, start, len(segment.text) + WINDOW)
    words = _content_words(segment.text)
    if len(words) < 2:
        return start, start  # nothing checkable in it: a bare phrase
    lowered = text.lower()
    hits = sorted(p for p in (lowered.find(w, start) for w in words) if p >= 0)
    if len(hits) * 2 < len(words):
        return None
    return hits[0], hits[len(hits) // 2] + 1


def _final_answer_kept(rewrite: str, answer: str | None) -> bool:
    if answer is None:
        return True
    stated = numbers(rewrite[-400:])
    try:
        gold = _value(answer)
    except (ValueError, ZeroDivisionError):
        return answer.strip() in rewrite[-400:]
    return bool(stated) and _value(stated[-1]) == gold


def _reflection_failures(segment: Segment, said: str) -> list[str]:
    """What is missing from `said` (the text between a detour and what follows it) for it to
    carry the reflection `segment`."""
    failures = []
    if not _CUES.search(said):
        failures.append(f"reflection: {segment.node_id} not said before the correction")
    wanted = [_value(n) for n in numbers(segment.text)]
    if wanted and _find_numbers(wanted, said, 0, len(said)) is None:
        failures.append(f"reflection: {segment.node_id} lost its numbers {segment.text[:60]!r}")
    return failures


def check_fidelity(
    rewrite: str,
    journey: Journey,
    *,
    draft: str,
    question: str,
    answer: str | None,
    forbidden: Sequence[str] = (),
) -> Fidelity:
    """Check `rewrite` against the journey it rewrote (pure). Rules:

    1. every wrong step and correct step shows (its numbers, else most of its words) in the
       journey's order, so no wrong step is dropped and no correction comes before its error;
    2. each reflection is said after its wrong steps and before what follows them: a cue in
       words ("wrong", "but", "wait", …) and its numbers in order (the wrong answer it
       names, the recomputed value of a claim);
    3. the last number stated is the final answer;
    4. every number is one from the problem or the draft;
    5. no line of `forbidden` (the rewrite prompt's own instructions) is echoed.
    """
    failures: list[str] = []
    cursor = 0
    pending: tuple[Segment, int] | None = None  # a reflection and where it may start
    for segment in journey.segments:
        if segment.kind == "reflection":
            pending = (segment, cursor)
            continue
        if segment.kind == "backtrack":
            continue
        span = _find(segment, rewrite, cursor)
        if span is None:
            rule = "dropped" if _find(segment, rewrite, 0) is None else "order"
            failures.append(f"{rule}: {segment.kind} {segment.node_id} {segment.text[:60]!r}")
            continue
        if pending is not None:
            reflection, since = pending
            failures += _reflection_failures(reflection, rewrite[since : span[0]])
            pending = None
        cursor = span[1]
    if not _final_answer_kept(rewrite, answer):
        failures.append(f"answer: final answer {answer} not kept")
    allowed = number_values(question) | number_values(draft)
    invented = [n for n in numbers(rewrite) if _value(n) not in allowed]
    if invented:
        failures.append(f"numbers: new {', '.join(dict.fromkeys(invented))}")
    echoed = [line for line in forbidden if line.strip() and line.strip() in rewrite]
    if echoed:
        failures.append(f"echo: repeats the prompt {echoed[0].strip()[:60]!r}")
    return Fidelity(failures)
