"""Calibrate a judge: its step verdicts against human labels, as precision, recall and F1 of
the `incorrect` class (how the paper compared o1-mini with Math-Shepherd), and ProcessBench's
first-error metric over whole solutions.

Labelled files are jsonl; each row is detected on its own: our simple format
(`question`, optional `answer` and `id`, `steps`, one label per step), a PRM800K row (every
rated completion counts, judged after the chosen steps before it) or a ProcessBench row
(`problem`, `steps`, `label` = index of the first wrong step or -1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, StrictBool, StrictInt, ValidationError, ValidationInfo, field_validator

from journeygen.judges.answers import extract_answer
from journeygen.judges.base import Judge
from journeygen.models import Label, Node, Problem, StrictModel
from journeygen.problems import Reject, RowError, jsonl_lines, parse_line, safe_id
from journeygen.problems.prm800k import is_prm800k, parse_row, row_to_tree

__all__ = ["JudgeScore", "LabelledStep", "Solution", "evaluate", "is_processbench", "read_labelled"]


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


class ProcessBenchRow(StrictModel):
    """A Qwen/ProcessBench row (first wrong step or -1); `answer` is ours, for the answer judge."""

    id: str | None = None
    generator: str | None = None
    problem: str = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    label: StrictInt = Field(ge=-1)
    final_answer_correct: StrictBool | None = None
    answer: str | int | float | None = None

    @field_validator("label")
    @classmethod
    def _a_step_of_the_solution(cls, label: int, info: ValidationInfo) -> int:
        steps = info.data.get("steps")
        if steps is not None and label >= len(steps):
            raise ValueError(f"first wrong step {label}, but the solution has {len(steps)} steps")
        return label

    @property
    def labels(self) -> list[Label]:
        """Correct before the first wrong step, incorrect at it, unknown (not rated) after."""
        labels: list[Label] = ["correct"] * len(self.steps)
        if self.label != -1:
            labels[self.label] = "incorrect"
            labels[self.label + 1 :] = ["unknown"] * (len(self.steps) - self.label - 1)
        return labels


def is_processbench(row: dict[str, Any]) -> bool:
    """A row in ProcessBench's shape: a `problem` and one `label` for the whole solution."""
    return "problem" in row and "label" in row and not is_prm800k(row)


@dataclass(frozen=True)
class Solution:
    """A whole solution's line and first wrong step (-1: none), for ProcessBench's metric."""

    line: int
    first_error: int


@dataclass(frozen=True)
class LabelledStep:
    """One step to judge, with its context, human label and solution (None in PRM800K trees)."""

    problem: Problem
    path: tuple[Node, ...]
    node: Node
    gold: Label
    solution: Solution | None = None


def _first_error(labels: Sequence[Label]) -> int | None:
    """The first wrong step (-1: none), or None when an unrated step comes before it."""
    for index, label in enumerate(labels):
        if label != "correct":
            return index if label == "incorrect" else None
    return -1


def _steps_of(
    problem: Problem, texts: Sequence[str], labels: Sequence[Label], line: int
) -> Iterator[LabelledStep]:
    first_error = _first_error(labels)
    solution = None if first_error is None else Solution(line, first_error)
    path: list[Node] = []
    for index, (text, gold) in enumerate(zip(texts, labels, strict=True), start=1):
        last = index == len(texts)
        node = Node(
            id=".".join(["1"] * index),
            parent=path[-1].id if path else None,
            text=text,
            source="import",
            terminal=last,
            answer=extract_answer(text) if last else None,
        )
        yield LabelledStep(problem, tuple(path), node, gold, solution)
        path.append(node)


