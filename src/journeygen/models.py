"""The data types every stage passes along: problems, trees of judged steps, journeys, samples."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import Field, field_validator

from journeygen.config import ReflectionSource, RunConfig, StrictModel, empty_dict, empty_list

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "SCHEMA_VERSION",
    "AgentName",
    "Event",
    "EventKind",
    "Journey",
    "Label",
    "Node",
    "Problem",
    "Provenance",
    "ReflectionSource",
    "Sample",
    "Segment",
    "SegmentKind",
    "SegmentSource",
    "StrictModel",
    "Tree",
    "TreeStats",
    "Usage",
    "Verdict",
    "children_by_parent",
    "children_of",
    "empty_dict",
    "empty_list",
    "is_safe_id",
    "path_to",
]

SCHEMA_VERSION: Final = 1

Label = Literal["correct", "incorrect", "unknown"]
NodeSource = Literal["policy", "reference", "import"]
TreeStatus = Literal["complete", "partial", "failed"]
SegmentKind = Literal["step", "wrong_step", "reflection", "backtrack", "answer"]
PathSource = Literal["policy", "reference"]
# What happened, in order, in a search where the model acts (critique, dialogue): a step
# written, an action chosen (continue, reflect, backtrack, terminate), the run's answer check
# (feedback on a wrong final answer, solved), or an action that never parsed
EventKind = Literal[
    "step", "continue", "reflect", "backtrack", "terminate", "feedback", "solved", "unparsed"
]
AgentName = Literal["policy", "critic", "system"]
# A reflection's words: a source of `journey.reflection_sources`, or the searching model's own
# (`self`: the policy reflecting on its steps; `critic`: the dialogue's critic agent)
SegmentSource = ReflectionSource | Literal["self", "critic"]
SampleKindName = Literal["journey", "shortcut", "episode"]

ROOT = "ROOT"  # graph key of the question, parent of every first step
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def children_by_parent(nodes: Iterable[Node]) -> dict[str | None, list[Node]]:
    """Every node's children in order, from one walk over `nodes` (`None`: the first steps),
    for code that asks for many nodes' children."""
    children: dict[str | None, list[Node]] = {}
    for node in nodes:
        children.setdefault(node.parent, []).append(node)
    return children


def children_of(nodes: Iterable[Node], parent: str | None) -> list[Node]:
    """The nodes whose parent is `parent`, in order; `None` gives the first steps."""
    return [node for node in nodes if node.parent == parent]


def path_to(by_id: Mapping[str, Node], node_id: str | None) -> list[Node]:
    """The steps from the first one down to `node_id`, inclusive (empty for the question).
    A cycle of parents (a hand-edited tree) is an error, not an endless walk."""
    steps: list[Node] = []
    while node_id is not None:
        if len(steps) > len(by_id):
            raise ValueError(f"step {steps[0].id!r} has a cycle of parents")
        node = by_id[node_id]
        steps.append(node)
        node_id = node.parent
    return steps[::-1]


def is_safe_id(value: str) -> bool:
    """Usable as a file name inside its folder: no separator, no leading dot, no '..'."""
    return bool(SAFE_ID.fullmatch(value)) and ".." not in value


class Problem(StrictModel):
    """One question with its gold answer and, if known, a reference solution."""

    id: str
    question: str = Field(min_length=1)
    answer: str | None = None
    solution: str | None = None
    meta: dict[str, Any] = Field(default_factory=empty_dict)

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
    verdicts: list[Verdict] = Field(default_factory=empty_list)
    usage: Usage = Field(default_factory=Usage)
    # Why the completion that made this step ended: "length" means it was cut by max_tokens,
    # so it is never a correct step (None: not recorded, e.g. a step in the middle of a
    # whole solution, or an imported one)
    finish_reason: str | None = None
    # The run's request-cache entry (`KEY/INDEX`) of the completion that made this step: the
    # exact messages sent and the raw answer, for auditing its label (None: no cache used)
    request: str | None = None
    # A reasoning model's own thinking in the completion that made this step (None: none returned)
    reasoning: str | None = None


class Event(StrictModel):
    """One move of a critique or dialogue search, kept in the order it happened, so the
    model's own reflections and backtracks can be replayed as they were made."""

    kind: EventKind
    agent: AgentName
    # step: the step written (new or met again); continue, reflect, terminate, feedback,
    # solved, unparsed: the step it is about; backtrack: the step gone back to (None: the
    # question)
    node_id: str | None = None
    text: str = ""  # the agent's reason in its own words, or the feedback sent


class TreeStats(StrictModel):
    """Counts a user looks at first: size, depth, leaves by label, tokens spent."""

    nodes: int = 0
    depth: int = 0
    terminal: int = 0
    correct_leaves: int = 0
    incorrect_leaves: int = 0
    usage: Usage = Field(default_factory=Usage)
    counters: dict[str, int] = Field(default_factory=empty_dict)  # the strategy's own counts
    stop_reason: str | None = None

    @classmethod
    def measure(cls, nodes: Sequence[Node], usage: Usage, stop_reason: str | None) -> TreeStats:
        """Size, depth, leaves by label and tokens of a searched (or imported) tree."""
        depth_of: dict[str, int] = {}
        for node in nodes:  # parents always come before children
            depth_of[node.id] = 1 if node.parent is None else depth_of[node.parent] + 1
        leaves = [node for node in nodes if node.terminal]
        return cls(
            nodes=len(nodes),
            depth=max(depth_of.values(), default=0),
            terminal=len(leaves),
            correct_leaves=sum(1 for leaf in leaves if leaf.label == "correct"),
            incorrect_leaves=sum(1 for leaf in leaves if leaf.label == "incorrect"),
            usage=usage,
            stop_reason=stop_reason,
        )


class Tree(StrictModel):
    """A search result: every step tried for one problem, flat and linked by `parent`."""

    schema_version: Literal[1] = SCHEMA_VERSION
    problem: Problem
    nodes: list[Node] = Field(default_factory=empty_list)
    config: RunConfig = Field(default_factory=RunConfig)
    config_hash: str = ""
    strategy: str = "beam"
    status: TreeStatus = "complete"
    error: str | None = None
    stats: TreeStats = Field(default_factory=TreeStats)
    events: list[Event] = Field(
        default_factory=empty_list
    )  # critique, dialogue: what happened, in order

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(f"no node {node_id!r} in tree {self.problem.id!r}")

    def children(self, node_id: str | None) -> list[Node]:
        """Children of a node in insertion order; `None` gives the first steps."""
        return children_of(self.nodes, node_id)

    def path(self, node_id: str) -> list[Node]:
        """The steps from the first step down to `node_id`, inclusive."""
        return path_to({node.id: node for node in self.nodes}, node_id)

    def graph(self) -> nx.DiGraph:
        """The tree as a networkx graph rooted at the node `ROOT` (the question)."""
        import networkx as nx  # 0.2 s to import: only `graph` and `view` need it, not every command

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
    source: SegmentSource | None = None  # where a reflection's "why" came from


class Journey(StrictModel):
    """An ordered walk through a tree; a shortcut is a journey without detours, and an
    episode is the walk a critique or dialogue search really made, in its own order."""

    kind: SampleKindName
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

    kind: SampleKindName
    prompt: str
    thought: str
    solution: str
    answer: str | None = None
    provenance: Provenance
    segments: list[Segment] = Field(
        default_factory=empty_list
    )  # the walk the thought was made from
