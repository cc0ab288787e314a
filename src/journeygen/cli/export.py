"""`journeygen export`: write training jsonl (SFT, DPO or PRM rows) from a run's saved trees."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from journeygen.backends.base import BackendError
from journeygen.cli.common import out_dir_option, trees_dir_option
from journeygen.cli.journey_options import (
    journey_options,
    reflect_backend_options,
    sample_settings,
)
from journeygen.derive.samples import PATH_SOURCES, PathSourceFilter, kinds_of
from journeygen.export import (
    EXPORT_KINDS,
    FORMATS,
    THINK_STYLES,
    ExportError,
    ExportKind,
    Format,
    Options,
    ThinkStyle,
    check_options,
)
from journeygen.export.parallel import TREES_PER_WORKER, auto_workers, export_run_trees
from journeygen.prompts import load_prompts
from journeygen.store import RunLock, RunStore, StoreError

if TYPE_CHECKING:
    from journeygen.problems.decontaminate import TreeFilter

__all__ = ["export_command"]

SFT_KINDS: tuple[ExportKind, ...] = ("journey", "shortcut")


def default_path(out_dir: Path, run: str, kind: ExportKind, fmt: Format, options: Options) -> Path:
    """OUT_DIR/RUN/KIND.jsonl for OpenAI rows, OUT_DIR/RUN/FORMAT/KIND.jsonl for the others;
    a think style other than R1 and --prompt-completion add `-STYLE`, `-prompt-completion`."""
    folder = out_dir / run if fmt == "openai" else out_dir / run / fmt
    name: str = kind
    if options.think not in (None, "r1"):
        name += f"-{options.think}"
    if options.prompt_completion:
        name += "-prompt-completion"
    return folder / f"{name}.jsonl"


@click.command(name="export")
@click.argument("run")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="openai",
    show_default=True,
    help="Row layout: OpenAI fine-tuning, TRL, ShareGPT, Alpaca, or LLaMA-Factory "
    "(ShareGPT rows plus dataset_info.json).",
)
@click.option(
    "--kind",
    type=click.Choice(EXPORT_KINDS),
    help="journey, shortcut, dpo (sibling step pairs) or prm (per-step labels; trl only). "
    "Default: journey and shortcut.",
)
@click.option(
    "--think",
    type=click.Choice(THINK_STYLES),
    help="How the long thought is marked in journey/shortcut rows  [default: r1]",
)
@click.option("--system", help="System prompt to put in every row.")
@click.option(
    "--prompt-completion",
    is_flag=True,
    help="TRL only: `prompt`/`completion` columns instead of `messages`.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (needs --kind); default under OUT_DIR/RUN (see below).",
)
@click.option(
    "--path-source",
    type=click.Choice(PATH_SOURCES),
    default="any",
    show_default=True,
    help="Keep only journey/shortcut samples whose correct path is the model's own steps "
    "(policy) or the problem's reference solution (reference). Not for dpo/prm rows.",
)
@click.option(
    "--decontaminate",
    "benchmarks",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Benchmark problems (jsonl or a JSON list; repeatable): drop every row of a tree "
    "whose question copies one (listed in OUT_DIR/RUN/decontaminated.jsonl).",
)
@click.option("--prompts", "prompts_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Processes that read and format trees (the files are the same bytes for any number). "
    f"Default: one per core, at most one per {TREES_PER_WORKER} trees.",
)
@trees_dir_option
@out_dir_option
@journey_options
@reflect_backend_options
def export_command(
    run: str,
    fmt: Format,
    kind: ExportKind | None,
    think: ThinkStyle | None,
    system: str | None,
    prompt_completion: bool,
    output: Path | None,
    path_source: PathSourceFilter,
    benchmarks: tuple[Path, ...],
    prompts_dir: Path | None,
    workers: int | None,
    trees_dir: Path,
    out_dir: Path,
    journey: dict[str, Any],
    reflect: dict[str, Any],
) -> None:
    """Write training jsonl from the saved trees of RUN.

    With no options: OpenAI chat SFT rows, R1 <think> style, to OUT_DIR/RUN/journey.jsonl and
    shortcut.jsonl, and episode.jsonl for a critique or dialogue run (as `generate` writes
    them). Other formats go to OUT_DIR/RUN/FORMAT/.
    Provenance goes to a `metadata` column, or for OpenAI to KIND.provenance.jsonl.
    """
    if output is not None and kind is None:
        raise click.UsageError("-o/--output needs --kind")
    if path_source != "any" and kind not in (None, *SFT_KINDS):
        raise click.UsageError("--path-source applies to journey and shortcut rows only")
    options = Options(think=think, system=system, prompt_completion=prompt_completion)
    kinds = (kind,) if kind else SFT_KINDS
    try:
        for each in kinds:
            check_options(fmt, each, options)
    except ExportError as exc:
        raise click.UsageError(str(exc)) from exc
    targets = {
        each: output if output is not None else default_path(out_dir, run, each, fmt, options)
        for each in kinds
    }
    try:
        store = RunStore(trees_dir, run)
        manifest = store.read_manifest()  # no such run: stop before any folder is made
        if kind is None and "episode" in kinds_of(manifest.config):  # critique, dialogue
            targets["episode"] = default_path(out_dir, run, "episode", fmt, options)
        with RunLock(store, "export"):  # one writer per run
            clean: TreeFilter | None = None
            if benchmarks:  # the benchmark index loads only for --decontaminate (~40 ms to import)
                from journeygen.problems import decontaminate

                index = decontaminate.ContaminationIndex.from_files(benchmarks)
                clean = decontaminate.TreeFilter(index)
                listed = out_dir / run / decontaminate.DECONTAMINATED_FILE
            prompts = load_prompts(prompts_dir)
            settings = sample_settings(store, prompts, journey, reflect, path_source)
            counts = export_run_trees(  # one pass: each tree is read once for every kind
                store,
                manifest.problems,
                targets,
                fmt=fmt,
                options=options,
                prompts=prompts,
                settings=settings,
                clean=clean,
                workers=workers or auto_workers(len(manifest.problems)),
            )
            if clean is not None:
                clean.report(manifest.source, listed)
    except (StoreError, ExportError, BackendError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    for each, path in targets.items():
        click.echo(f"{each}: {counts[each]} rows → {path}")
    if clean is not None:
        click.echo(
            f"decontaminated: {len(clean.dropped)} problems dropped (they copy a benchmark "
            f"question) → {listed}"
        )
