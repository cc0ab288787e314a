"""Scripted fakes shared by the critique and dialogue tests: steps and actions from their own
queues, so a test states the exact moves a search makes."""

from __future__ import annotations

import json
from collections.abc import Sequence

from journeygen.backends.base import ChatMessage, SamplingOptions
from journeygen.backends.fake import FakeBackend
from journeygen.models import Event, Problem

PROBLEM = Problem(
    id="apples",
    question="Tom has 3 apples and buys 5 more. How many apples does he have?",
    answer="8",
)


def act(reason: str, action: str) -> str:
    """An agent's answer as the schema asks for it."""
    return json.dumps({"reason": reason, "action": action})


def scripted(steps: list[str], actions: list[str]) -> FakeBackend:
    """A fake that answers step requests from `steps` and action requests (the ones with a
    JSON schema) from `actions`, each queue in order; an empty queue fails the test."""
    queues = {False: list(steps), True: list(actions)}

    def reply(messages: list[ChatMessage], options: SamplingOptions, index: int) -> str:
        queue = queues[options.json_schema is not None]
        assert queue, f"script exhausted: {messages[-1]['content'][-200:]!r}"
        return queue.pop(0)

    return FakeBackend(reply)


def moves(events: Sequence[Event]) -> list[tuple[str, str, str | None]]:
    """(kind, agent, node) of each event, the shape the tests compare."""
    return [(e.kind, e.agent, e.node_id) for e in events]
