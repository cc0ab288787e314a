"""What `generate` shows while it runs: a rich progress bar on a terminal (trees done, calls,
tokens, cost, ETA), or one plain line per tree when stderr is a file or a pipe."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from journeygen.derive.journey import correct_leaf
from journeygen.executors.local import Resume
from journeygen.models import Tree
from journeygen.runtime import Stack

__all__ = ["RunProgress", "tree_line"]


def tree_line(tree: Tree, reused: bool) -> str:
    """One line per tree: status, id, size, leaves by label, tokens, which path samples use."""
    stats = tree.stats
    leaf = correct_leaf(tree)
    return (
        f"{'reused' if reused else tree.status:>8}  {tree.problem.id}  "
        f"nodes {stats.nodes}  correct leaves {stats.correct_leaves}  "
        f"wrong leaves {stats.incorrect_leaves}  tokens {stats.usage.total_tokens}  "
        f"path {leaf.source if leaf else 'none'}" + (f"  ({tree.error})" if tree.error else "")
    )


class _SpendColumn(ProgressColumn):
    """Calls, tokens and dollars paid so far, and replays from the cache, read live."""

    def __init__(self, stack: Stack) -> None:
        super().__init__()
        self.stack = stack

    def render(self, task: Task) -> Text:
        stack = self.stack  # every model of the run (the dialogue's critic too)
        usage, layers = stack.usage, stack.layers
        return Text(
            f"calls {usage.calls} · tokens {usage.total_tokens} · "
            f"${stack.session_cost:.4f} · cached {sum(s.backend.hits for s in layers)} · "
            f"in flight {sum(s.limits.in_flight for s in layers)}"
        )


class RunProgress:
    """Callbacks for `runner.generate`; call `close()` when the run ends."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bar: Progress | None = None
        self._task = TaskID(0)

    def start(self, total: int, stack: Stack, resume: Resume | None) -> None:
        if resume is not None:
            self.console.print(
                f"resuming: {resume.trees} of {total} trees saved, "
                f"{resume.answers} answers cached (not paid again)",
                markup=False,
            )
        if not self.console.is_terminal:
            return
        self._bar = Progress(
            TextColumn("trees"),
            BarColumn(),
            MofNCompleteColumn(),
            _SpendColumn(stack),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._task = self._bar.add_task("trees", total=total)
        self._bar.start()

    def tree(self, tree: Tree, reused: bool) -> None:
        if self._bar is None:
            self.console.print(tree_line(tree, reused), markup=False)
            return
        self._bar.advance(self._task)
        if tree.status != "complete":  # above the bar: what a user has to look at
            self._bar.console.print(tree_line(tree, reused), markup=False)

    def reject(self, message: str) -> None:
        self.console.print(f"rejected  {message}", markup=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
