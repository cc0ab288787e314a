"""Answer judge: a final step's answer against the gold answer (math-verify, own timeout)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from journeygen.judges.answers import check_answer, extract_answer
from journeygen.models import Node, Problem, Verdict

if TYPE_CHECKING:
    from journeygen.backends.base import Backend
    from journeygen.config import RunConfig
    from journeygen.prompts import ChatTemplate

__all__ = ["AnswerJudge"]

_SCORES = {"correct": 1.0, "incorrect": 0.0}


class AnswerJudge:
    """Final-answer match against the gold answer (math-verify, gold first, own timeout)."""

    name = "answer"

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout

    @classmethod
    def from_config(
        cls, config: RunConfig, backend: Backend | None, template: ChatTemplate | None
    ) -> AnswerJudge:
        """The judge with the run's answer-check timeout."""
        return cls(timeout=config.search.answer_timeout)

    async def judge(self, problem: Problem, path: Sequence[Node], node: Node) -> list[Verdict]:
        """One verdict for a terminal step; none for a step that does not end the solution."""
        if not node.terminal:
            return []
        answer = node.answer if node.answer is not None else extract_answer(node.text)
        check = await check_answer(answer, problem.answer, timeout=self.timeout)
        return [
            Verdict(
                judge=self.name,
                label=check.label,
                score=_SCORES.get(check.label),
                reason=check.reason,
            )
        ]
