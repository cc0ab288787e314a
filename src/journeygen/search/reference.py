"""Hang the problem's reference solution in the tree as a correct path the detours can lean on."""

from __future__ import annotations

from typing import Literal

from journeygen.judges.answers import extract_answer
from journeygen.judges.labels import solved_leaves
from journeygen.models import Node, Problem, Verdict
from journeygen.problems.solution import reference_steps

__all__ = ["needs_reference", "reference_nodes"]

REFERENCE_JUDGE = "reference"


def needs_reference(
    mode: Literal["fallback", "never", "always"], nodes: list[Node], problem: Problem
) -> bool:
    """Whether to add the reference path: always, or as a fallback when no final step has a
    path of correct steps above it."""
    if mode == "never" or not problem.solution or problem.answer is None:
        return False
    if mode == "always":
        return True
    return not solved_leaves(nodes)


def reference_nodes(problem: Problem) -> list[Node]:
    """The reference solution as a chain of correct steps `ref1`, `ref2`, … under the question.

    The last step states the gold answer; when the written solution does not, a closing
    step that does is added, so every path that ends here ends with the gold answer.
    """
    if not problem.solution or problem.answer is None:
        raise ValueError(f"problem {problem.id!r} has no reference solution and gold answer")
    steps = reference_steps(problem.solution)
    if not steps or extract_answer(steps[-1]) is None:
        steps.append(f"The answer is {problem.answer}.")
    nodes: list[Node] = []
    for index, text in enumerate(steps, start=1):
        last = index == len(steps)
        nodes.append(
            Node(
                id=f"ref{index}",
                parent=nodes[-1].id if nodes else None,
                text=text,
                source="reference",
                terminal=last,
                answer=problem.answer if last else None,
                label="correct",
                value=1.0,
                verdicts=[
                    Verdict(
                        judge=REFERENCE_JUDGE,
                        label="correct",
                        score=1.0,
                        reason="step of the problem's reference solution",
                    )
                ],
            )
        )
    return nodes
