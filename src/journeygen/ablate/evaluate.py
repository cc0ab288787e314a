"""Evaluate a model on eval problems: greedy decoding with transformers, then journeygen's
strict answer check (only a stated answer counts; an output cut at `max_new_tokens` never
does), plus how long outputs are and whether they reflect or backtrack."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from journeygen.judges.answers import check_answer, extract_answer
from journeygen.models import Problem

__all__ = ["REFLECTS", "EvalOutput", "EvalResult", "evaluate", "reflects"]

# A reflection or a backtrack, in the phrase bank's words or a model's own ("Wait", "let me
# recompute", "go back", "I made a mistake"): the behaviour journeys are meant to teach.
REFLECTS = re.compile(
    r"\b(?:wait|hmm|hold on|actually,? no|i made a mistake|that(?:'s| is) (?:wrong|incorrect)"
    r"|doesn't (?:look right|hold up|fit)|(?:calculation|reasoning|approach) is off"
    r"|let me (?:re-?check|recompute|recalculate|reconsider|restart|start (?:again|over)"
    r"|go back|return)|go(?:ing)? back to)\b",
    re.IGNORECASE,
)


def reflects(text: str) -> bool:
    """Whether an output reflects on or backs out of its own reasoning."""
    return REFLECTS.search(text) is not None


@dataclass(frozen=True)
class EvalOutput:
    """One eval problem's greedy output and its verdict."""

    problem_id: str
    output: str
    tokens: int  # generated tokens up to and including the end of turn
    cut: bool  # stopped by max_new_tokens before the end of turn
    answer: str | None  # the answer it states, if any
    correct: bool
    reason: str
    reflects: bool

    def row(self) -> dict[str, Any]:
        return {
            "problem_id": self.problem_id,
            "answer": self.answer,
            "correct": self.correct,
            "reason": self.reason,
            "tokens": self.tokens,
            "cut": self.cut,
            "reflects": self.reflects,
            "output": self.output,
        }


@dataclass(frozen=True)
class EvalResult:
    """A model's outputs on the eval set and the figures of its table row."""

    outputs: list[EvalOutput]
    wall_s: float

    @property
    def accuracy(self) -> float:
        return _share(sum(out.correct for out in self.outputs), len(self.outputs))

    @property
    def mean_tokens(self) -> float:
        return _share(sum(out.tokens for out in self.outputs), len(self.outputs))

    @property
    def reflect_share(self) -> float:
        return _share(sum(out.reflects for out in self.outputs), len(self.outputs))

    @property
    def cut_share(self) -> float:
        return _share(sum(out.cut for out in self.outputs), len(self.outputs))


def _share(part: float, whole: int) -> float:
    return part / whole if whole else 0.0


def _end_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every token that ends a turn: the tokenizer's EOS and the generation config's."""
    configured = model.generation_config.eos_token_id
    ends = {tokenizer.eos_token_id}
    ends.update(configured if isinstance(configured, list) else [configured])
    return sorted(end for end in ends if end is not None)


def generate(
    model: Any,
    tokenizer: Any,
    questions: Sequence[str],
    *,
    max_new_tokens: int,
    batch_size: int,
    done: Callable[[int, int], None] = lambda answered, tokens: None,
) -> list[tuple[str, int, bool]]:
    """Greedy completions of each question as a user turn: (text, tokens, cut), in order.
    `done` is told after each batch how many questions are answered and their tokens."""
    import torch

    tokenizer.padding_side = "left"  # generation continues from the right end of each row
    ends = _end_ids(model, tokenizer)
    results: list[tuple[str, int, bool]] = []
    for start in range(0, len(questions), batch_size):
        prompts = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
            )
            for question in questions[start : start + batch_size]
        ]
        batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        batch = batch.to(model.device)
        with torch.inference_mode():
            generated = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                eos_token_id=ends,
                pad_token_id=tokenizer.pad_token_id,
            )
        for row in generated[:, batch["input_ids"].shape[1] :].tolist():
            stop = next((i for i, token in enumerate(row) if token in ends), None)
            kept = row if stop is None else row[: stop + 1]
            text = tokenizer.decode(kept, skip_special_tokens=True).strip()
            results.append((text, len(kept), stop is None))
        done(len(results), sum(tokens for _, tokens, _ in results))
    return results


async def _verdicts(
    texts: Sequence[tuple[str, int, bool]], problems: Sequence[Problem]
) -> list[tuple[str | None, bool, str]]:
    """(stated answer, correct, reason) of each output against its problem's gold answer."""

    async def one(text: str, cut: bool, gold: str | None) -> tuple[str | None, bool, str]:
        answer = extract_answer(text)
        if cut:
            return answer, False, "cut at max_new_tokens before the end of its turn"
        check = await check_answer(answer, gold)
        return answer, check.label == "correct", check.reason

    return await asyncio.gather(
        *(
            one(text, cut, problem.answer)
            for (text, _, cut), problem in zip(texts, problems, strict=True)
        )
    )


def evaluate(
    model: Any,
    tokenizer: Any,
    problems: Sequence[Problem],
    *,
    max_new_tokens: int,
    batch_size: int,
    echo: Callable[[str], None] = lambda line: None,
) -> EvalResult:
    """Greedy outputs of `model` on `problems`, checked strictly against the gold answers;
    `echo` gets a progress line after each batch (a CPU eval runs for many minutes)."""
    start = time.perf_counter()

    def progress(answered: int, tokens: int) -> None:
        elapsed = time.perf_counter() - start
        left = elapsed / answered * (len(problems) - answered)
        echo(
            f"{answered}/{len(problems)} answered, {tokens:,} tokens, {elapsed:.0f} s, "
            f"about {left:.0f} s left"
        )

    texts = generate(
        model,
        tokenizer,
        [problem.question for problem in problems],
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        done=progress,
    )
    verdicts = asyncio.run(_verdicts(texts, problems))
    outputs = [
        EvalOutput(
            problem_id=problem.id,
            output=text,
            tokens=tokens,
            cut=cut,
            answer=answer,
            correct=correct,
            reason=reason,
            reflects=reflects(text),
        )
        for problem, (text, tokens, cut), (answer, correct, reason) in zip(
            problems, texts, verdicts, strict=True
        )
    ]
    return EvalResult(outputs=outputs, wall_s=time.perf_counter() - start)
