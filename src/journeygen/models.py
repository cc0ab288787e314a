"""The data types every stage passes along: problems, trees of judged steps, journeys, samples."""

from __future__ import annotations

import re
from typing import Any, Final, Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "SCHEMA_VERSION",
    "Journey",
    "Label",
    "Node",
    "Problem",
    "Provenance",
    "ReflectionSource",
    "Sample",
    "Segment",
    "SegmentKind",
    "Tree",
    "TreeStats",
    "Usage",
    "Verdict",
    "is_safe_id",
]

SCHEMA_VERSION: Final = 1

Label = Literal["correct", "incorrect", "unknown"]
NodeSource = Literal["policy", "reference", "import"]
TreeStatus = Literal["complete", "partial", "failed"]
SegmentKind = Literal["step", "wrong_step", "reflection", "backtrack", "answer"]
PathSource = Literal["policy", "reference"]
ReflectionSource = Literal["judge", "arithmetic", "answer", "llm", "phrase"]

ROOT = "ROOT"  # graph key of the question, parent of every first step
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def is_safe_id(value: str) -> bool:
    """Usable as a file name inside its folder: no separator, no leading dot, no '..'."""
    return bool(SAFE_ID.fullmatch(value)) and ".." not in value


class StrictModel(BaseModel):
    """Base for all types: unknown fields are an error, not silently kept."""

    model_config = ConfigDict(extra="forbid")


class Problem(StrictModel):
    """One question with its gold answer and, if known, a reference solution."""

    id: str
    question: str = Field(min_length=1)
    answer: str | None = None
    solution: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        if not is_safe_id(value):
            raise ValueError(
                f"id {value!r} is not safe as a file name "
                "(letters, digits, '.', '_', '-'; at most 128; no '..')"
            )
        return value


class Usage(StrictModel):
    """Tokens and calls spent; adds up from completions to nodes to trees to runs."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Parts of `prompt_tokens` that a prompt cache served or stored (priced differently).
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Verdict(StrictModel):
    """One judge's opinion of one step; an `incorrect` label always has a readable reason."""

    judge: str
    label: Label
    score: float | None = Field(default=None, ge=0.0, le=1.0)
    reason: str = ""


class Node(StrictModel):
    """One solution step. `parent` is None for a first step (a child of the question)."""

    id: str
    parent: str | None
    text: str
    source: NodeSource = "policy"
    terminal: bool = False
    answer: str | None = None
    label: Label = "unknown"
    value: float | None = Field(default=None, ge=0.0, le=1.0)
    visits: int = Field(default=0, ge=0)  # search samples through this step (rollout, mcts)
    verdicts: list[Verdict] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)


class TreeStats(StrictModel):
    """Counts a user looks at first: size, depth, leaves by label, tokens spent."""

    nodes: int = 0
    depth: int = 0
    terminal: int = 0
    correct_leaves: int = 0
    incorrect_leaves: int = 0
    usage: Usage = Field(default_factory=Usage)
    counters: dict[str, int] = Field(default_factory=dict)  # the strategy's own counts
    stop_reason: str | None = None


class Tree(StrictModel):
    """A search result: every step tried for one problem, flat and linked by `parent`."""

    schema_version: Literal[1] = SCHEMA_VERSION
    problem: Problem
    nodes: list[Node] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    config_hash: str = ""
    strategy: str = "beam"
    status: TreeStatus = "complete"
    error: str | None = None
    stats: TreeStats = Field(default_factory=TreeStats)

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(f"no node {node_id!r} in tree {self.problem.id!r}")

    def children(self, node_id: str | None) -> list[Node]:
        """Children of a node in insertion order; `None` gives the first steps."""
        return [node for node in self.nodes if node.parent == node_id]

    def path(self, node_id: str) -> list[Node]:
        """The steps from the first step down to `node_id`, inclusive."""
        by_id = {node.id: node for node in self.nodes}
        steps: list[Node] = []
        current: str | None = node_id
        while current is not None:
            steps.append(by_id[current])
            current = by_id[current].parent
        return steps[::-1]

    def graph(self) -> nx.DiGraph:
        """The tree as a networkx graph rooted at the node `ROOT` (the question)."""
        graph = nx.DiGraph()
        graph.add_node(ROOT)
        for node in self.nodes:
            graph.add_node(node.id, label=node.label, source=node.source, terminal=node.terminal)
        for node in self.nodes:
            graph.add_edge(ROOT if node.parent is None else node.parent, node.id)
        return graph


class Segment(StrictModel):
    """One piece of a linearised path, typed so exports and checks keep the structure."""

    kind: SegmentKind
    node_id: str | None = None
    text: str
    source: ReflectionSource | None = None  # where a reflection's "why" came from


class Journey(StrictModel):
    """An ordered walk through a tree; a shortcut is a journey without detours."""

    kind: Literal["journey", "shortcut"]
    problem_id: str
    path_source: PathSource
    segments: list[Segment]
    seed: int = 0

    @property
    def node_ids(self) -> list[str]:
        """The tree nodes this walk uses, each once, in the order first met."""
        ids = (seg.node_id for seg in self.segments if seg.node_id is not None)
        return list(dict.fromkeys(ids))

    @property
    def detours(self) -> int:
        return sum(1 for seg in self.segments if seg.kind == "backtrack")


class Provenance(StrictModel):
    """Where a sample came from, so any row can be traced back to its tree and nodes."""

    run: str
    problem_id: str
    node_ids: list[str]
    config_hash: str
    path_source: PathSource
    linearize_mode: Literal["template", "rewrite"] = "template"
    linearize_reason: str | None = None  # why a requested rewrite was not used


class Sample(StrictModel):
    """One training example before formatting: prompt, long thought and final solution."""

    kind: Literal["journey", "shortcut"]
    prompt: str
    thought: str
    solution: str
    answer: str | None = None
    provenance: Provenance
    segments: list[Segment] = Field(default_factory=list)  # the walk the thought was made from
