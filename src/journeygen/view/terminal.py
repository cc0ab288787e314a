"""Trees in the terminal: every step with ✓/✗/?, its value, the reason for each ✗, the start
of the model's own thinking where it returned one, and the journey's walk marked on its steps
in order. Model text goes in as `Text`, never as markup."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from rich.tree import Tree as RichTree

from journeygen.derive.journey import correct_leaf
from journeygen.judges import BACKUP
from journeygen.models import Journey, Node, Tree
from journeygen.view.walks import tree_paths

__all__ = ["render_run", "render_tree"]

MARKS = {"correct": ("✓", "green"), "incorrect": ("✗", "red"), "unknown": ("?", "yellow")}
WALK_STYLE = "bold magenta"


def _shorten(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _reason(node: Node) -> str:
    """The node's own judge's reason if it failed one, else the backed-up reason."""
    wrong = [v for v in node.verdicts if v.label == "incorrect"]
    own = [v for v in wrong if v.judge != BACKUP]
    return (own or wrong)[0].reason if wrong else ""


def _walk_marks(walk: Journey | None) -> dict[str | None, list[str]]:
    """For each node id (None: the question), the walk's segment numbers that visit it."""
    marks: dict[str | None, list[str]] = {}
    for number, seg in enumerate(walk.segments if walk else [], start=1):
        marks.setdefault(seg.node_id, []).append(f"#{number} {seg.kind.replace('_', ' ')}")
    return marks


def _line(node: Node, on_path: bool, walk: list[str], hidden: int) -> Text:
    mark, colour = MARKS[node.label]
    line = Text()
    line.append(f"{mark} ", style=f"bold {colour}")
    line.append(f"[{node.id}] ", style="dim")
    if node.source != "policy":
        line.append(f"({node.source}) ", style="cyan")
    line.append(_shorten(node.text), style="bold" if on_path else "")
    if node.value is not None:
        line.append(f"  value {node.value:.2f}", style="dim")
    if walk:
        line.append(f"  ← {', '.join(walk)}", style=WALK_STYLE)
    if hidden:
        line.append(f"  (+{hidden} hidden below)", style="dim")
    if node.reasoning:
        line.append(f"\n    thinking: {_shorten(node.reasoning, 120)}", style="dim italic")
    if node.label == "incorrect":
        line.append(f"\n    why: {_reason(node)}", style=colour)
    return line


def _wrong_or_above_wrong(tree: Tree) -> set[str]:
    """Ids of incorrect steps and of every step above one (so a branch shows where it hangs)."""
    keep: set[str] = set()
    for node in tree.nodes:
        if node.label == "incorrect":
            keep.update(step.id for step in tree.path(node.id))
    return keep


def render_tree(
    tree: Tree,
    *,
    walk: Journey | None = None,
    only_wrong: bool = False,
    depth: int | None = None,
) -> RichTree:
    """The tree under its question; the samples' correct path in bold, and each step of
    `walk` tagged with its segment numbers. `only_wrong` keeps incorrect steps and the steps
    above them; `depth` hides steps deeper than it. Hidden steps are counted, not dropped."""
    leaf = correct_leaf(tree)
    on_path = {node.id for node in tree.path(leaf.id)} if leaf else set()
    marks = _walk_marks(walk)
    shown = _wrong_or_above_wrong(tree) if only_wrong else {node.id for node in tree.nodes}
    levels: dict[str | None, int] = {None: 0}
    for node in tree.nodes:  # parents always come before their children
        levels[node.id] = levels[node.parent] + 1
    if depth is not None:
        shown = {node_id for node_id in shown if levels[node_id] <= depth}
    hidden_below: dict[str | None, int] = {}  # steps under a node that are not shown
    for node in reversed(tree.nodes):
        own = 0 if node.id in shown else 1
        hidden_below[node.parent] = (
            hidden_below.get(node.parent, 0) + own + hidden_below.get(node.id, 0)
        )

    title = Text(f"{tree.problem.id} [{tree.status}] ", style="bold")
    title.append(_shorten(tree.problem.question, 200))
    if tree.problem.answer is not None:
        title.append(f"  (gold {tree.problem.answer})", style="dim")
    if marks.get(None):
        title.append(f"  ← {', '.join(marks[None])}", style=WALK_STYLE)
    root = RichTree(title)
    branches: dict[str | None, RichTree] = {None: root}
    for node in tree.nodes:
        if node.id not in shown or node.parent not in branches:
            continue
        hidden = hidden_below.get(node.id, 0)
        line = _line(node, node.id in on_path, marks.get(node.id, []), hidden)
        branches[node.id] = branches[node.parent].add(line)
    return root


def render_run(trees: Iterable[Tree]) -> Table:
    """One line per tree: status, size, leaves by label, the samples' path, detours."""
    table = Table("problem", "status", "nodes", "✓ leaves", "✗ leaves", "path", "detours", "tokens")
    for tree in trees:
        leaf = correct_leaf(tree)
        journey = next((path for path in tree_paths(tree) if path.kind == "journey"), None)
        table.add_row(
            Text(tree.problem.id),
            tree.status,
            str(tree.stats.nodes),
            str(tree.stats.correct_leaves),
            str(tree.stats.incorrect_leaves),
            leaf.source if leaf else "none",
            str(journey.detours) if journey else "—",
            str(tree.stats.usage.total_tokens),
        )
    return table
