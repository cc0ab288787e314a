"""PRM800K rows (openai/prm800k, "Let's Verify Step by Step") as our trees.

Each row is one labelled solution: per step, one or more rated completions (-1, 0, +1), the
index of the one the solution continues with (`chosen_completion`), or a labeller-written
`human_completion`. Every completion becomes a node (source `import`): -1 `incorrect`,
+1 `correct`, 0 or unrated `unknown`; the alternatives of a step are siblings, and the chosen
one is the parent of the next step. A human completion is the +1 step the labeller wrote.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from journeygen.config import RunConfig, empty_list
from journeygen.models import Label, Node, Problem, Tree, TreeStats, Usage, Verdict
from journeygen.problems import Reject, RowError, jsonl_lines, parse_line, safe_id
from journeygen.search.reference import needs_reference, reference_nodes

__all__ = ["IMPORT_JUDGE", "PrmRow", "import_config", "is_prm800k", "read_prm800k", "row_to_tree"]

IMPORT_JUDGE = "human"
_ANSWER = re.compile(r"^#\s*Answer\s*$", re.MULTILINE)
_LABELS: dict[int | None, Label] = {-1: "incorrect", 0: "unknown", 1: "correct", None: "unknown"}
_RATED = {
    -1: "rated -1 (wrong) by a PRM800K labeller",
    0: "rated 0 (neutral: not wrong, but no progress) by a PRM800K labeller",
    1: "rated +1 (right) by a PRM800K labeller",
    None: "not rated by the PRM800K labeller",
}


class _Lenient(BaseModel):
    """PRM800K rows carry more keys than we read (labeler, timestamp, ...): those are ignored."""

    model_config = ConfigDict(extra="ignore")


class PrmCompletion(_Lenient):
    text: str
    rating: Literal[-1, 0, 1] | None = None
    flagged: bool | None = None


class PrmStep(_Lenient):
    completions: list[PrmCompletion] = Field(default_factory=empty_list)
    human_completion: PrmCompletion | str | None = None
    chosen_completion: int | None = Field(default=None, ge=0)


class PrmLabel(_Lenient):
    steps: list[PrmStep]
    finish_reason: str | None = None


class PrmQuestion(_Lenient):
    problem: str = Field(min_length=1)
    ground_truth_answer: str | None = None
    ground_truth_solution: str | None = None


class PrmRow(_Lenient):
    question: PrmQuestion
    label: PrmLabel
    generation: int | None = None


def is_prm800k(row: dict[str, Any]) -> bool:
    """A row in PRM800K's shape: `question` and `label` are objects."""
    return isinstance(row.get("question"), dict) and isinstance(row.get("label"), dict)


def parse_row(row: dict[str, Any]) -> PrmRow:
    """A validated row, or a `RowError` naming the first bad field (`label.steps.2...`)."""
    try:
        parsed = PrmRow.model_validate(row)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise RowError(field or None, error["msg"]) from None
    for index, step in enumerate(parsed.label.steps):
        chosen = step.chosen_completion
        if chosen is not None and chosen >= len(step.completions):
            raise RowError(
                f"label.steps.{index}.chosen_completion",
                f"{chosen} is out of range ({len(step.completions)} completions)",
            )
    return parsed


def _node(parent: str | None, index: int, text: str, label: Label, reason: str) -> Node:
    match = _ANSWER.search(text)
    answer = text[match.end() :].strip().splitlines()[0].strip() if match else None
    score = {"correct": 1.0, "incorrect": 0.0}.get(label)
    return Node(
        id=str(index) if parent is None else f"{parent}.{index}",
        parent=parent,
        text=text.strip(),
        source="import",
        terminal=match is not None,
        answer=answer or None,
        label=label,
        verdicts=[Verdict(judge=IMPORT_JUDGE, label=label, score=score, reason=reason)],
    )


def import_config(source: str) -> tuple[RunConfig, str]:
    """The config an imported tree carries (defaults: journey knobs apply to exports) and a
    hash of the importer and file, so no generate run ever takes it for one of its trees."""
    digest = hashlib.sha256(f"prm800k\x1f{source}".encode()).hexdigest()[:16]
    return RunConfig(), digest


def row_to_tree(row: PrmRow, problem_id: str, source: str) -> Tree:
    """The row's steps as a tree; the path ends where the labeller stopped. When no step
    reaches a correct answer, the MATH reference solution is added as the correct path."""
    question = row.question
    problem = Problem(
        id=problem_id,
        question=question.problem,
        answer=question.ground_truth_answer,
        solution=question.ground_truth_solution,
        meta={"source": "prm800k", "finish_reason": row.label.finish_reason},
    )
    nodes: list[Node] = []
    parent: str | None = None
    for step in row.label.steps:
        chosen: str | None = None
        for index, completion in enumerate(step.completions, start=1):
            reason = _RATED[completion.rating] + (" and flagged" if completion.flagged else "")
            node = _node(parent, index, completion.text, _LABELS[completion.rating], reason)
            nodes.append(node)
            if step.chosen_completion == index - 1:
                chosen = node.id
        human = step.human_completion
        if human is not None:
            text = human if isinstance(human, str) else human.text
            reason = "written by the PRM800K labeller as the right next step"
            node = _node(parent, len(step.completions) + 1, text, "correct", reason)
            nodes.append(node)
            if step.chosen_completion is None:
                chosen = node.id
        if chosen is None:
            break  # the labeller stopped: an error was found, or they gave up
        parent = chosen
    stats = TreeStats.measure(nodes, Usage(), None)
    if needs_reference("fallback", nodes, problem):
        nodes.extend(reference_nodes(problem))
    config, config_hash = import_config(source)
    return Tree(
        problem=problem,
        nodes=nodes,
        config=config,
        config_hash=config_hash,
        strategy="import",
        stats=stats,
    )


def read_prm800k(path: str | Path) -> Iterator[Tree | Reject]:
    """Trees of a PRM800K jsonl file in order; a bad row is a `Reject` (file, line, field).

    Rows carry no id: a tree's id is `<file stem>-<line>`, as for problems without one.
    """
    file = Path(path)
    stem = safe_id(file.stem or "prm800k")[:120]
    for number, data, raw in jsonl_lines(file):
        try:
            tree = row_to_tree(parse_row(parse_line(data)), f"{stem}-{number:06d}", str(path))
        except RowError as err:
            yield Reject(str(path), number, err.field, str(err), raw)
            continue
        yield tree
