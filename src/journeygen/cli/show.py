"""`journeygen show`: a run's trees, or one tree, in the terminal."""

from __future__ import annotations

from pathlib import Path

import click

from journeygen.cli.common import stdout, trees_dir_option
from journeygen.store import RunStore, StoreError
from journeygen.view.terminal import render_run, render_tree

__all__ = ["show_command"]


@click.command(name="show")
@click.argument("run")
@click.argument("problem_id", required=False)
@trees_dir_option
def show_command(run: str, problem_id: str | None, trees_dir: Path) -> None:
    """List the trees of RUN, or draw one tree: each step with ✓/✗/?, its value, and the
    reason for every ✗."""
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
    stdout.print(render_tree(tree), soft_wrap=False)
