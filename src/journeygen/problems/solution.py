"""A reference solution as steps (one per line, or per sentence), the path the detours of a
tree hang on when the search finds no correct one."""

from __future__ import annotations

import re

__all__ = ["CALC_MARK", "reference_steps"]

CALC_MARK = re.compile(r"<<[^<>\n]*>>")  # GSM8K calculator annotations: <<48/2=24>>
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_ABBREVIATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "vs.", "e.g.", "i.e.", "etc.")
_DISPLAY_MATH = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)", re.DOTALL)
_DOLLAR = re.compile(r"(?<!\\)\$")


def reference_steps(solution: str) -> list[str]:
    """Split a reference solution into steps: one per line, or per sentence if it is one line.

    Lines inside an open display-math block (`$$`, `\\[`, `\\begin{...}`) stay together,
    and a sentence end inside `$...$` math does not split.
    """
    lines = [ln.strip() for ln in CALC_MARK.sub("", solution).splitlines() if ln.strip()]
    if len(lines) == 1:
        return _sentences(lines[0])
    steps: list[str] = []
    open_block = False
    for ln in lines:
        if open_block:
            steps[-1] += "\n" + ln
        else:
            steps.append(ln)
        open_block = _math_open(steps[-1])
    return steps


def _math_open(text: str) -> bool:
    """Whether `text` leaves a display-math block unclosed (so the next line belongs to it)."""
    return (
        text.count("$$") % 2 == 1
        or text.count("\\[") > text.count("\\]")
        or text.count("\\begin{") > text.count("\\end{")
    )


def _sentences(text: str) -> list[str]:
    spans = _math_spans(text)
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        cut = match.start()
        if any(lo < cut < hi for lo, hi in spans) or text[:cut].endswith(_ABBREVIATIONS):
            continue
        pieces.append(text[start:cut].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _math_spans(text: str) -> list[tuple[int, int]]:
    """Where math is. `$` counts as math only if the dollars pair up like LaTeX, else currency."""
    spans = [m.span() for m in _DISPLAY_MATH.finditer(text)]
    dollars = [
        m.start()
        for m in _DOLLAR.finditer(text)
        if not any(lo <= m.start() < hi for lo, hi in spans)
    ]
    pairs = list(zip(dollars[::2], dollars[1::2], strict=False))  # odd count: checked
    currency = len(dollars) % 2 == 1 or any(text[end + 1 : end + 2].isdigit() for _, end in pairs)
    if not currency:
        spans += [(lo, hi + 1) for lo, hi in pairs]
    return spans
