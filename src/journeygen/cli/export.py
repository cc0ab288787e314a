"""`journeygen export`: write SFT jsonl again from a run's saved trees."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from journeygen.cli.common import out_dir_option, stdout, trees_dir_option
from journeygen.prompts import load_prompts
from journeygen.runner import export_run
from journeygen.samples import KINDS, SampleKind
from journeygen.store import RunStore, StoreError

__all__ = ["export_command"]


@click.command(name="export")
@click.argument("run")
@click.option("--kind", type=click.Choice(list(KINDS)), help="Only this kind (default: both).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (needs --kind); default OUT_DIR/RUN/KIND.jsonl.",
)
@click.option("--system", help="System prompt to put in every row.")
@click.option("--prompts", "prompts_dir", type=click.Path(file_okay=False, path_type=Path))
@trees_dir_option
@out_dir_option
def export_command(
    run: str,
    kind: Literal["journey", "shortcut"] | None,
    output: Path | None,
    system: str | None,
    prompts_dir: Path | None,
    trees_dir: Path,
    out_dir: Path,
) -> None:
    """Write SFT jsonl (OpenAI chat format, R1 <think> style) from the saved trees of RUN."""
    if output is not None and kind is None:
        raise click.UsageError("-o/--output needs --kind")
    try:
        store = RunStore(trees_dir, run)
        prompts = load_prompts(prompts_dir)
        targets: dict[SampleKind, Path]
        if output is not None and kind is not None:
            targets = {kind: output}
        else:
            targets = {k: out_dir / run / f"{k}.jsonl" for k in ((kind,) if kind else KINDS)}
        counts = export_run(store, prompts, targets, system=system)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, path in targets.items():
        stdout.print(f"{name}: {counts[name]} rows → {path}", markup=False)
