"""`journeygen view`: write a run's offline HTML report (one self-contained file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from journeygen.cli.common import out_dir_option, stdout, trees_dir_option
from journeygen.cli.journey_options import journey_options, sample_settings
from journeygen.prompts import load_prompts
from journeygen.store import RunStore, StoreError
from journeygen.view.html import build_report, write_report

__all__ = ["view_command"]


@click.command(name="view")
@click.argument("run")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write (default: OUT_DIR/RUN/report.html).",
)
@click.option("--prompts", "prompts_dir", type=click.Path(file_okay=False, path_type=Path))
@trees_dir_option
@out_dir_option
@journey_options
def view_command(
    run: str,
    output: Path | None,
    prompts_dir: Path | None,
    trees_dir: Path,
    out_dir: Path,
    journey: dict[str, Any],
) -> None:
    """Write one self-contained HTML file to explore RUN offline: every tree with its labels,
    values and reasons, journeys and shortcuts drawn over it, their text, and rejected rows.
    Samples are rebuilt offline from the saved trees (journey options override the run's)."""
    try:
        store = RunStore(trees_dir, run)
        store.read_manifest()  # a clear error for a run that does not exist
        prompts = load_prompts(prompts_dir)
        settings = sample_settings(store, prompts, journey)
        page = build_report(store, prompts, settings, rejects_path=out_dir / run / "rejects.jsonl")
        target = output or out_dir / run / "report.html"
        write_report(page, target)
    except (StoreError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    stdout.print(f"report: {target} ({len(page.encode()) / 1024:.0f} KiB)", markup=False)
