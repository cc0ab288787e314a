"""`journeygen ablate`: the paper's journey-vs-shortcut experiment on a run's trees."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import click

from journeygen.ablate import AblateError, AblateSettings, TrainSettings, run_ablation
from journeygen.ablate.report import markdown_table
from journeygen.cli.common import out_dir_option, trees_dir_option
from journeygen.export.think import THINK_STYLES, ThinkStyle
from journeygen.store import StoreError

__all__ = ["ablate_command"]

# Each flag's default is the settings' own (torch and TRL load only when a fine-tune runs).
TRAIN = TrainSettings()
DEFAULT = {field.name: field.default for field in fields(AblateSettings)}


@click.command(name="ablate")
@click.argument("run")
@click.option(
    "--base-model",
    default=DEFAULT["base_model"],
    show_default=True,
    help="A local Hugging Face checkpoint folder, a .gguf file, or 'embedded' (the bundled "
    "SmolLM2-135M GGUF, dequantised by transformers). Nothing is downloaded.",
)
@click.option(
    "--eval",
    "eval_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Eval problems with gold answers (jsonl: generic, GSM8K or MATH rows); any that copy "
    "a training problem are left out.",
)
@click.option(
    "--eval-size",
    type=click.IntRange(min=1),
    default=DEFAULT["eval_size"],
    show_default=True,
    help="Evaluate on the first N usable eval problems.",
)
@click.option(
    "--epochs",
    type=click.FloatRange(min=0, min_open=True),
    default=TRAIN.epochs,
    show_default=True,
    help="Training epochs over each set.",
)
@click.option(
    "--max-steps",
    type=click.IntRange(min=1),
    help="Optimizer steps per fine-tune; replaces --epochs.",
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=TRAIN.learning_rate,
    show_default=True,
    help="Learning rate (2e-4 is usual with --lora).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=TRAIN.batch_size,
    show_default=True,
    help="Examples per device batch.",
)
@click.option(
    "--grad-accum",
    type=click.IntRange(min=1),
    default=TRAIN.grad_accum,
    show_default=True,
    help="Batches per optimizer step.",
)
@click.option(
    "--max-length",
    type=click.IntRange(min=16),
    default=TRAIN.max_length,
    show_default=True,
    help="Tokens per training example (prompt + answer); longer ones are cut.",
)
@click.option(
    "--lora/--full",
    default=TRAIN.lora,
    show_default=True,
    help="LoRA adapters (merged after training) or full fine-tuning.",
)
@click.option(
    "--lora-r",
    type=click.IntRange(min=1),
    default=TRAIN.lora_r,
    show_default=True,
    help="LoRA rank (alpha = 2r, every linear layer).",
)
@click.option(
    "--max-new-tokens",
    type=click.IntRange(min=1),
    default=DEFAULT["max_new_tokens"],
    show_default=True,
    help="Greedy tokens per eval answer; an answer cut here counts as wrong.",
)
@click.option(
    "--eval-batch-size",
    type=click.IntRange(min=1),
    default=DEFAULT["eval_batch_size"],
    show_default=True,
    help="Eval problems generated at once.",
)
@click.option(
    "--think",
    type=click.Choice(THINK_STYLES),
    default=DEFAULT["think"],
    show_default=True,
    help="How the long thought is marked in the training answers.",
)
@click.option(
    "--seed",
    type=int,
    default=TRAIN.seed,
    show_default=True,
    help="Seed of both fine-tunes (data order, LoRA init).",
)
@click.option(
    "--save-models",
    is_flag=True,
    help="Also save both fine-tuned models under OUT_DIR/RUN/ablate/models/.",
)
@click.option("--prompts", "prompts_dir", type=click.Path(file_okay=False, path_type=Path))
@trees_dir_option
@out_dir_option
def ablate_command(
    run: str,
    base_model: str,
    eval_file: Path,
    eval_size: int,
    epochs: float,
    max_steps: int | None,
    lr: float,
    batch_size: int,
    grad_accum: int,
    max_length: int,
    lora: bool,
    lora_r: int,
    max_new_tokens: int,
    eval_batch_size: int,
    think: ThinkStyle,
    seed: int,
    save_models: bool,
    prompts_dir: Path | None,
    trees_dir: Path,
    out_dir: Path,
) -> None:
    """Does journey data help? Fine-tune one copy of a base model on RUN's journeys and one
    on its shortcuts (the same problems, hyper-parameters, seed and steps), evaluate the
    base model and both copies on --eval with greedy decoding and strict answer checks, and
    print the table (also written to OUT_DIR/RUN/ablate/, with every output).

    Needs `pip install 'journeygen[train]'` (torch, transformers, TRL, datasets, peft).
    """
    settings = AblateSettings(
        run=run,
        eval_file=eval_file,
        base_model=base_model,
        train=TrainSettings(
            epochs=epochs,
            max_steps=max_steps,
            learning_rate=lr,
            batch_size=batch_size,
            grad_accum=grad_accum,
            max_length=max_length,
            lora=lora,
            lora_r=lora_r,
            seed=seed,
        ),
        eval_size=eval_size,
        max_new_tokens=max_new_tokens,
        eval_batch_size=eval_batch_size,
        think=think,
        save_models=save_models,
        trees_dir=trees_dir,
        out_dir=out_dir,
        prompts_dir=prompts_dir,
    )
    try:
        rows = run_ablation(settings, lambda line: click.echo(line, err=True))
    except (AblateError, StoreError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(markdown_table(rows), nl=False)
    click.echo(f"wrote {settings.folder}/table.md, ablate.json and eval outputs", err=True)
