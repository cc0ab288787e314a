"""Whether a judge's written reason says *why* a step is wrong, so that a reflection may quote
it: more than the label, not a bare number or an echo of the step, and naming something in the
step (a number, a quantity) or a rule it broke. Pure and deterministic, no model."""

from __future__ import annotations

import re

__all__ = [
    "ECHO",
    "LABEL_ONLY",
    "NO_REASON",
    "TOO_SHORT",
    "VAGUE",
    "reason_flaw",
    "recorded_reason",
    "restates_label",
]

NO_REASON = "no reason beyond the label"  # how the LLM judge records a bare label as a reason
LABEL_ONLY = "restates the label"
TOO_SHORT = "too short to say why"
ECHO = "only repeats the step or the question"
VAGUE = "names nothing in the step"
MIN_TOKENS = 3  # numbers and words left once filler and label words are gone
COPY_GRAM, COPY_SHARE = 4, 0.6  # a reason whose 4-word runs mostly stand in the step: a copy

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+(?:'[a-z]+)?")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_LABEL = _words(
    "incorrect incorrectly correct correctly wrong wrongly right false true error errors invalid"
    " valid mistake mistakes mistaken erroneous inaccurate accurate flawed not no yes isn't"
    " doesn't bad good fine ok okay"
)
_FILLER = _words(
    "the this that these those step steps it its it's is are was were be been being a an answer"
    " final label labelled labeled verdict so and here calculation calculations reasoning result"
    " statement solution response therefore thus because of in as which has have seems appears"
    " looks to also very completely totally clearly entirely just all there i think judge judged"
    " marked output overall given"
)
# Words that carry no quantity of their own (never "something in the step").
_STOP = _words(
    "from with does did what into onto than then when where while who whom whose how why for"
    " but or nor by on at up out over under about after before their they them there we our you"
    " your he she his her him can could would will shall may might must one some any each other"
    " more less most least only same such like"
)
# A rule a step can break: an operation, a quantity word, or a correction.
_RULE = re.compile(
    r"^(?:add|subtract|multipl|divid|divis|sum|differen|product|quotient|percent|twice|double"
    r"|half|halv|triple|total|unit|remain|instead|should|forg[oe]t|miss|ignor|omit|count|times"
    r"|minus|plus|average|fraction|ratio|rate|per$|each$|left$|rounded|order)"
)


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s", "ed", "ing"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _number(token: str) -> str | None:
    if not token[0].isdigit():
        return None
    plain = token.replace(",", "")
    return plain[:-2] if plain.endswith(".0") else plain


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def restates_label(reason: str) -> bool:
    """Whether `reason` says nothing but the label ("incorrect", "The step is wrong.")."""
    if reason.strip().startswith(NO_REASON):
        return True
    return all(t in _LABEL or t in _FILLER for t in _tokens(reason))


def _copied(reason: list[str], texts: list[list[str]]) -> bool:
    """Whether most of the reason's runs of words stand as they are in one of `texts`."""
    grams = list(zip(*(reason[i:] for i in range(COPY_GRAM)), strict=False))
    seen = {g for text in texts for g in zip(*(text[i:] for i in range(COPY_GRAM)), strict=False)}
    return bool(grams) and sum(g in seen for g in grams) >= COPY_SHARE * len(grams)


def reason_flaw(reason: str, step: str, given: str = "") -> str | None:
    """Why `reason` cannot stand as the "why" of a reflection on `step`, or None when it can:
    it restates the label, is too short to say why (a bare number), only repeats the step's
    own words and numbers (or copies the step or `given`, the question, at length), or names
    nothing in the step (no number, quantity or rule)."""
    if restates_label(reason):
        return LABEL_ONLY
    left = [t for t in _tokens(reason) if t not in _LABEL and t not in _FILLER]
    if len(left) < MIN_TOKENS:
        return TOO_SHORT
    if _copied(_tokens(reason), [_tokens(step), _tokens(given)]):
        return ECHO
    said = _tokens(step)
    numbers = {n for t in said if (n := _number(t)) is not None}
    words = {_stem(t) for t in said if _number(t) is None}
    content = [t for t in left if t not in _STOP]
    in_step = [(n in numbers) if (n := _number(t)) else _stem(t) in words for t in content]
    if all(in_step):
        return ECHO
    rule = any(_number(t) is None and _RULE.match(t) for t in content)
    if not rule and not any(in_step):
        return VAGUE
    return None


def recorded_reason(reason: str) -> str:
    """A judge's reason as it is stored: one that only restates the label says so, with the
    judge's words quoted, so no reader or reflection takes it for a reason."""
    text = " ".join(reason.split())
    if restates_label(text) and not text.startswith(NO_REASON):
        return f"{NO_REASON} ({text!r})" if text else NO_REASON
    return text
