"""The LLM judge: schema-constrained verdicts, retries only for bad output, a clear failure."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest

from journeygen.backends.base import ChatMessage, Completion, SamplingOptions
from journeygen.backends.fake import FakeBackend
from journeygen.backends.local import LocalBackend
from journeygen.backends.openai_backend import OpenAIBackend
from journeygen.config import JudgeConfig, RunConfig
from journeygen.judges.answer import AnswerJudge
from journeygen.judges.arithmetic import ArithmeticJudge
from journeygen.judges.base import make_judges
from journeygen.judges.llm import VERDICT_SCHEMA, JudgeOutputError, LLMJudge, parse_verdict
from journeygen.judges.reasons import recorded_reason
from journeygen.models import Node, Problem, Verdict
from journeygen.prompts import load_prompts
from journeygen.search.tree import search

PROBLEM = Problem(
    id="clips", question="48 clips in April, half as many in May. Total?", answer="72"
)
FIRST = Node(id="1", parent=None, text="In May she sold 48 / 2 = 24 clips.")
STEP = Node(id="1.1", parent="1", text="Altogether 48 + 24 = 62 clips.")
WRONG = '{"reason": "48 + 24 is 72, not 62.", "label": "incorrect"}'


def judge_with(responses: list[str], attempts: int = 3) -> tuple[LLMJudge, FakeBackend]:
    backend = FakeBackend(responses)
    return LLMJudge(backend, load_prompts().judge, attempts=attempts), backend


async def test_a_valid_answer_is_one_request_with_the_schema_and_the_context() -> None:
    judge, backend = judge_with([WRONG])
    verdicts = await judge.judge(PROBLEM, [FIRST], STEP)
    assert verdicts == [
        Verdict(judge="llm", label="incorrect", score=0.0, reason="48 + 24 is 72, not 62.")
    ]
    ((messages, options),) = backend.calls
    assert options.json_schema == VERDICT_SCHEMA
    assert (options.n, options.temperature) == (1, 0.0)
    user = messages[-1]["content"]
    assert "Problem: 48 clips in April" in user
    assert "The correct final answer is 72." in user
    assert "1. In May she sold 48 / 2 = 24 clips." in user
    assert user.endswith("Step to judge:\nAltogether 48 + 24 = 62 clips.")
    assert judge.usage.calls == 1


async def test_unparseable_output_is_retried_with_a_new_seed_and_some_temperature() -> None:
    judge, backend = judge_with(
        ['{"label": "correct"', '{"reason": "Right sum.", "label": "correct"}']
    )
    verdicts = await judge.judge(PROBLEM, [FIRST], STEP)
    assert [(v.label, v.score, v.reason) for v in verdicts] == [("correct", 1.0, "Right sum.")]
    first, second = (options for _, options in backend.calls)
    assert first.seed != second.seed
    assert (first.temperature, second.temperature) == (0.0, 0.7)
    assert judge.usage.calls == 2


async def test_output_that_never_fits_the_schema_gives_unknown_with_the_reason() -> None:
    judge, backend = judge_with(["I think it is fine.", '{"label": "maybe", "reason": "x"}'], 2)
    verdicts = await judge.judge(PROBLEM, [FIRST], STEP)
    assert len(backend.calls) == 2
    assert [(v.judge, v.label, v.score) for v in verdicts] == [("llm", "unknown", None)]
    assert verdicts[0].reason.startswith("no valid verdict from the LLM judge after 2 attempts: ")
    assert "label: Input should be 'correct' or 'incorrect'" in verdicts[0].reason


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "not JSON"),
        ("[1, 2]", "answer: Input should be a valid dictionary"),
        ('{"label": "correct"}', "reason: Field required"),
        ('{"reason": "", "label": "correct"}', "reason: String should have at least 1"),
        ('{"reason": "ok", "label": "correct", "score": 1}', "score: Extra inputs"),
    ],
)
def test_parse_names_what_is_wrong(text: str, error: str) -> None:
    with pytest.raises(JudgeOutputError, match=error):
        parse_verdict(text)


def test_a_json_fence_is_accepted() -> None:
    answer = parse_verdict('```json\n{"reason": "Right.", "label": "correct"}\n```')
    assert (answer.label, answer.reason) == ("correct", "Right.")


def test_schema_fits_openai_strict_mode_and_anthropic_tool_input() -> None:
    assert VERDICT_SCHEMA["type"] == "object"  # a tool's input_schema must be an object
    assert VERDICT_SCHEMA["additionalProperties"] is False  # OpenAI strict mode needs both
    assert set(VERDICT_SCHEMA["required"]) == set(VERDICT_SCHEMA["properties"])
    assert list(VERDICT_SCHEMA["properties"]) == ["reason", "label"]  # reason before label


async def test_openai_backend_sends_the_schema_as_response_format() -> None:
    sent: list[dict[str, Any]] = []

    def reply(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        message = {"role": "assistant", "content": WRONG}
        choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        return httpx2.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "test-model",
                "choices": [choice],
                "usage": {"prompt_tokens": 90, "completion_tokens": 14, "total_tokens": 104},
            },
        )

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(reply))
    backend = OpenAIBackend(
        "test-model", base_url="http://mock.test/v1", api_key="sk-test-0123456789abcdef",
        max_retries=0, http_client=client,
    )  # fmt: skip
    try:
        judge = LLMJudge(backend, load_prompts().judge)
        verdicts = await judge.judge(PROBLEM, [FIRST], STEP)
    finally:
        await backend.aclose()
    assert [v.label for v in verdicts] == ["incorrect"]
    assert sent[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "verdict", "schema": VERDICT_SCHEMA, "strict": True},
    }
    assert judge.usage.total_tokens == 104


def test_make_judges_builds_the_configured_judges_in_order() -> None:
    config = RunConfig(judges=JudgeConfig(use=["arithmetic", "llm", "answer"], llm_attempts=5))
    judges = make_judges(config, FakeBackend([WRONG]), load_prompts().judge)
    assert [type(j) for j in judges] == [ArithmeticJudge, LLMJudge, AnswerJudge]
    assert isinstance(judges[1], LLMJudge) and judges[1].attempts == 5
    with pytest.raises(ValueError, match="llm judge needs a backend"):
        make_judges(config)


def test_config_refuses_a_judge_twice_or_none() -> None:
    with pytest.raises(ValueError, match="twice"):
        JudgeConfig(use=["answer", "answer"])
    with pytest.raises(ValueError):
        JudgeConfig(use=[])


@pytest.mark.model
async def test_the_embedded_model_answers_in_the_schema(local_backend: LocalBackend) -> None:
    answers: list[Completion] = []

    class Recording:
        """The embedded model, keeping what it answered."""

        async def complete(
            self, messages: list[ChatMessage], options: SamplingOptions
        ) -> list[Completion]:
            completions = await local_backend.complete(messages, options)
            answers.extend(completions)
            return completions

    judge = LLMJudge(Recording(), load_prompts().judge, max_tokens=96)  # type: ignore[arg-type]
    (verdict,) = await judge.judge(PROBLEM, [FIRST], STEP)
    # What SmolLM2 writes differs by CPU; how the judge treats any answer does not.
    assert 1 <= len(answers) == judge.usage.calls <= judge.attempts
    for answer in answers:  # llama.cpp's grammar keeps to the schema unless max_tokens cuts it
        if answer.finish_reason == "stop":
            data = json.loads(answer.text)
            assert set(data) == {"reason", "label"} and data["label"] in ("correct", "incorrect")
    for answer in answers[:-1]:  # asked again only after an answer that breaks the schema
        with pytest.raises(JudgeOutputError):
            parse_verdict(answer.text)
    if verdict.label == "unknown":
        assert len(answers) == judge.attempts
        assert verdict.reason.startswith("no valid verdict from the LLM judge after 3 attempts")
    else:
        last = parse_verdict(answers[-1].text)
        assert (verdict.label, verdict.reason) == (last.label, recorded_reason(last.reason))


class _Overlap:
    """Answers steps and verdicts after a short wait, noting the most judge requests that
    were in flight at once."""

    name = "fake"

    def __init__(self) -> None:
        self.judging = 0
        self.peak = 0

    async def complete(
        self, messages: list[ChatMessage], options: SamplingOptions
    ) -> list[Completion]:
        judge = options.json_schema is not None
        self.judging += judge
        self.peak = max(self.peak, self.judging)
        await asyncio.sleep(0.01)
        self.judging -= judge
        seed = options.seed or 0
        texts = (
            [WRONG]
            if judge
            else [f"So {seed % 97} + {i} = {seed % 97 + i} clips." for i in range(options.n)]
        )
        return [Completion(text=text) for text in texts]

    async def aclose(self) -> None:
        pass


async def test_the_llm_judge_judges_a_levels_new_steps_at_once() -> None:
    """A judge that asks a model gets every new step of a level in flight together; the
    verdicts still land in judge order on each step."""
    backend = _Overlap()
    config = RunConfig.model_validate(
        {"search": {"width": 4, "keep": 1, "depth": 1}, "judges": {"use": ["answer", "llm"]}}
    )
    judges = make_judges(config, backend, load_prompts().judge)
    tree = await search(PROBLEM, backend, judges, config, load_prompts())
    assert len(tree.nodes) == 4
    assert backend.peak == 4
    assert all([v.judge for v in node.verdicts] == ["answer", "llm"] for node in tree.nodes)
