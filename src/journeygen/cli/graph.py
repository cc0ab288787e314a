"""`journeygen graph`: one tree as Graphviz DOT or networkx node-link JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click

from journeygen.cli.common import stdout, trees_dir_option
from journeygen.store import RunStore, StoreError, atomic_open
from journeygen.view.graph import node_link, to_dot
from journeygen.view.walks import tree_paths

__all__ = ["graph_command"]


@click.command(name="graph")
@click.argument("run")
@click.argument("problem_id")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dot", "json"]),
    default="dot",
    show_default=True,
    help="Graphviz DOT, or networkx node-link JSON (edges under 'edges').",
)
@click.option(
    "--walk",
    type=click.Choice(["journey", "shortcut", "episode", "none"]),
    default="journey",
    show_default=True,
    help="DOT only: the path to draw over the tree, numbered along its edges (`episode`: the "
    "moves a critique or dialogue search made, in order).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
@trees_dir_option
def graph_command(
    run: str,
    problem_id: str,
    fmt: Literal["dot", "json"],
    walk: Literal["journey", "shortcut", "episode", "none"],
    output: Path | None,
    trees_dir: Path,
) -> None:
    """Write the tree of PROBLEM_ID in RUN as DOT (`dot -Tsvg`) or node-link JSON
    (`nx.node_link_graph(data, edges="edges")`), to stdout or -o FILE."""
    try:
        tree = RunStore(trees_dir, run).load_tree(problem_id)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if tree is None:
        raise click.ClickException(f"run {run!r} has no tree {problem_id!r}")
    if fmt == "json":
        text = json.dumps(node_link(tree), ensure_ascii=False, indent=1) + "\n"
    else:
        drawn = next((path for path in tree_paths(tree) if path.kind == walk), None)
        text = to_dot(tree, drawn)
    if output is None:
        click.echo(text, nl=False)
        return
    with atomic_open(output) as handle:
        handle.write(text)
    stdout.print(f"wrote {output}", markup=False)
