"""Steps that add nothing: a step that only restates the question, or repeats an earlier step
of its own path word for word. Such a step pads a path, so it stays in the tree with a
`redundant` verdict that says why, is not expanded, and is left out of a sample's text."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from journeygen.models import Node, Verdict

__all__ = ["REDUNDANT", "is_padding", "redundancy_verdict"]

REDUNDANT = "redundant"
_WORD = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
_FRAMING_WORDS = 6  # "you start with the question:", "the problem says that", …
_RESTATED_SHARE = 0.6  # share of the question's words a restatement repeats


@functools.lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    """Lower-case words and numbers, thousands separators dropped ("1,000" is "1000").
    Cached: every new step is read beside its question and each step above it, again and
    again as the tree grows."""
    return tuple(_WORD.findall(re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower())))


def _restates(words: tuple[str, ...], question: tuple[str, ...]) -> bool:
    """Only the question again: most of its words, no number of its own, and at most a few
    framing words around them."""
    known = set(question)
    new = [word for word in words if word not in known]
    if any(word[0].isdigit() for word in new) or len(new) > _FRAMING_WORDS:
        return False
    return len(known & set(words)) >= _RESTATED_SHARE * len(known)


def redundancy_verdict(text: str, question: str, path: Sequence[Node]) -> Verdict | None:
    """A `redundant` verdict (label unknown: it says nothing of right or wrong) when the step
    repeats a step above it or restates the question; None for a step that adds something."""
    words = _words(text)
    if not words:
        return None
    for index, step in enumerate(path, start=1):
        if _words(step.text) == words:
            reason = f"repeats step {index} of its own path word for word"
            return Verdict(judge=REDUNDANT, label="unknown", reason=reason)
    if _restates(words, _words(question)):
        return Verdict(judge=REDUNDANT, label="unknown", reason="only restates the question")
    return None


def is_padding(node: Node) -> bool:
    """Whether the step was found to add nothing."""
    return any(verdict.judge == REDUNDANT for verdict in node.verdicts)
