"""Calibrate a judge: its step verdicts against human labels, as precision, recall and F1 of
the `incorrect` class (how the paper compared o1-mini with Math-Shepherd).

Labelled files are jsonl; each row is detected on its own: our simple format
(`question`, optional `answer` and `id`, `steps`, one label per step) or a PRM800K row (every
rated completion counts, judged after the chosen steps before it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from journeygen.judges.answers import extract_answer, last_number
from journeygen.judges.base import Judge
from journeygen.models import Label, Node, Problem, StrictModel
from journeygen.problems import Reject, RowError, jsonl_lines, parse_line, safe_id
from journeygen.problems.prm800k import is_prm800k, parse_row, row_to_tree

__all__ = ["JudgeScore", "LabelledStep", "evaluate", "read_labelled"]


class LabelledRow(StrictModel):
    """Our format: one solution, its steps in order and a human label per step."""

    id: str | None = None
    question: str = Field(min_length=1)
    answer: str | int | float | None = None
    steps: list[str] = Field(min_length=1)
    labels: list[Label]

    @field_validator("labels")
    @classmethod
    def _one_label_per_step(cls, labels: list[Label], info: ValidationInfo) -> list[Label]:
        steps = info.data.get("steps")
        if steps is not None and len(labels) != len(steps):
            raise ValueError(f"{len(steps)} steps but {len(labels)} labels")
        return labels


@dataclass(frozen=True)
class LabelledStep:
    """One step to judge: its problem, the steps before it, and the human label."""

    problem: Problem
    path: tuple[Node, ...]
    node: Node
    gold: Label


def _steps_of(row: LabelledRow, problem: Problem) -> Iterator[LabelledStep]:
    path: list[Node] = []
    for index, (text, gold) in enumerate(zip(row.steps, row.labels, strict=True), start=1):
        last = index == len(row.steps)
        node = Node(
            id=".".join(["1"] * index),
            parent=path[-1].id if path else None,
            text=text,
            source="import",
            terminal=last,
            answer=(extract_answer(text) or last_number(text)) if last else None,
        )
        yield LabelledStep(problem, tuple(path), node, gold)
        path.append(node)


def _ours(data: dict[str, Any], number: int, stem: str) -> list[LabelledStep]:
    try:
        row = LabelledRow.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        raise RowError(".".join(str(p) for p in error["loc"]) or None, message) from None
    answer = None if row.answer is None else str(row.answer)
    problem_id = safe_id(row.id) if row.id else f"{stem}-{number:06d}"
    problem = Problem(id=problem_id, question=row.question, answer=answer)
    return list(_steps_of(row, problem))


def _prm800k(data: dict[str, Any], number: int, stem: str, source: str) -> list[LabelledStep]:
    tree = row_to_tree(parse_row(data), f"{stem}-{number:06d}", source)
    problem = tree.problem
    return [
        LabelledStep(
            problem, tuple(tree.path(node.parent)) if node.parent else (), node, node.label
        )
        for node in tree.nodes
        if node.source == "import"
    ]


def read_labelled(path: str | Path) -> tuple[list[LabelledStep], list[Reject]]:
    """Every labelled step of a file, and the rows that could not be read (file, line, field)."""
    file = Path(path)
    stem = safe_id(file.stem or "labelled")[:120]
    steps: list[LabelledStep] = []
    rejects: list[Reject] = []
    for number, data, raw in jsonl_lines(file):
        try:
            row = parse_line(data)
            if is_prm800k(row):
                steps += _prm800k(row, number, stem, str(path))
            else:
                steps += _ours(row, number, stem)
        except RowError as err:
            rejects.append(Reject(str(path), number, err.field, str(err), raw))
    return steps, rejects


@dataclass
class JudgeScore:
    """A judge's confusion counts for the `incorrect` class over steps with a human label."""

    judge: str
    steps: int = 0  # human label correct or incorrect
    wrong: int = 0  # of those, human label incorrect
    flagged: int = 0  # judged incorrect
    true_positives: int = 0
    decided: int = 0  # judged correct or incorrect (not silent, not unknown)
    skipped: int = 0  # human label unknown: left out

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.wrong if self.wrong else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p is not None and r is not None and p + r else None


async def evaluate(judge: Judge, steps: Sequence[LabelledStep]) -> JudgeScore:
    """Run `judge` on every step and count it against the human labels. A step is flagged
    when any of the judge's verdicts on it is `incorrect`."""
    score = JudgeScore(judge.name)
    for step in steps:
        if step.gold == "unknown":
            score.skipped += 1
            continue
        verdicts = await judge.judge(step.problem, step.path, step.node)
        labels = {verdict.label for verdict in verdicts}
        flagged = "incorrect" in labels
        score.steps += 1
        score.wrong += step.gold == "incorrect"
        score.flagged += flagged
        score.true_positives += flagged and step.gold == "incorrect"
        score.decided += bool(labels - {"unknown"})
    return score
