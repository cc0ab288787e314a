"""`journeygen eval-judge`: a judge's step verdicts against human labels, as a table."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from rich import box
from rich.table import Table

from journeygen.backends import BACKEND_NAMES
from journeygen.backends.base import Backend, BackendError
from journeygen.backends.build import make_backend
from journeygen.cli.common import stderr, stdout
from journeygen.cli.judge_options import judge_names
from journeygen.cli.progress import RequestProgress
from journeygen.config import JudgeConfig, RunConfig
from journeygen.judges import JUDGE_NAMES, JUDGES
from journeygen.judges.base import Judge, make_judges
from journeygen.judges.calibration import JudgeScore, evaluate, read_labelled
from journeygen.prompts import load_prompts
from journeygen.runtime import RuntimeOptions, Stack, build_stack, default_concurrency
from journeygen.runtime.loop import run_batch

__all__ = ["eval_judge_command", "first_error_table", "score_table"]

_EVALUABLE = [name for name in JUDGE_NAMES if JUDGES[name].step_judge is not None]


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _table(*columns: str) -> Table:
    return Table(
        *columns,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )


def score_table(scores: list[JudgeScore]) -> Table:
    """One row per judge: counts, then precision, recall and F1 of the `incorrect` class."""
    table = _table(
        "judge", "steps", "wrong", "flagged", "caught", "precision", "recall", "F1", "decided"
    )
    for score in scores:
        table.add_row(
            score.judge,
            str(score.steps),
            str(score.wrong),
            str(score.flagged),
            str(score.true_positives),
            _ratio(score.precision),
            _ratio(score.recall),
            _ratio(score.f1),
            str(score.decided),
        )
    return table


def first_error_table(scores: list[JudgeScore]) -> Table:
    """One row per judge: ProcessBench's two accuracies and F1, in percent as the paper."""
    table = _table(
        "judge", "erroneous", "located", "error acc", "error-free", "passed", "correct acc", "F1"
    )
    for score in scores:
        table.add_row(
            score.judge,
            str(score.erroneous),
            str(score.located),
            _percent(score.error_accuracy),
            str(score.error_free),
            str(score.passed),
            _percent(score.correct_accuracy),
            _percent(score.first_error_f1),
        )
    return table


def _judge_names(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    names = judge_names(values, allowed=JUDGE_NAMES)
    after_search = [name for name in names if JUDGES[name].step_judge is None]
    if after_search:
        raise click.BadParameter(
            f"{after_search[0]} labels steps from a searched tree's values; "
            "labelled steps have none"
        )
    return names


@click.command(name="eval-judge")
@click.argument("labelled", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--judge",
    "judge_values",
    multiple=True,
    required=True,
    callback=_judge_names,
    help=f"Judge to score ({', '.join(_EVALUABLE)}); repeat it or give a comma list.",
)
@click.option(
    "--backend",
    type=click.Choice(BACKEND_NAMES),
    default="local",
    show_default=True,
    help="Who answers for the llm judge.",
)
@click.option("--model", help="GGUF path (local), model name (openai) or script file (fake).")
@click.option("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 4096),
    help="LLM judge requests in flight (solutions judged at once; the score is the same at "
    "any number)  [default: 16; 1 for local and fake]",
)
@click.option(
    "--prompts",
    "prompts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder whose judge.md replaces the built-in one.",
)
def eval_judge_command(
    labelled: Path,
    judge_values: list[str],
    backend: str,
    model: str | None,
    base_url: str | None,
    seed: int,
    concurrency: int | None,
    prompts_dir: Path | None,
) -> None:
    """Score judges on LABELLED (jsonl: question, steps, one label per step; or PRM800K or
    ProcessBench rows): step-level precision, recall and F1 of the `incorrect` class against
    the human labels, then ProcessBench's first-error accuracies and F1 over whole solutions.
    Steps labelled unknown (PRM800K rating 0, ProcessBench steps after the first wrong one)
    are left out of the step counts."""
    names = judge_values
    steps, rejects = read_labelled(labelled)
    for reject in rejects:
        stderr.print(f"rejected  {reject}", markup=False)
    if not steps:
        raise click.ClickException(f"{labelled}: no labelled steps to score")
    config = RunConfig(seed=seed, judges=JudgeConfig.model_validate({"use": names}))
    workers = concurrency or default_concurrency(backend)
    # the LLM judge's requests go through a runtime stack (limits, meter, retries, progress);
    # its cache and failure log last this command only
    folder = tempfile.TemporaryDirectory(prefix="journeygen-eval-judge-")
    llm: Backend | None = None
    stack: Stack | None = None
    try:
        prompts = load_prompts(prompts_dir)
        if "llm" in names:
            llm = make_backend(backend, model=model, base_url=base_url, seed=seed)
            named = getattr(llm, "model", None)
            stack = build_stack(
                llm,
                Path(folder.name),
                RuntimeOptions(concurrency=workers),
                backend_name=backend,
                model=named if isinstance(named, str) else model,
            )
        judges = make_judges(config, stack.backend if stack else None, prompts.judge)
    except (BackendError, ValueError, OSError) as exc:
        folder.cleanup()
        raise click.ClickException(str(exc)) from exc
    progress = RequestProgress(stderr, "steps")

    async def score(judge: Judge) -> JudgeScore:
        if stack is None or judge.name != "llm":  # the other judges call no model
            return await evaluate(judge, steps)
        progress.start(len(steps), stack, prior=1.0)  # one request a step, none if skipped
        try:
            return await evaluate(
                judge, steps, workers=workers, on_step=lambda: progress.advance(None)
            )
        finally:
            progress.close()

    async def score_all() -> list[JudgeScore]:
        try:
            return [await score(judge) for judge in judges]
        finally:
            if stack is not None:
                stack.close()
            if llm is not None:
                await llm.aclose()

    try:
        scores = run_batch(score_all())
    except BackendError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        folder.cleanup()
    stdout.print(score_table(scores), soft_wrap=False)
    skipped = scores[0].skipped if scores else 0
    stdout.print(
        f"{len(steps)} labelled steps in {labelled}; {skipped} labelled unknown left out; "
        "wrong = human label incorrect, flagged = judged incorrect, caught = both",
        markup=False,
    )
    if scores and scores[0].erroneous + scores[0].error_free:
        stdout.print()
        stdout.print(first_error_table(scores), soft_wrap=False)
        stdout.print(
            f"{scores[0].erroneous + scores[0].error_free} solutions; ProcessBench: a judge's "
            "first flagged step is its guess of the first wrong one; located = guessed right, "
            "passed = error-free and nothing flagged; F1 = harmonic mean of the accuracies",
            markup=False,
        )
