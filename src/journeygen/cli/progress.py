"""What a command that calls a model shows while it runs (`generate`, `eval-judge --judge llm`,
`export --reflect-backend`): units done, requests, tokens, cost, cached answers, requests in
flight and an ETA counted in requests (`cli.eta`). On a terminal a rich bar; when stderr is a
file or a pipe, plain lines a script can parse: one `progress` line at each tenth of the
units, and for `generate` one line per tree."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
)
from rich.text import Text

from journeygen.cli.eta import RequestEta, format_eta
from journeygen.derive.journey import correct_leaf
from journeygen.models import Tree

if TYPE_CHECKING:  # eval-judge and export show progress without the run machinery
    from journeygen.executors.local import Resume
    from journeygen.runtime import Stack

__all__ = ["RequestProgress", "RunProgress", "tree_line"]


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


class _FiguresColumn(ProgressColumn):
    """Requests, tokens, cost, replays, requests in flight and the ETA, read live."""

    def __init__(self, progress: RequestProgress) -> None:
        super().__init__()
        self.progress = progress

    def render(self, task: Task) -> Text:
        return Text(self.progress.figures())


class RequestProgress:
    """Progress of `total` units (trees, labelled steps) whose requests go through `stack`."""

    def __init__(self, console: Console, unit: str) -> None:
        self.console = console
        self.unit = unit
        self.stack: Stack | None = None
        self.eta = RequestEta(0)
        self.total = 0
        self.done = 0
        self._started = time.monotonic()
        self._tenths = 0
        self._bar: Progress | None = None
        self._task = TaskID(0)

    @property
    def bar(self) -> Progress | None:
        """The rich bar on a terminal (print above it with `bar.console`), else None."""
        return self._bar

    def start(self, total: int, stack: Stack, prior: float | None = None) -> None:
        """Count from now; `prior` is the requests a unit is planned to take."""
        self.stack, self.total, self.done = stack, total, 0
        self.eta = RequestEta(total, prior)
        self._started = time.monotonic()
        if not self.console.is_terminal:
            return
        self._bar = Progress(
            TextColumn(self.unit),
            BarColumn(),
            MofNCompleteColumn(),
            _FiguresColumn(self),
            console=self.console,
        )
        self._task = self._bar.add_task(self.unit, total=total)
        self._bar.start()

    def advance(self, key: str | None, *, typical: bool = True) -> None:
        """A unit is done: its requests are those answered under `key` (`CURRENT_PROBLEM`)."""
        if self.stack is None:
            return
        requests = sum(layer.limits.answered_by.pop(key, 0) for layer in self.stack.layers)
        self.eta.finish(requests, typical=typical)
        self.done += 1
        if self._bar is not None:
            self._bar.advance(self._task)
            return
        tenths = self.done * 10 // max(self.total, 1)
        if tenths > self._tenths:  # plain: one line per tenth of the units, quiet in a log
            self._tenths = tenths
            self.console.print(
                f"progress  {self.unit} {self.done}/{self.total}  {self.figures()}", markup=False
            )

    def seconds_left(self) -> float | None:
        """The ETA from requests (`RequestEta`): None until there is something to go on."""
        if self.stack is None:
            return None
        limits = self.stack.limits  # the run's model: its keys are the open units
        answered_by = limits.answered_by  # read from rich's thread too: len() only, no loop
        open_units = len(answered_by) - (None in answered_by)
        answered = sum(layer.limits.answered for layer in self.stack.layers)
        elapsed = time.monotonic() - self._started
        return self.eta.seconds_left(answered, open_units, elapsed)

    def figures(self) -> str:
        """Requests answered, tokens and dollars paid, replays, in flight, ETA: one line, over
        every model of the run."""
        if self.stack is None:
            return ""
        stack = self.stack
        layers = stack.layers  # every model of the run (the dialogue's critic too)
        return (
            f"requests {sum(s.limits.answered for s in layers)}  "
            f"tokens {stack.usage.total_tokens}  cost ${stack.session_cost:.4f}  "
            f"cached {sum(s.backend.hits for s in layers)}  "
            f"in-flight {sum(s.limits.in_flight for s in layers)}  "
            f"eta {format_eta(self.seconds_left())}"
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class RunProgress:
    """Callbacks for `runner.generate`; call `close()` when the run ends. `planned` is the
    requests a tree is planned to take (`cli.eta.planned_requests`), for an early ETA."""

    def __init__(self, console: Console, planned: float | None = None) -> None:
        self.console = console
        self.planned = planned
        self.requests = RequestProgress(console, "trees")

    def start(self, total: int, stack: Stack, resume: Resume | None) -> None:
        if resume is not None:
            self.console.print(
                f"resuming: {resume.trees} of {total} trees saved, "
                f"{resume.answers} answers cached (not paid again)",
                markup=False,
            )
        self.requests.start(total, stack, self.planned)

    def tree(self, tree: Tree, reused: bool) -> None:
        bar = self.requests.bar
        if bar is None:
            self.console.print(tree_line(tree, reused), markup=False)
        elif tree.status != "complete":  # above the bar: what a user has to look at
            bar.console.print(tree_line(tree, reused), markup=False)
        self.requests.advance(tree.problem.id, typical=not reused)

    def reject(self, message: str) -> None:
        self.console.print(f"rejected  {message}", markup=False)

    def close(self) -> None:
        self.requests.close()
