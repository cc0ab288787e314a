"""PNG plots of a run (matplotlib, no display needed): tree size and depth, labels per depth,
journey vs shortcut length, detours per journey. Needs the `plots` extra."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from journeygen.models import Tree
from journeygen.view.stats import RunStats

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PLOT_FILES", "PlotError", "write_plots"]

PLOT_FILES = (
    "tree_size_depth.png",
    "labels_per_depth.png",
    "journey_vs_shortcut.png",
    "detours.png",
)
COLOURS = {"correct": "#2e9d4f", "incorrect": "#d6453d", "unknown": "#9aa0a6"}


class PlotError(RuntimeError):
    """Plots were asked for but can't be drawn (matplotlib missing)."""


def _figure(width: float = 6.4, height: float = 4.0) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotError("plots need matplotlib: pip install 'journeygen[plots]'") from exc
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _depths(tree: Tree) -> dict[str, int]:
    depth: dict[str | None, int] = {None: 0}
    for node in tree.nodes:  # parents come before their children
        depth[node.id] = depth[node.parent] + 1
    return {key: value for key, value in depth.items() if key is not None}


def _size_depth(trees: list[Tree]) -> Figure:
    fig = _figure(9, 3.6)
    size_ax, depth_ax = fig.subplots(1, 2)
    sizes = [len(tree.nodes) for tree in trees]
    deepest = [max(_depths(tree).values(), default=0) for tree in trees]
    size_ax.hist(sizes, bins=min(20, max(1, len(set(sizes)))), color="#3b6fd8")
    size_ax.set(title="Tree size", xlabel="steps per tree", ylabel="trees")
    counts = Counter(deepest)
    depth_ax.bar(list(counts), list(counts.values()), color="#3b6fd8")
    depth_ax.set(title="Tree depth", xlabel="deepest step", ylabel="trees")
    depth_ax.set_xticks(sorted(counts))
    return fig


def _labels_per_depth(trees: list[Tree]) -> Figure:
    fig = _figure()
    ax = fig.subplots()
    counts: Counter[tuple[int, str]] = Counter()
    for tree in trees:
        depth = _depths(tree)
        counts.update((depth[node.id], node.label) for node in tree.nodes)
    levels = sorted({level for level, _ in counts})
    bottom = [0] * len(levels)
    for label, colour in COLOURS.items():
        heights = [counts[(level, label)] for level in levels]
        ax.bar(levels, heights, bottom=bottom, color=colour, label=label)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set(title="Step labels per depth", xlabel="depth", ylabel="steps")
    ax.set_xticks(levels)
    ax.legend()
    return fig


def _journey_vs_shortcut(stats: RunStats) -> Figure:
    fig = _figure()
    ax = fig.subplots()
    colours = {"journey": "#d6453d", "shortcut": "#2e9d4f"}
    for kind, colour in colours.items():
        tokens = stats.lengths[kind].tokens
        if tokens.values:
            ax.hist(
                tokens.values, bins=20, color=colour, alpha=0.55, label=f"{kind} ({tokens.count})"
            )
            ax.axvline(tokens.median, color=colour, linestyle="--")
    ax.set(
        title="Long-thought length, journey vs shortcut (dashed: median)",
        xlabel=f"tokens: {stats.tokenizer}",
        ylabel="samples",
    )
    if any(stats.lengths[kind].tokens.values for kind in colours):
        ax.legend()
    return fig


def _detours(stats: RunStats) -> Figure:
    fig = _figure()
    ax = fig.subplots()
    counts = Counter(stats.detours_per_journey.values)
    ax.bar(list(counts), list(counts.values()), color="#e08a00")
    ax.set(
        title=f"Detours per journey ({stats.journeys} journeys)",
        xlabel="detours",
        ylabel="journeys",
    )
    ax.set_xticks(sorted(counts))
    return fig


def _whole_counts(figure: Figure) -> Figure:
    """Counts are whole numbers: no 2.5 trees on an axis."""
    from matplotlib.ticker import MaxNLocator

    for ax in figure.axes:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return figure


def write_plots(trees: Iterable[Tree], stats: RunStats, out_dir: Path) -> list[Path]:
    """Write the four PNGs of `PLOT_FILES` into `out_dir` from a run's trees and the stats
    of its samples (`journeygen stats`); return their paths."""
    run = list(trees)
    figures = [
        _size_depth(run),
        _labels_per_depth(run),
        _journey_vs_shortcut(stats),
        _detours(stats),
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, figure in zip(PLOT_FILES, figures, strict=True):
        path = out_dir / name
        _whole_counts(figure).savefig(path)
        paths.append(path)
    return paths
