"""`journeygen show`: a run's trees, one tree, or one step with the request behind its label,
in the terminal (plain text when piped)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import click
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from journeygen.cli.common import stdout, trees_dir_option
from journeygen.models import is_safe_id
from journeygen.store import RunStore, StoreError
from journeygen.view.audit import audit_node, cache_path
from journeygen.view.terminal import render_node, render_run, render_tree, render_walk
from journeygen.view.walks import tree_paths

__all__ = ["show_command"]


def _last_modified(folder: Path) -> str:
    """When anything in a run folder last changed (a tree, the manifest, the cache)."""
    latest = max((entry.stat().st_mtime for entry in folder.iterdir()), default=0.0)
    return dt.datetime.fromtimestamp(latest).strftime("%Y-%m-%d %H:%M")


def runs_table(trees_dir: Path) -> Table | None:
    """One line per run in TREES_DIR (a folder with a manifest): trees on disk, the counts
    its manifest records, when it last changed; None when there is no run."""
    table = Table("run", "trees", "status", "last modified")
    folders = sorted(trees_dir.iterdir()) if trees_dir.is_dir() else []
    for folder in folders:
        if not is_safe_id(folder.name) or not folder.is_dir():
            continue
        store = RunStore(trees_dir, folder.name)
        if not store.exists():
            continue
        try:
            manifest = store.read_manifest()
            on_disk = sum(store.tree_path(pid).is_file() for pid in manifest.problems)
        except (StoreError, ValidationError, ValueError):
            table.add_row(Text(folder.name), "?", "unreadable manifest.json", "")
            continue
        counts = [f"{name} {n}" for name, n in manifest.counts.items() if name != "trees" and n]
        stopped = [f"stopped: {manifest.stopped}"] if manifest.stopped else []
        status = ", ".join(counts + stopped)
        table.add_row(Text(folder.name), str(on_disk), status, _last_modified(folder))
    return table if table.row_count else None


@click.command(name="show")
@click.argument("run", required=False)
@click.argument("problem_id", required=False)
@click.option(
    "--walk",
    type=click.Choice(["journey", "shortcut", "episode", "none"]),
    default="journey",
    show_default=True,
    help="The path whose steps are tagged with their order (#1, #2, …); `episode` is what a "
    "critique or dialogue search did, in order, and is also listed segment by segment.",
)
@click.option("--only-wrong", is_flag=True, help="Only incorrect steps and the steps above them.")
@click.option("--depth", type=click.IntRange(min=1), help="Hide steps deeper than N.")
@click.option(
    "--node",
    "node_id",
    metavar="NODE_ID",
    help="Show this step in full: label, verdicts, finish reason, and from the run's request "
    "cache the messages sent and the raw answer.",
)
@trees_dir_option
def show_command(
    run: str | None,
    problem_id: str | None,
    walk: Literal["journey", "shortcut", "episode", "none"],
    only_wrong: bool,
    depth: int | None,
    node_id: str | None,
    trees_dir: Path,
) -> None:
    """List the runs, the trees of RUN, or draw one tree: each step with ✓/✗/?, its value,
    the reason for every ✗, cut (✂) and padding steps, and the journey's walk tagged in order
    on its steps (or, with --walk episode, the moves a critique or dialogue search made, also
    listed in order with whose words each reflection is). With --node, one step and the request
    and raw answer behind its label."""
    if node_id is not None and problem_id is None:
        raise click.UsageError("--node needs a RUN and a problem ID")
    if run is None:
        runs = runs_table(trees_dir)
        if runs is None:
            stdout.print(
                f"No runs in {trees_dir}/. Make one with `journeygen generate PROBLEMS.jsonl` "
                "or `journeygen import prm800k FILE`.",
                markup=False,
            )
        else:
            stdout.print(runs, soft_wrap=False)
        return
    try:
        store = RunStore(trees_dir, run)
        if problem_id is None:
            stdout.print(render_run(store.trees()), soft_wrap=False)
            return
        tree = store.load_tree(problem_id)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if tree is None:
        raise click.ClickException(f"run {run!r} has no tree {problem_id!r}")
    if node_id is not None:
        node = next((step for step in tree.nodes if step.id == node_id), None)
        if node is None:
            raise click.ClickException(
                f"tree {problem_id!r} of run {run!r} has no step {node_id!r}"
            )
        audit = audit_node(tree, node, cache_path(store.dir))
        stdout.print(render_node(tree, node, audit))
        return
    paths = tree_paths(tree)
    drawn = next((path for path in paths if path.kind == walk), None)
    stdout.print(render_tree(tree, walk=drawn, only_wrong=only_wrong, depth=depth), soft_wrap=False)
    episode = next((path for path in paths if path.kind == "episode"), None)
    if episode is not None and drawn is episode:
        stdout.print(render_walk(episode), soft_wrap=False)
    elif episode is not None:
        note = f"episode: {len(episode.segments)} segments (--walk episode draws and lists it)"
        stdout.print(Text(note, style="dim"), soft_wrap=False)
