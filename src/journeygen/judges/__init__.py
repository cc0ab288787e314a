"""Step judges: small objects with one async method that returns `Verdict`s for a step.

`make_judges` builds the judges a run's config names (`judges.use`), in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from journeygen.judges.answer import AnswerJudge
from journeygen.judges.arithmetic import ArithmeticJudge
from journeygen.judges.llm import VERDICT_SCHEMA, LLMJudge
from journeygen.judges.rollout import RolloutJudge, rollout_verdict
from journeygen.models import Node, Problem, Verdict

if TYPE_CHECKING:
    from journeygen.backends.base import Backend
    from journeygen.config import RunConfig
    from journeygen.prompts import ChatTemplate

__all__ = [
    "VERDICT_SCHEMA",
    "AnswerJudge",
    "ArithmeticJudge",
    "Judge",
    "LLMJudge",
    "RolloutJudge",
    "make_judges",
    "rollout_verdict",
]


class Judge(Protocol):
    """Judges one step given the steps before it (`path`, from the first step)."""

    name: str

    async def judge(self, problem: Problem, path: Sequence[Node], node: Node) -> list[Verdict]:
        """Verdicts on `node`; an empty list when the judge has nothing to say about it."""
        ...


def make_judges(
    config: RunConfig, backend: Backend | None = None, template: ChatTemplate | None = None
) -> list[Judge]:
    """The judges `config.judges.use` names; the LLM judge needs a backend and its prompt."""
    settings = config.judges
    judges: list[Judge] = []
    for name in settings.use:
        if name == "answer":
            judges.append(AnswerJudge(timeout=config.search.answer_timeout))
        elif name == "arithmetic":
            judges.append(ArithmeticJudge())
        elif name == "rollout":
            judges.append(RolloutJudge(settings.rollout_threshold))
        else:
            if backend is None or template is None:
                raise ValueError("the llm judge needs a backend and the judge prompt")
            judges.append(
                LLMJudge(
                    backend,
                    template,
                    attempts=settings.llm_attempts,
                    temperature=settings.llm_temperature,
                    max_tokens=settings.llm_tokens,
                    seed=config.seed,
                )
            )
    return judges
