"""`journeygen show`: a run's trees, or one tree, in the terminal (plain text when piped)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from journeygen.cli.common import stdout, trees_dir_option
from journeygen.store import RunStore, StoreError
from journeygen.view.terminal import render_run, render_tree
from journeygen.view.walks import tree_paths

__all__ = ["show_command"]


@click.command(name="show")
@click.argument("run")
@click.argument("problem_id", required=False)
@click.option(
    "--walk",
    type=click.Choice(["journey", "shortcut", "none"]),
    default="journey",
    show_default=True,
    help="The path whose steps are tagged with their order (#1, #2, …).",
)
@click.option("--only-wrong", is_flag=True, help="Only incorrect steps and the steps above them.")
@click.option("--depth", type=click.IntRange(min=1), help="Hide steps deeper than N.")
@trees_dir_option
def show_command(
    run: str,
    problem_id: str | None,
    walk: Literal["journey", "shortcut", "none"],
    only_wrong: bool,
    depth: int | None,
    trees_dir: Path,
) -> None:
    """List the trees of RUN, or draw one tree: each step with ✓/✗/?, its value, the
    reason for every ✗, and the journey's walk tagged in order on its steps."""
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
    drawn = next((path for path in tree_paths(tree) if path.kind == walk), None)
    stdout.print(render_tree(tree, walk=drawn, only_wrong=only_wrong, depth=depth), soft_wrap=False)
