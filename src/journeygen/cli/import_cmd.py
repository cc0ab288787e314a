"""`journeygen import`: human-labelled data from elsewhere as a run of trees."""

from __future__ import annotations

from pathlib import Path

import click

from journeygen.cli.common import stderr, stdout, trees_dir_option
from journeygen.models import Tree
from journeygen.problems.prm800k import import_config, read_prm800k
from journeygen.store import Manifest, RunLock, RunStore, StoreError

__all__ = ["import_group"]


@click.group(name="import")
def import_group() -> None:
    """Turn labelled data from elsewhere into trees that show, view and export read."""


@import_group.command(name="prm800k")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--run", "run_name", help="Run name (default: the file name).")
@trees_dir_option
def prm800k_command(file: Path, run_name: str | None, trees_dir: Path) -> None:
    """Import PRM800K rows from FILE (openai/prm800k jsonl): every rated completion becomes a
    step (-1 incorrect, +1 correct, 0 unknown), alternatives as siblings, the chosen one
    continuing the path. Writes TREES_DIR/RUN/<id>.json and a manifest."""
    run = run_name or file.stem
    config, config_hash = import_config(str(file))
    try:
        store = RunStore(trees_dir, run)
        with RunLock(store, "import"):  # one writer per run
            ids: list[str] = []
            steps = wrong = rejects = 0
            for item in read_prm800k(file):  # one tree in memory at a time
                if isinstance(item, Tree):
                    store.save_tree(item)
                    ids.append(item.problem.id)
                    steps += sum(1 for node in item.nodes if node.source == "import")
                    wrong += sum(1 for node in item.nodes if node.label == "incorrect")
                else:
                    rejects += 1
                    stderr.print(f"rejected  {item}", markup=False)
            if not ids:
                raise click.ClickException(f"{file}: no row could be imported")
            store.write_manifest(
                Manifest(
                    run=run,
                    config=config,
                    config_hash=config_hash,
                    source=str(file),
                    problems=ids,
                    counts={"trees": len(ids), "complete": len(ids), "rejects": rejects},
                )
            )
    except (OSError, StoreError) as exc:
        raise click.ClickException(str(exc)) from exc
    stdout.print(
        f"imported {len(ids)} trees ({steps} steps, {wrong} labelled incorrect; "
        f"{rejects} rows rejected) into {store.dir}",
        markup=False,
    )
