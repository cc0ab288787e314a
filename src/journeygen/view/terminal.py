"""Trees in the terminal: every step with ✓/✗/?, its value, the reason for each ✗, cut and
padding steps dimmed, the start of the model's own thinking where it returned one, and the
journey's walk marked on its steps in order (or the episode a critique or dialogue search
made, listed in order too); and one step in full with the request and raw
answer behind its label. Model text goes in as `Text`, never as markup."""

from __future__ import annotations

import json
from collections.abc import Iterable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree as RichTree

from journeygen.derive.journey import correct_leaf
from journeygen.judges import BACKUP
from journeygen.models import Journey, Node, Tree
from journeygen.view.audit import Audit, cut_by_length, padding_reason
from journeygen.view.walks import tree_paths

__all__ = ["render_node", "render_run", "render_tree", "render_walk"]

MARKS = {"correct": ("✓", "green"), "incorrect": ("✗", "red"), "unknown": ("?", "yellow")}
WALK_STYLE = "bold magenta"
CUT = "✂ cut by max_tokens"
INDENT = "    "


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
    padding = padding_reason(node)
    dimmed = cut_by_length(node) or padding is not None
    line.append(_shorten(node.text), style="bold" if on_path else "dim" if dimmed else "")
    if node.value is not None:
        line.append(f"  value {node.value:.2f}", style="dim")
    if cut_by_length(node):
        line.append(f"  {CUT}", style="dim")
    if padding is not None:
        line.append(f"  (adds nothing: {padding})", style="dim")
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


def _episode_cell(paths: list[Journey]) -> str:
    """An episode's length in segments for the run table, or a dash for none."""
    episode = next((path for path in paths if path.kind == "episode"), None)
    return "—" if episode is None else str(len(episode.segments))


def render_run(trees: Iterable[Tree]) -> Table:
    """One line per tree: status, size, leaves by label, the samples' path, detours, and
    for a run with critique or dialogue episodes the segments of each tree's episode."""
    rows: list[list[Text | str]] = []
    episodes: list[str] = []
    for tree in trees:
        leaf = correct_leaf(tree)
        paths = tree_paths(tree)
        journey = next((path for path in paths if path.kind == "journey"), None)
        rows.append(
            [
                Text(tree.problem.id),
                tree.status,
                str(tree.stats.nodes),
                str(tree.stats.correct_leaves),
                str(tree.stats.incorrect_leaves),
                leaf.source if leaf else "none",
                str(journey.detours) if journey else "—",
                str(tree.stats.usage.total_tokens),
            ]
        )
        episodes.append(_episode_cell(paths))
    columns = ["problem", "status", "nodes", "✓ leaves", "✗ leaves", "path", "detours", "tokens"]
    with_episodes = any(cell != "—" for cell in episodes)  # else the table is as it was
    table = Table(*columns, *(["episode"] if with_episodes else []))
    for row, episode in zip(rows, episodes, strict=True):
        table.add_row(*row, *([episode] if with_episodes else []))
    return table


def render_walk(walk: Journey) -> Text:
    """A walk's segments listed in order, each with its kind, the step it is at and the start
    of its text; a reflection names whose words it is (`self`, `critic`). Shown for an
    episode, whose order is what happened and whose reflections the tree does not show."""
    lines = Text(f"{walk.kind}, in order ({len(walk.segments)} segments):", style="bold")
    for number, seg in enumerate(walk.segments, start=1):
        kind = seg.kind.replace("_", " ") + (f" ({seg.source})" if seg.source else "")
        where = "the question" if seg.node_id is None else f"[{seg.node_id}]"
        lines.append(f"\n{INDENT}#{number} {kind} ", style=WALK_STYLE)
        lines.append(f"{'to ' if seg.kind == 'backtrack' else ''}{where}", style="dim")
        if seg.kind != "backtrack" and seg.text:
            lines.append(f" {_shorten(seg.text, 120)}")
    return lines