def _validated(model: type[LabelledRow] | type[ProcessBenchRow], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        raise RowError(".".join(str(p) for p in error["loc"]) or None, message) from None


def _problem(row_id: str | None, question: str, answer: object, number: int, stem: str) -> Problem:
    problem_id = safe_id(row_id) if row_id else f"{stem}-{number:06d}"
    gold = None if answer is None else str(answer)
    return Problem(id=problem_id, question=question, answer=gold)


def _ours(data: dict[str, Any], number: int, stem: str) -> list[LabelledStep]:
    row: LabelledRow = _validated(LabelledRow, data)
    problem = _problem(row.id, row.question, row.answer, number, stem)
    return list(_steps_of(problem, row.steps, row.labels, number))


def _processbench(data: dict[str, Any], number: int, stem: str) -> list[LabelledStep]:
    row: ProcessBenchRow = _validated(ProcessBenchRow, data)
    problem = _problem(row.id, row.problem, row.answer, number, stem)
    return list(_steps_of(problem, row.steps, row.labels, number))


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
            elif is_processbench(row):
                steps += _processbench(row, number, stem)
            else:
                steps += _ours(row, number, stem)
        except RowError as err:
            rejects.append(Reject(str(path), number, err.field, str(err), raw))
    return steps, rejects


@dataclass
class JudgeScore:
    """A judge's counts: `incorrect` over labelled steps, first-error guesses over solutions."""

    judge: str
    steps: int = 0  # human label correct or incorrect
    wrong: int = 0  # of those, human label incorrect
    flagged: int = 0  # judged incorrect
    true_positives: int = 0
    decided: int = 0  # judged correct or incorrect (not silent, not unknown)
    skipped: int = 0  # human label unknown: left out
    erroneous: int = 0  # solutions with a wrong step
    located: int = 0  # of those, the first flagged step is the first wrong one
    error_free: int = 0  # solutions with no wrong step
    passed: int = 0  # of those, no step flagged

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

    @property
    def error_accuracy(self) -> float | None:
        """ProcessBench: share of erroneous solutions whose first wrong step it finds first."""
        return self.located / self.erroneous if self.erroneous else None

    @property
    def correct_accuracy(self) -> float | None:
        """ProcessBench: share of error-free solutions in which it flags no step."""
        return self.passed / self.error_free if self.error_free else None

    @property
    def first_error_f1(self) -> float | None:
        """ProcessBench's F1: the harmonic mean of the two accuracies (0 when both are 0)."""
        a, c = self.error_accuracy, self.correct_accuracy
        if a is None or c is None:
            return None
        return 2 * a * c / (a + c) if a + c else 0.0

    def count_solution(self, first_error: int, first_flagged: int) -> None:
        """Count one solution: its first wrong step and the judge's first flag (-1: none)."""
        if first_error == -1:
            self.error_free += 1
            self.passed += first_flagged == -1
        else:
            self.erroneous += 1
            self.located += first_flagged == first_error


def _by_solution(steps: Sequence[LabelledStep]) -> list[list[LabelledStep]]:
    """The steps in runs that share a solution (its steps are judged in order); a step of
    no solution (PRM800K) is a run of its own."""
    runs: list[list[LabelledStep]] = []
    for step in steps:
        if runs and step.solution is not None and runs[-1][-1].solution == step.solution:
            runs[-1].append(step)
        else:
            runs.append([step])
    return runs


async def evaluate(
    judge: Judge,
    steps: Sequence[LabelledStep],
    *,
    workers: int = 1,
    on_step: Callable[[], None] | None = None,
) -> JudgeScore:
    """Score `judge` (a step is flagged when any verdict is `incorrect`); unrated steps are
    judged only while they can still be its first flag, so an LLM judge is paid for no more.

    `workers` solutions are judged at once, the steps of each in order, so the score is the
    same at any number (1: every step in file order); `on_step` is called after each step.
    """
    import asyncio  # loaded by the running loop anyway; at module level it cost start-up

    score = JudgeScore(judge.name)
    first_flagged: dict[Solution, int] = {}

    async def judge_step(step: LabelledStep) -> None:
        solution = step.solution
        open_solution = solution is not None and solution not in first_flagged
        if step.gold == "unknown":
            score.skipped += 1
            if not open_solution:
                return
        verdicts = await judge.judge(step.problem, step.path, step.node)
        labels = {verdict.label for verdict in verdicts}
        flagged = "incorrect" in labels
        if flagged and solution is not None and open_solution:
            first_flagged[solution] = len(step.path)
        if step.gold == "unknown":
            return
        score.steps += 1
        score.wrong += step.gold == "incorrect"
        score.flagged += flagged
        score.true_positives += flagged and step.gold == "incorrect"
        score.decided += bool(labels - {"unknown"})

    runs = iter(_by_solution(steps))

    async def worker() -> None:
        for run in runs:  # shared: each solution goes to one worker
            for step in run:
                await judge_step(step)
                if on_step is not None:
                    on_step()

    await asyncio.gather(*(worker() for _ in range(workers)))
    for solution in dict.fromkeys(step.solution for step in steps if step.solution):
        score.count_solution(solution.first_error, first_flagged.get(solution, -1))
    return score
