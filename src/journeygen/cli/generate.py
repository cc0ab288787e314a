"""`journeygen generate`: build the trees of a problems file and export its samples."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from journeygen.backends import BACKEND_NAMES
from journeygen.backends.base import Backend, BackendError
from journeygen.backends.batch import BATCH_JOURNAL
from journeygen.backends.build import make_batch_backend
from journeygen.backends.local import LocalBackend
from journeygen.cli.common import out_dir_option, stderr, stdout, trees_dir_option
from journeygen.cli.eta import planned_requests
from journeygen.cli.executor_options import Placement, executor_options, start_ray
from journeygen.cli.journey_options import journey_options
from journeygen.cli.judge_options import judges_option
from journeygen.cli.progress import RunProgress
from journeygen.cli.recipe_options import config_option, resolved_config, search_options
from journeygen.cli.runtime_options import RunSettings, runtime_options
from journeygen.config import RunConfig
from journeygen.executors.local import RunSummary, generate
from journeygen.problems.decontaminate import DECONTAMINATED_FILE, ContaminationIndex
from journeygen.prompts import load_prompts
from journeygen.runtime.loop import run_batch
from journeygen.store import StoreError, check_run_name

__all__ = ["generate_command"]

_DEFAULTS = RunConfig()  # flags show these defaults; untyped flags leave the recipe's values


def _print_summary(summary: RunSummary, *, decontaminating: bool) -> None:
    statuses = ", ".join(f"{name} {count}" for name, count in sorted(summary.status.items()))
    if summary.pending:
        statuses += f", not started {summary.pending}"
    copies = f"decontaminated {summary.decontaminated} · " if decontaminating else ""
    written = list(summary.exported) or ["journey", "shortcut"]
    episodes = f"episodes {summary.exported['episode']} · " if "episode" in written else ""
    stdout.print(
        f"problems {summary.problems} · trees {summary.trees} "
        f"(reused {summary.reused}; {statuses}) · "
        f"journeys {summary.exported.get('journey', 0)} · "
        f"shortcuts {summary.exported.get('shortcut', 0)} · {episodes}rejects {summary.rejects} · "
        f"{copies}tokens {summary.usage.total_tokens} in {summary.usage.calls} calls · "
        f"cost ${summary.cost:.4f} · cached calls {summary.cached} · "
        f"failures {summary.failures} · wall {summary.wall_s:.1f} s",
        markup=False,
    )
    if summary.decontaminated:
        stdout.print(
            f"{summary.decontaminated} problems copy a benchmark question and got no tree: "
            f"{summary.out_dir / DECONTAMINATED_FILE}",
            markup=False,
        )
    if not summary.interrupted:  # an interrupted run writes no export
        *first, last = [f"{kind}.jsonl" for kind in written]
        files = f"{', '.join(first)} and {last}" if first else last
        stdout.print(f"wrote {summary.out_dir}/{files}", markup=False)


def _backend(config: RunConfig, settings: RunSettings, journal: Path) -> Backend:
    """The run's model in this process: its provider batch API with --batch (batches kept in
    `journal`), else the backend itself."""
    if settings.runtime.batch:
        return make_batch_backend(
            config.backend.name,
            model=config.backend.model,
            base_url=config.backend.base_url,
            journal=journal,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )
    return settings.backend(config.backend, config.seed).build()


def _critic(config: RunConfig, settings: RunSettings) -> Backend | None:
    """The dialogue's critic when the settings name another model than the run's."""
    named = config.critic_backend()
    if named is None:
        return None
    if settings.runtime.batch:
        raise ValueError(
            "--batch holds the run's requests for provider batches; a critic model of its own "
            "would answer outside them: run the dialogue without --batch"
        )
    return settings.backend(named, config.seed).build()


@click.command(name="generate")
@click.argument("problems", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
@click.option("--run", "run_name", help="Run name (default: the problems file name).")
@click.option(
    "--backend",
    type=click.Choice(BACKEND_NAMES),
    help=f"Who writes the steps.  [default: {_DEFAULTS.backend.name}]",
)
@click.option(
    "--model",
    help="GGUF path (local), model name (openai, anthropic, vllm) or script file (fake).",
)
@click.option("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
@click.option(
    "--critic-backend",
    type=click.Choice(BACKEND_NAMES),
    help="dialogue: the critic agent's backend, when another model than the run's.",
)
@click.option(
    "--critic-model", help="dialogue: the critic's model (as --model); e.g. a stronger one."
)
@click.option("--critic-base-url", help="dialogue: the critic's OpenAI-compatible server.")
@click.option("--limit", type=click.IntRange(min=1), help="Use only the first N good problems.")
@click.option("--seed", type=int, help=f"Seed of every request.  [default: {_DEFAULTS.seed}]")
@search_options
@judges_option
@click.option("--system", help="System prompt to put in every exported row.")
@click.option(
    "--decontaminate",
    "benchmarks",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Benchmark problems (jsonl or a JSON list; repeatable): a problem sharing a 13-word "
    "run or a near-identical text with one gets no tree (see decontaminated.jsonl).",
)
@click.option(
    "--prompts",
    "prompts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder whose prompt files replace the built-in ones.",
)
@runtime_options
@executor_options
@trees_dir_option
@out_dir_option
@journey_options
def generate_command(
    problems: Path,
    recipe: Path | None,
    run_name: str | None,
    backend: str | None,
    model: str | None,
    base_url: str | None,
    critic_backend: str | None,
    critic_model: str | None,
    critic_base_url: str | None,
    limit: int | None,
    seed: int | None,
    strategy: str | None,
    width: int | None,
    keep: int | None,
    depth: int | None,
    turns: int | None,
    revisits: int | None,
    reference_path: str | None,
    judges: list[str] | None,
    system: str | None,
    benchmarks: tuple[Path, ...],
    prompts_dir: Path | None,
    trees_dir: Path,
    out_dir: Path,
    settings: RunSettings,
    placement: Placement,
    journey: dict[str, Any],
) -> None:
    """Build a tree per problem in PROBLEMS (jsonl: generic, GSM8K or MATH rows) and write
    OUT_DIR/RUN/journey.jsonl and shortcut.jsonl (and episode.jsonl for the critique and dialogue
    strategies). Rerunning a run reuses finished trees."""
    run = run_name or problems.stem
    config = resolved_config(  # the recipe, with the flags typed laid over it
        recipe,
        {
            "seed": seed,
            "backend": {"name": backend, "model": model, "base_url": base_url},
            "search": {
                "strategy": strategy,
                "width": width,
                "keep": keep,
                "depth": depth,
                "turns": turns,
                "revisits": revisits,
                "reference_path": reference_path,
            },
            "critic": {
                "backend": critic_backend,
                "model": critic_model,
                "base_url": critic_base_url,
            },
            "judges": {"use": judges},
            "journey": {**journey, "system_prompt": system},
        },
    )
    ray_run = None
    try:
        check_run_name(run)
        prompts = load_prompts(prompts_dir)
        if placement.executor == "ray":  # workers started, each with its model loaded
            ray_run = start_ray(placement, config, settings, prompts)
        llm = (
            ray_run.backend
            if ray_run is not None
            else _backend(config, settings, trees_dir / run / BATCH_JOURNAL)
        )
        critic = ray_run.critic if ray_run is not None else _critic(config, settings)
        index = ContaminationIndex.from_files(benchmarks) if benchmarks else None
    except (StoreError, BackendError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc

    progress = RunProgress(stderr, planned_requests(config))  # an ETA before a tree is done

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
                runtime=ray_run.runtime if ray_run is not None else settings.runtime,
                prices=settings.prices,
                fresh=settings.fresh,
                on_start=progress.start,
                on_tree=progress.tree,
                on_reject=progress.reject,
                decontaminate=index,
                critic=critic,
                executor=ray_run.cluster if ray_run is not None else None,
            )
        finally:
            progress.close()
            await llm.aclose()
            if critic is not None:
                await critic.aclose()

    try:
        summary = run_batch(generate_then_close())
    except KeyboardInterrupt:
        stderr.print("interrupted: finished trees are saved; run the same command to resume")
        sys.exit(130)
    except (OSError, StoreError, BackendError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if ray_run is not None:
            ray_run.cluster.shutdown()
    _print_summary(summary, decontaminating=index is not None)
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
