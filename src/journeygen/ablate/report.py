"""The ablation's table: one row per model (base, journey, shortcut), printed as Markdown
and written with every figure and setting to `ablate.json`, beside each model's outputs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from journeygen.ablate.evaluate import EvalResult
from journeygen.ablate.train import TrainResult
from journeygen.store import atomic_open

__all__ = ["COLUMNS", "Row", "markdown_table", "write_outputs", "write_report"]

COLUMNS = (
    "model",
    "train examples",
    "train tokens",
    "steps",
    "accuracy",
    "mean output tokens",
    "reflect/backtrack",
    "cut",
    "train s",
    "eval s",
)


@dataclass(frozen=True)
class Row:
    """One model's line: how it was trained (None for the base model) and how it did."""

    model: str
    train: TrainResult | None
    result: EvalResult

    def cells(self) -> list[str]:
        """The row as the table prints it."""
        train = self.train
        result = self.result
        correct = sum(out.correct for out in result.outputs)
        return [
            self.model,
            str(train.examples) if train else "-",
            str(train.tokens) if train else "-",
            str(train.steps) if train else "-",
            f"{100 * result.accuracy:.1f}% ({correct}/{len(result.outputs)})",
            f"{result.mean_tokens:.1f}",
            f"{100 * result.reflect_share:.1f}%",
            f"{100 * result.cut_share:.1f}%",
            f"{train.wall_s:.0f}" if train else "-",
            f"{result.wall_s:.0f}",
        ]

    def summary(self) -> dict[str, Any]:
        """The row's figures for machines (ablate.json)."""
        return {
            "model": self.model,
            "train": asdict(self.train) if self.train else None,
            "eval": {
                "problems": len(self.result.outputs),
                "correct": sum(out.correct for out in self.result.outputs),
                "accuracy": self.result.accuracy,
                "mean_output_tokens": self.result.mean_tokens,
                "reflect_share": self.result.reflect_share,
                "cut_share": self.result.cut_share,
                "wall_s": self.result.wall_s,
            },
        }


def markdown_table(rows: Sequence[Row]) -> str:
    """The table as Markdown, right-aligned numbers."""
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|---|" + "---:|" * (len(COLUMNS) - 1),
        *("| " + " | ".join(row.cells()) + " |" for row in rows),
    ]
    return "\n".join(lines) + "\n"


def write_outputs(result: EvalResult, path: Path) -> None:
    """Each eval output with its verdict, one jsonl row per problem, for reading by hand."""
    with atomic_open(path) as handle:
        for out in result.outputs:
            handle.write(json.dumps(out.row(), ensure_ascii=False) + "\n")


def write_report(rows: Sequence[Row], settings: dict[str, Any], folder: Path) -> None:
    """`table.md` and `ablate.json` (settings, data counts, every row's figures)."""
    with atomic_open(folder / "table.md") as handle:
        handle.write(markdown_table(rows))
    report = {"settings": settings, "rows": [row.summary() for row in rows]}
    with atomic_open(folder / "ablate.json") as handle:
        handle.write(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
