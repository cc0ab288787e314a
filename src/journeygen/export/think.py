"""How a long thought and its final solution share one assistant message (R1, Stratos, plain)."""

from __future__ import annotations

from typing import Literal

from journeygen.models import Sample

__all__ = ["THINK_STYLES", "ThinkStyle", "assistant_text"]

ThinkStyle = Literal["r1", "stratos", "plain"]
THINK_STYLES: tuple[ThinkStyle, ...] = ("r1", "stratos", "plain")


def assistant_text(sample: Sample, style: ThinkStyle = "r1") -> str:
    """The assistant turn: R1's `<think>` block, Bespoke-Stratos' thought and solution
    markers, or the thought and the solution as plain paragraphs."""
    if style == "r1":
        return f"<think>\n{sample.thought}\n</think>\n\n{sample.solution}"
    if style == "stratos":
        return (
            f"<|begin_of_thought|>\n\n{sample.thought}\n\n<|end_of_thought|>\n\n"
            f"<|begin_of_solution|>\n\n{sample.solution}\n\n<|end_of_solution|>"
        )
    return f"{sample.thought}\n\n{sample.solution}"
