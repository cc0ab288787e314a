"""LLM judge: asks a model whether one step is right, through schema-constrained output.

The schema (`reason` then `label`) goes out as `SamplingOptions.json_schema`: OpenAI sends it
as `response_format` json_schema, llama.cpp constrains its grammar with it, and it is a valid
Anthropic tool `input_schema`. The SDKs retry HTTP failures themselves; tenacity here retries
only output that is not JSON or breaks the schema, and after the last attempt the verdict is
`unknown` with the reason, so one bad answer never fails a tree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from journeygen.backends.base import Backend, SamplingOptions
from journeygen.config import RunConfig
from journeygen.judges.reasons import recorded_reason
from journeygen.models import Node, Problem, StrictModel, Usage, Verdict
from journeygen.prompts import ChatTemplate
from journeygen.seeds import request_seed

__all__ = [
    "RETRY_TEMPERATURE",
    "VERDICT_SCHEMA",
    "JudgeOutputError",
    "LLMJudge",
    "load_json",
    "parse_verdict",
]

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {
            "type": "string",
            "description": "written first, one full sentence (never just the label): the number,"
            " claim or quantity in the step that is wrong and why, or why the step is right",
        },
        "label": {"type": "string", "enum": ["correct", "incorrect"]},
    },
    "required": ["reason", "label"],
    "additionalProperties": False,
}
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
RETRY_TEMPERATURE = 0.7  # a retry at temperature 0 would repeat the same bad answer


class JudgeOutputError(ValueError):
    """The model's answer is not JSON or does not fit the schema it was asked for."""


class _Answer(StrictModel):
    reason: str = Field(min_length=1)
    label: Literal["correct", "incorrect"]


def load_json(text: str) -> Any:
    """The JSON value in a model's answer (a ```json fence is allowed)."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise JudgeOutputError(
            f"not JSON ({exc.msg} at column {exc.colno}): {body[:80]!r}"
        ) from None


def parse_verdict(text: str) -> _Answer:
    """The JSON object in `text` (a ```json fence is allowed), checked against the schema."""
    data = load_json(text)
    try:
        return _Answer.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "answer"
        raise JudgeOutputError(f"{where}: {error['msg']}") from None


class LLMJudge:
    """One request per step (more only to retry bad output); tokens spent add up in `usage`."""

    name = "llm"

    def __init__(
        self,
        backend: Backend,
        template: ChatTemplate,
        *,
        attempts: int = 3,
        temperature: float = 0.0,
        max_tokens: int = 256,
        seed: int = 0,
    ) -> None:
        self.backend = backend
        self.template = template
        self.attempts = attempts
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.usage = Usage()

    @classmethod
    def from_config(
        cls, config: RunConfig, backend: Backend | None, template: ChatTemplate | None
    ) -> LLMJudge:
        """The judge on the run's backend and judge prompt, with `judges.llm_*` settings."""
        if backend is None or template is None:
            raise ValueError("the llm judge needs a backend and the judge prompt")
        settings = config.judges
        return cls(
            backend,
            template,
            attempts=settings.llm_attempts,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_tokens,
            seed=config.seed,
        )

    def messages(self, problem: Problem, path: Sequence[Node], node: Node) -> list[Any]:
        steps = "\n".join(f"{i}. {step.text}" for i, step in enumerate(path, start=1))
        gold = f"The correct final answer is {problem.answer}.\n" if problem.answer else ""
        return self.template.render(
            question=problem.question,
            reference=gold,
            steps=steps or "(none yet: this is the first step)",
            step=node.text,
        )

    async def judge(self, problem: Problem, path: Sequence[Node], node: Node) -> list[Verdict]:
        messages = self.messages(problem, path, node)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            retry=retry_if_exception_type(JudgeOutputError),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    answer = await self._ask(messages, problem, node, number)
        except JudgeOutputError as exc:
            reason = f"no valid verdict from the LLM judge after {self.attempts} attempts: {exc}"
            return [Verdict(judge=self.name, label="unknown", reason=reason)]
        score = 1.0 if answer.label == "correct" else 0.0
        reason = recorded_reason(answer.reason)  # a bare label is recorded as no reason
        return [Verdict(judge=self.name, label=answer.label, score=score, reason=reason)]

    async def _ask(
        self, messages: list[Any], problem: Problem, node: Node, attempt: int
    ) -> _Answer:
        temperature = self.temperature if attempt == 1 else max(self.temperature, RETRY_TEMPERATURE)
        options = SamplingOptions(
            n=1,
            temperature=temperature,
            max_tokens=self.max_tokens,
            seed=request_seed(self.seed, problem.id, node.id, "judge", attempt),
            json_schema=VERDICT_SCHEMA,
        )
        (completion,) = await self.backend.complete(messages, options)
        self.usage = self.usage + completion.usage
        return parse_verdict(completion.text)
