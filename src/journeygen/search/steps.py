"""A solution as steps: one step cut out of a completion, or a whole solution split into its
steps up to the first that states an answer."""

from __future__ import annotations

import re

from journeygen.judges.answers import is_final_step

__all__ = ["clean_step", "split_steps"]

ENUMERATION = re.compile(
    r"^\s*(?:[-*•]\s+|(?:step\s*)?\d+\s*[.):]\s+|step\s*\d+\s*[-—:]?\s*)", re.I
)
ANSWER_END = re.compile(
    r"(\\boxed\{.*\}|####\s*\S+|\b(?:the\s+)?(?:final\s+)?answer\s*(?:is|:)\s*[^\n]*?)"
    r"(?:\.(?=\s|$)|$)",
    re.I,
)


def clean_step(text: str, *, whole: bool) -> str:
    """One step out of a completion: the first non-empty line (or all lines when `whole`),
    without list numbering, cut after the sentence that states an answer."""
    lines = [ENUMERATION.sub("", line).strip() for line in text.strip().splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    step = " ".join(lines) if whole else lines[0]
    match = ANSWER_END.search(step)
    if match:
        step = step[: match.end()].strip()
    return step


def split_steps(text: str, *, truncated: bool) -> tuple[list[str], bool]:
    """The steps of a full solution, one per line, up to the first that states an answer,
    and whether the solution finished (a truncated one loses its cut-off last line)."""
    steps: list[str] = []
    for line in text.splitlines():
        step = clean_step(line, whole=False)
        if not step:
            continue
        steps.append(step)
        if is_final_step(step):
            return steps, True
    if truncated and steps:
        steps.pop()
    return steps, bool(steps) and not truncated
