"""What the backend tests share: one chat question, and the usage a call's samples add up to."""

from __future__ import annotations

from journeygen.backends.base import ChatMessage, Completion
from journeygen.models import Usage

QUESTION: list[ChatMessage] = [
    {"role": "system", "content": "You are a careful maths tutor."},
    {"role": "user", "content": "What is 12 + 30? Think step by step."},
]


def total(completions: list[Completion]) -> Usage:
    return sum((c.usage for c in completions), Usage())
