"""`journeygen generate`: build the trees of a problems file and export its samples."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Literal

import click

from journeygen.backends import make_backend
from journeygen.backends.base import BackendError
from journeygen.cli.common import out_dir_option, stderr, stdout, trees_dir_option
from journeygen.config import BackendConfig, RunConfig, SearchConfig
from journeygen.journey import correct_leaf
from journeygen.models import Tree
from journeygen.prompts import load_prompts
from journeygen.runner import RunSummary, generate
from journeygen.store import StoreError, check_run_name

__all__ = ["generate_command"]


def _print_summary(summary: RunSummary) -> None:
    statuses = ", ".join(f"{name} {count}" for name, count in sorted(summary.status.items()))
    stdout.print(
        f"problems {summary.problems} · trees {summary.trees} "
        f"(reused {summary.reused}; {statuses}) · "
        f"journeys {summary.exported.get('journey', 0)} · "
        f"shortcuts {summary.exported.get('shortcut', 0)} · rejects {summary.rejects} · "
        f"tokens {summary.usage.total_tokens} in {summary.usage.calls} calls · "
        f"wall {summary.wall_s:.1f} s",
        markup=False,
    )
    stdout.print(f"wrote {summary.out_dir}/journey.jsonl and shortcut.jsonl", markup=False)


@click.command(name="generate")
@click.argument("problems", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--run", "run_name", help="Run name (default: the problems file name).")
@click.option(
    "--backend",
    type=click.Choice(["local", "openai", "fake"]),
    default="local",
    show_default=True,
    help="Who writes the steps.",
)
@click.option("--model", help="GGUF path (local), model name (openai) or script file (fake).")
@click.option("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
@click.option("--limit", type=click.IntRange(min=1), help="Use only the first N good problems.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--width",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Next steps sampled per frontier node.",
)
@click.option(
    "--keep",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Frontier nodes kept per depth.",
)
@click.option(
    "--depth",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Steps before a solution must end.",
)
@click.option(
    "--reference-path",
    type=click.Choice(["fallback", "never", "always"]),
    default="fallback",
    show_default=True,
    help="Use the reference solution as the correct path when search finds none.",
)
@click.option("--system", help="System prompt to put in every exported row.")
@click.option(
    "--prompts",
    "prompts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder whose prompt files replace the built-in ones.",
)
@trees_dir_option
@out_dir_option
def generate_command(
    problems: Path,
    run_name: str | None,
    backend: Literal["local", "openai", "fake"],
    model: str | None,
    base_url: str | None,
    limit: int | None,
    seed: int,
    width: int,
    keep: int,
    depth: int,
    reference_path: Literal["fallback", "never", "always"],
    system: str | None,
    prompts_dir: Path | None,
    trees_dir: Path,
    out_dir: Path,
) -> None:
    """Build a tree per problem in PROBLEMS (jsonl: generic, GSM8K or MATH rows) and write
    OUT_DIR/RUN/journey.jsonl and shortcut.jsonl. Rerunning a run reuses finished trees."""
    run = run_name or problems.stem
    config = RunConfig(
        seed=seed,
        backend=BackendConfig(name=backend, model=model, base_url=base_url),
        search=SearchConfig(width=width, keep=keep, depth=depth, reference_path=reference_path),
    )
    config.journey.system_prompt = system
    try:
        check_run_name(run)
        llm = make_backend(backend, model=model, base_url=base_url, seed=seed)
        prompts = load_prompts(prompts_dir)
    except (StoreError, BackendError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc

    def on_tree(tree: Tree, reused: bool) -> None:
        stats = tree.stats
        leaf = correct_leaf(tree)
        stderr.print(
            f"{'reused' if reused else tree.status:>8}  {tree.problem.id}  "
            f"nodes {stats.nodes}  correct leaves {stats.correct_leaves}  "
            f"wrong leaves {stats.incorrect_leaves}  tokens {stats.usage.total_tokens}  "
            f"path {leaf.source if leaf else 'none'}" + (f"  ({tree.error})" if tree.error else ""),
            markup=False,
        )

    def on_reject(message: str) -> None:
        stderr.print(f"rejected  {message}", markup=False)

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
                on_tree=on_tree,
                on_reject=on_reject,
            )
        finally:
            await llm.aclose()

    try:
        summary = asyncio.run(generate_then_close())
    except KeyboardInterrupt:
        stderr.print("interrupted: finished trees are saved; run the same command to resume")
        sys.exit(130)
    except (OSError, StoreError, BackendError) as exc:
        raise click.ClickException(str(exc)) from exc
    _print_summary(summary)
