"""A tree as a graph file for other tools: Graphviz DOT (with a journey, shortcut or episode
drawn over it) and networkx node-link JSON carrying every node's text, label, value, verdicts,
usage, finish reason, reasoning and request-cache entry (the request and raw answer behind its
label)."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import networkx as nx

from journeygen.models import ROOT, Journey, Node, Tree

__all__ = ["dot_quote", "node_link", "to_dot", "tree_graph"]

FILL = {"correct": "#dcf3e3", "incorrect": "#fbe1df", "unknown": "#eceef0"}
LINE = {"correct": "#2e9d4f", "incorrect": "#d6453d", "unknown": "#9aa0a6"}
REFERENCE = ("#dfe8fb", "#3b6fd8")
MARK = {"correct": "✓", "incorrect": "✗", "unknown": "?"}
WALK_COLOUR = {"step": "#2e9d4f", "answer": "#2e9d4f", "wrong_step": "#d6453d"}
BACKTRACK = "#e08a00"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def tree_graph(tree: Tree) -> nx.DiGraph:
    """`Tree.graph()` with every node's data as attributes and the problem on the graph."""
    graph = tree.graph()
    graph.graph.update(
        problem_id=tree.problem.id,
        question=tree.problem.question,
        answer=tree.problem.answer,
        status=tree.status,
        strategy=tree.strategy,
        config_hash=tree.config_hash,
    )
    graph.nodes[ROOT].update(kind="question", text=tree.problem.question, label="question")
    for node in tree.nodes:
        graph.nodes[node.id].update(
            kind="step",
            text=node.text,
            answer=node.answer,
            value=node.value,
            verdicts=[verdict.model_dump(mode="json") for verdict in node.verdicts],
            usage=node.usage.model_dump(mode="json"),
            finish_reason=node.finish_reason,
            reasoning=node.reasoning,
            request=node.request,
        )
    return graph


def node_link(tree: Tree) -> dict[str, Any]:
    """networkx node-link data (edges under `edges`): `nx.node_link_graph(d, edges="edges")`."""
    data: dict[str, Any] = nx.node_link_data(tree_graph(tree), edges="edges")
    return data


def dot_quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as `\\n`, and
    control characters dropped, so no text can end the string or the graph."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _attrs(**attrs: str | float) -> str:
    return ", ".join(f"{key}={dot_quote(str(value))}" for key, value in attrs.items())


def _wrapped(text: str, width: int = 36, lines: int = 3) -> str:
    return "\n".join(textwrap.wrap(" ".join(text.split()), width, max_lines=lines) or [""])


def _node_line(node: Node) -> str:
    fill, line = REFERENCE if node.source == "reference" else (FILL[node.label], LINE[node.label])
    label = f"{MARK[node.label]} {node.id}: {_wrapped(node.text)}"
    if node.terminal:
        label += f"\n⇒ {node.answer if node.answer is not None else '(no answer)'}"
    if node.value is not None:
        label += f"\nvalue {node.value:.2f}"
    reasons = "; ".join(v.reason for v in node.verdicts if v.label == "incorrect" and v.reason)
    attrs = _attrs(label=label, fillcolor=fill, color=line, tooltip=reasons or node.text)
    return f"  {dot_quote(node.id)} [{attrs}];"


def to_dot(tree: Tree, walk: Journey | None = None) -> str:
    """Graphviz DOT, left to right, nodes filled by label; with `walk`, its segments are
    numbered along the edges, detours in red and backtracks as dashed orange arrows."""
    order: dict[tuple[str, str], list[str]] = {}
    backtracks: list[tuple[str, str, int]] = []
    if walk is not None:
        at = ROOT
        for number, seg in enumerate(walk.segments, start=1):
            if seg.kind == "reflection":
                continue
            target = (seg.node_id or ROOT) if seg.kind == "backtrack" else seg.node_id
            if target is None:
                continue
            if seg.kind == "backtrack":
                backtracks.append((at, target, number))
            else:
                order.setdefault((at, target), []).append(f"{number}:{seg.kind}")
            at = target
    question = tree.problem.question
    title = f"{tree.problem.id} [{tree.status}]: {_wrapped(question, 80, 2)}"
    lines = [
        f"digraph {dot_quote(tree.problem.id)} {{",
        f"  graph [{_attrs(rankdir='LR', label=title, labelloc='t', fontname='Helvetica')}];",
        f"  node [{_attrs(shape='box', style='rounded,filled', fontname='Helvetica')}];",
        f"  edge [{_attrs(color='#9aa0a6', fontname='Helvetica')}];",
        f"  {dot_quote(ROOT)} [{_attrs(label=_wrapped(question), fillcolor='#ffffff')}];",
    ]
    lines.extend(_node_line(node) for node in tree.nodes)
    for node in tree.nodes:
        parent = node.parent or ROOT
        steps = order.get((parent, node.id))
        if steps:
            kind = steps[0].split(":")[1]
            numbers = ",".join(step.split(":")[0] for step in steps)
            style = _attrs(label=numbers, color=WALK_COLOUR[kind], penwidth=2.5)
            lines.append(f"  {dot_quote(parent)} -> {dot_quote(node.id)} [{style}];")
        else:
            lines.append(f"  {dot_quote(parent)} -> {dot_quote(node.id)};")
    for source, target, number in backtracks:
        style = _attrs(
            label=str(number), color=BACKTRACK, style="dashed", constraint="false", penwidth=2
        )
        lines.append(f"  {dot_quote(source)} -> {dot_quote(target)} [{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
