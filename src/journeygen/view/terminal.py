"""Trees in the terminal: every step with ✓/✗/?, its value, and the reason for each ✗."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from rich.tree import Tree as RichTree

from journeygen.journey import correct_leaf
from journeygen.models import Node, Tree
from journeygen.search.labels import BACKUP_JUDGE

__all__ = ["render_run", "render_tree"]

MARKS = {"correct": ("✓", "green"), "incorrect": ("✗", "red"), "unknown": ("?", "yellow")}


def _shorten(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _reason(node: Node) -> str:
    """The node's own judge's reason if it failed one, else the backed-up reason."""
    wrong = [v for v in node.verdicts if v.label == "incorrect"]
    own = [v for v in wrong if v.judge != BACKUP_JUDGE]
    return (own or wrong)[0].reason if wrong else ""


def _line(node: Node, on_path: bool) -> Text:
    mark, colour = MARKS[node.label]
    line = Text()
    line.append(f"{mark} ", style=f"bold {colour}")
    line.append(f"[{node.id}] ", style="dim")
    if node.source != "policy":
        line.append(f"({node.source}) ", style="cyan")
    line.append(_shorten(node.text), style="bold" if on_path else "")
    if node.value is not None:
        line.append(f"  value {node.value:.2f}", style="dim")
    if node.label == "incorrect":
        line.append(f"\n    why: {_reason(node)}", style=colour)
    return line


def render_tree(tree: Tree) -> RichTree:
    """The whole tree under its question; the sample's correct path in bold."""
    leaf = correct_leaf(tree)
    on_path = {node.id for node in tree.path(leaf.id)} if leaf else set()
    title = Text(f"{tree.problem.id} [{tree.status}] ", style="bold")
    title.append(_shorten(tree.problem.question, 200))
    if tree.problem.answer is not None:
        title.append(f"  (gold {tree.problem.answer})", style="dim")
    root = RichTree(title)
    branches: dict[str | None, RichTree] = {None: root}
    for node in tree.nodes:  # parents always come before their children
        branches[node.id] = branches[node.parent].add(_line(node, node.id in on_path))
    return root


def render_run(trees: Iterable[Tree]) -> Table:
    """One line per tree: status, size, leaves by label, whether it yields samples."""
    table = Table("problem", "status", "nodes", "✓ leaves", "✗ leaves", "path", "tokens")
    for tree in trees:
        leaf = correct_leaf(tree)
        table.add_row(
            Text(tree.problem.id),
            tree.status,
            str(tree.stats.nodes),
            str(tree.stats.correct_leaves),
            str(tree.stats.incorrect_leaves),
            leaf.source if leaf else "none",
            str(tree.stats.usage.total_tokens),
        )
    return table
