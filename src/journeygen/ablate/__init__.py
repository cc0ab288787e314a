"""The paper's journey-vs-shortcut ablation on a user's own run: fine-tune one copy of a
base model on the run's journeys and one on its shortcuts (same problems, same settings),
evaluate the base model and both copies, and tabulate (`journeygen ablate`)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from journeygen.ablate.data import EvalSet, PairedSets, eval_set, paired_sets, training_rows
from journeygen.ablate.report import Row, write_outputs, write_report
from journeygen.ablate.train import TrainError, TrainSettings
from journeygen.export.think import ThinkStyle
from journeygen.models import Sample
from journeygen.store import atomic_open

__all__ = ["AblateError", "AblateSettings", "TrainSettings", "run_ablation"]


class AblateError(RuntimeError):
    """An ablation that cannot run (no paired samples, no eval problem, a bad base model)."""


@dataclass(frozen=True)
class AblateSettings:
    """Everything one ablation needs; `train` is shared by both fine-tunes."""

    run: str
    eval_file: Path
    base_model: str = "embedded"
    train: TrainSettings = field(default_factory=TrainSettings)
    eval_size: int | None = 100
    max_new_tokens: int = 512
    eval_batch_size: int = 8
    think: ThinkStyle = "r1"
    save_models: bool = False
    trees_dir: Path = Path("trees")
    out_dir: Path = Path("outputs")
    prompts_dir: Path | None = None

    @property
    def folder(self) -> Path:
        return self.out_dir / self.run / "ablate"

    def summary(self, paired: PairedSets, evals: EvalSet) -> dict[str, Any]:
        """The settings and data counts written into ablate.json."""
        return {
            "run": self.run,
            "base_model": self.base_model,
            "eval_file": str(self.eval_file),
            "train": asdict(self.train),
            "eval_size": self.eval_size,
            "max_new_tokens": self.max_new_tokens,
            "think": self.think,
            "trees": paired.trees,
            "paired_problems": len(paired.journeys),
            "eval_problems": len(evals.problems),
            "eval_dropped": len(evals.dropped),
        }


def _write_rows(rows: Sequence[dict[str, Any]], path: Path) -> None:
    with atomic_open(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def run_ablation(settings: AblateSettings, echo: Callable[[str], None]) -> list[Row]:
    """Train, evaluate and tabulate; write everything under OUT_DIR/RUN/ablate/ and return
    the rows (base, journey, shortcut). `echo` reports progress."""
    paired = paired_sets(settings.trees_dir, settings.run, settings.prompts_dir)
    if not paired.journeys:
        raise AblateError(
            f"no tree of run {settings.run!r} has both a journey and a shortcut "
            f"({paired.trees} trees read)"
        )
    evals = eval_set(settings.eval_file, paired.questions, paired.problem_ids, settings.eval_size)
    if not evals.problems:
        raise AblateError(f"no usable eval problem in {settings.eval_file}")
    folder = settings.folder
    echo(
        f"{len(paired.journeys)} problems with a journey and a shortcut (of {paired.trees} "
        f"trees); {len(evals.problems)} eval problems ({len(evals.dropped)} left out)"
    )
    _write_rows(evals.dropped, folder / "eval-dropped.jsonl")
    sets: dict[str, list[Sample]] = {"journey": paired.journeys, "shortcut": paired.shortcuts}
    rows_by_kind = {kind: training_rows(found, settings.think) for kind, found in sets.items()}
    for kind, rows in rows_by_kind.items():
        _write_rows(rows, folder / f"train-{kind}.jsonl")

    from journeygen.ablate.evaluate import evaluate
    from journeygen.ablate.train import fine_tune, load_base

    try:
        base, tokenizer = load_base(settings.base_model)
    except TrainError as exc:
        raise AblateError(str(exc)) from None

    def scored(name: str, model: Any) -> Any:
        echo(f"{name}: evaluating on {len(evals.problems)} problems")
        result = evaluate(
            model,
            tokenizer,
            evals.problems,
            max_new_tokens=settings.max_new_tokens,
            batch_size=settings.eval_batch_size,
            echo=lambda line: echo(f"{name}: {line}"),
        )
        write_outputs(result, folder / f"eval-{name}.jsonl")
        return result

    table = [Row("base", None, scored("base", base))]
    for kind, rows in rows_by_kind.items():
        echo(f"{kind}: fine-tuning on {len(rows)} examples")
        with tempfile.TemporaryDirectory(prefix=f"journeygen-{kind}-") as scratch:
            model, trained = fine_tune(base, tokenizer, rows, settings.train, Path(scratch))
        if settings.save_models:
            model.save_pretrained(folder / "models" / kind)
            tokenizer.save_pretrained(folder / "models" / kind)
        table.append(Row(kind, trained, scored(kind, model)))
        del model
    write_report(table, settings.summary(paired, evals), folder)
    return table
