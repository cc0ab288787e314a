"""Scripted fakes shared by the critique and dialogue tests: steps and actions from their own
queues, so a test states the exact moves a search makes."""

from __future__ import annotations

import json
from collections.abc import Sequence

from journeygen.backends.base import ChatMessage, SamplingOptions
from journeygen.backends.fake import FakeBackend
from journeygen.derive.episode import extract_episode
from journeygen.models import Event, Problem, Tree

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


ACTIONS = ("continue", "reflect", "backtrack", "terminate")


def assert_well_formed(tree: Tree, agent: str) -> None:
    """What holds for any model output: every move names a step of the tree, steps are the
    policy's and actions the agent's, a backtrack goes to a step above the last one written,
    one action event per action asked, and an episode exists only for a solved tree."""
    assert tree.status in ("complete", "partial"), tree.error
    nodes = {node.id: node for node in tree.nodes}
    assert tree.events and tree.events[0].kind == "step"
    last: str | None = None
    for event in tree.events:
        assert event.node_id is None or event.node_id in nodes, event
        if event.kind == "step":
            assert event.agent == "policy"
            last = event.node_id
        elif event.kind in ("solved", "feedback"):
            assert event.agent == "system" and nodes[event.node_id or ""].terminal
        else:
            assert event.agent == agent, event
        if event.kind == "backtrack":
            assert last is not None
            above = [node.id for node in tree.path(last)[:-1]]
            assert event.node_id is None or event.node_id in above, (event, last)
    counters = tree.stats.counters
    kinds = [event.kind for event in tree.events]
    assert counters.get("actions", 0) == sum(kinds.count(kind) for kind in ACTIONS)
    assert counters.get("unparsed_actions", 0) == kinds.count("unparsed")
    assert counters["steps_written"] >= kinds.count("step")
    episode = extract_episode(tree)
    if "solved" not in kinds:
        assert episode is None
    if episode is not None:
        assert episode.segments[-1].kind == "answer"
        assert tree.node(episode.segments[-1].node_id or "").label == "correct"