def _block(text: str, level: int = 1) -> Text:
    """`text` whole, each line indented: model text exactly as it came, never markup."""
    return Text("\n".join(INDENT * level + line if line else "" for line in text.split("\n")))


def _heading(title: str, note: str = "", level: int = 0) -> Text:
    line = Text(INDENT * level)
    line.append(title, style="bold")
    if note:
        line.append(f" {note}", style="dim")
    return line


def _facts(tree: Tree, node: Node) -> Text:
    facts = [f"source {node.source}", f"depth {len(tree.path(node.id))}"]
    if node.terminal:
        facts.append(f"final step, answer {node.answer if node.answer is not None else 'none'}")
    if node.value is not None:
        facts.append(f"value {node.value:.2f}")
    facts.append(f"finish reason {node.finish_reason or 'not recorded'}")
    return Text(" · ".join(facts), style="dim")


def _verdicts(node: Node) -> list[Text]:
    lines = [_heading("verdicts:")]
    for verdict in node.verdicts:
        mark, colour = MARKS[verdict.label]
        line = Text(INDENT)
        line.append(f"{mark} {verdict.judge} {verdict.label}", style=colour)
        if verdict.score is not None:
            line.append(f" (score {verdict.score:.2f})", style="dim")
        line.append(f": {verdict.reason or '(no reason given)'}")
        lines.append(line)
    if not node.verdicts:
        lines.append(Text(INDENT + "none", style="dim"))
    return lines


def _request(node: Node, audit: Audit) -> list[Text]:
    """The messages sent, the sampling options and the raw answer, or why there are none."""
    if audit.request is None or audit.owner is None:
        return [Text(f"no request recorded: {audit.missing}", style="yellow")]
    sent = audit.request
    via = ""
    if audit.owner.id != node.id:
        via = f"(made with step {audit.owner.id}: one whole solution sampled at once)"
    lines = [_heading(f"request {audit.owner.request}", via)]
    lines.append(Text(f"{INDENT}backend: {sent.backend}"))
    options = ", ".join(
        f"{name}={json.dumps(value, ensure_ascii=False)}"
        for name, value in sorted(sent.options.items())
        if value is not None
    )
    lines.append(Text(f"{INDENT}options: {options}"))
    for number, message in enumerate(sent.messages, start=1):
        lines.append(_heading(f"message {number} · {message.get('role', '?')}:", level=1))
        lines.append(_block(str(message.get("content", "")), level=2))
    answer = sent.completion
    if answer is None:
        lines.append(Text(f"raw completion: not in the cache ({audit.owner.request})", "yellow"))
        return lines
    sample = "" if audit.sample is None else f"sample {audit.sample + 1} of its request, "
    note = f"({sample}finish reason {answer.finish_reason or 'not recorded'})"
    lines += [_heading("raw completion:", note), _block(answer.text)]
    if answer.reasoning:
        lines += [_heading("raw reasoning:"), _block(answer.reasoning)]
    return lines


def render_node(tree: Tree, node: Node, audit: Audit) -> Group:
    """One step in full, for auditing its label: text, label, every verdict with its reason,
    the finish reason, and the request and raw answer the run's cache holds for it."""
    mark, colour = MARKS[node.label]
    title = Text(f"{mark} {node.label} ", style=f"bold {colour}")
    title.append(f"step {node.id} of {tree.problem.id}", style="bold")
    parts: list[Text] = [title, _facts(tree, node)]
    if cut_by_length(node):
        parts.append(Text(f"{CUT}: never a correct step, not expanded", style="yellow"))
    if (padding := padding_reason(node)) is not None:
        note = f"adds nothing: {padding} (not expanded, left out of sample text)"
        parts.append(Text(note, style="yellow"))
    parts += [_heading("text:"), _block(node.text)]
    if node.reasoning:
        parts += [_heading("thinking:"), _block(node.reasoning)]
    parts += _verdicts(node)
    parts += _request(node, audit)
    return Group(*parts)
