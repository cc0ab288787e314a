"""`journeygen generate`: build the trees of a problems file and export its samples."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

import click

from journeygen.backends import LocalBackend, make_backend
from journeygen.backends.base import BackendError
from journeygen.backends.batch import make_batch_backend
from journeygen.backends.batch_journal import BATCH_JOURNAL
from journeygen.cli.common import out_dir_option, stderr, stdout, trees_dir_option
from journeygen.cli.journey_options import journey_options
from journeygen.cli.judge_options import judges_option
from journeygen.cli.progress import RunProgress
from journeygen.cli.recipe_options import (
    SEARCH_DEFAULTS,
    config_option,
    resolved_config,
    strategy_option,
)
from journeygen.cli.runtime_options import RunSettings, runtime_options
from journeygen.prompts import load_prompts
from journeygen.executors.local import RunSummary, generate
from journeygen.runtime.loop import run_batch
from journeygen.store import StoreError, check_run_name

__all__ = ["generate_command"]


def _print_summary(summary: RunSummary) -> None:
    statuses = ", ".join(f"{name} {count}" for name, count in sorted(summary.status.items()))
    if summary.pending:
        statuses += f", not started {summary.pending}"
    stdout.print(
        f"problems {summary.problems} · trees {summary.trees} "
        f"(reused {summary.reused}; {statuses}) · "
        f"journeys {summary.exported.get('journey', 0)} · "
        f"shortcuts {summary.exported.get('shortcut', 0)} · rejects {summary.rejects} · "
        f"tokens {summary.usage.total_tokens} in {summary.usage.calls} calls · "
        f"cost ${summary.cost:.4f} · cached calls {summary.cached} · "
        f"failures {summary.failures} · wall {summary.wall_s:.1f} s",
        markup=False,
    )
    if not summary.interrupted:  # an interrupted run writes no export
        stdout.print(f"wrote {summary.out_dir}/journey.jsonl and shortcut.jsonl", markup=False)


@click.command(name="generate")
@click.argument("problems", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
@click.option("--run", "run_name", help="Run name (default: the problems file name).")
@click.option(
    "--backend",
    type=click.Choice(["local", "openai", "anthropic", "fake"]),
    default="local",
    show_default=True,
    help="Who writes the steps.",
)
@click.option(
    "--model", help="GGUF path (local), model name (openai, anthropic) or script file (fake)."
)
@click.option("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
@click.option("--limit", type=click.IntRange(min=1), help="Use only the first N good problems.")
@click.option("--seed", type=int, default=0, show_default=True)
@strategy_option
@click.option(
    "--width",
    type=click.IntRange(1, 64),
    default=SEARCH_DEFAULTS.width,
    show_default=True,
    help="Next steps sampled per frontier node.",
)
@click.option(
    "--keep",
    type=click.IntRange(1, 64),
    default=SEARCH_DEFAULTS.keep,
    show_default=True,
    help="Frontier nodes kept per depth.",
)
@click.option(
    "--depth",
    type=click.IntRange(1, 64),
    default=SEARCH_DEFAULTS.depth,
    show_default=True,
    help="Steps before a solution must end.",
)
@click.option(
    "--reference-path",
    type=click.Choice(["fallback", "never", "always"]),
    default=SEARCH_DEFAULTS.reference_path,
    show_default=True,
    help="Use the reference solution as the correct path when search finds none.",
)
@judges_option
@click.option("--system", help="System prompt to put in every exported row.")
@click.option(
    "--prompts",
    "prompts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder whose prompt files replace the built-in ones.",
)
@runtime_options
@trees_dir_option
@out_dir_option
@journey_options
def generate_command(
    problems: Path,
    recipe: Path | None,
    run_name: str | None,
    backend: Literal["local", "openai", "anthropic", "fake"],
    model: str | None,
    base_url: str | None,
    limit: int | None,
    seed: int,
    strategy: str,
    width: int,
    keep: int,
    depth: int,
    reference_path: Literal["fallback", "never", "always"],
    judges: list[str] | None,
    system: str | None,
    prompts_dir: Path | None,
    trees_dir: Path,
    out_dir: Path,
    settings: RunSettings,
    journey: dict[str, Any],
) -> None:
    """Build a tree per problem in PROBLEMS (jsonl: generic, GSM8K or MATH rows) and write
    OUT_DIR/RUN/journey.jsonl and shortcut.jsonl. Rerunning a run reuses finished trees."""
    run = run_name or problems.stem
    config = resolved_config(recipe)  # the recipe, with the flags typed laid over it
    config.journey = config.journey.updated(journey)
    try:
        check_run_name(run)
        llm = (
            make_batch_backend(
                config.backend.name,
                model=config.backend.model,
                base_url=config.backend.base_url,
                journal=trees_dir / run / BATCH_JOURNAL,
                timeout=settings.timeout,
                max_retries=settings.max_retries,
            )
            if settings.runtime.batch
            else make_backend(
                config.backend.name,
                model=config.backend.model,
                base_url=config.backend.base_url,
                seed=config.seed,
                timeout=settings.timeout,
                max_retries=settings.max_retries,
            )
        )
        prompts = load_prompts(prompts_dir)
    except (StoreError, BackendError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc

    progress = RunProgress(stderr)

    async def generate_then_close() -> RunSummary:
        try:
            return await generate(
                problems,
                run=run,
                config=config,
                backend=llm,
                prompts=prompts,
                trees_dir=trees_dir,
                out_dir=out_dir,
                limit=limit,
                runtime=settings.runtime,
                prices=settings.prices,
                fresh=settings.fresh,
                on_start=progress.start,
                on_tree=progress.tree,
                on_reject=progress.reject,
            )
        finally:
            progress.close()
            await llm.aclose()

    try:
        summary = run_batch(generate_then_close())
    except KeyboardInterrupt:
        stderr.print("interrupted: finished trees are saved; run the same command to resume")
        sys.exit(130)
    except (OSError, StoreError, BackendError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    _print_summary(summary)
    if isinstance(llm, LocalBackend) and llm.prompt_tokens_requested:
        stdout.print(
            f"llama.cpp evaluated {llm.prompt_tokens_evaluated} of "
            f"{llm.prompt_tokens_requested} prompt tokens (the rest came from its KV cache)",
            markup=False,
        )
    if summary.stopped:
        stderr.print(f"stopped early: {summary.stopped}", markup=False)
    if summary.interrupted:
        stderr.print(
            "interrupted: trees in flight are saved as partial; "
            "run the same command to resume (cached requests are not paid again)"
        )
        sys.exit(130)
