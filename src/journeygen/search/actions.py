"""The actions of a critique or dialogue search, asked for as JSON that a schema constrains.

The schema's `action` is an enum of exactly the actions allowed at that point ("continue",
"reflect", "terminate", "start over", "backtrack to step 2", …), so a small model under a
llama.cpp grammar can only name a step that exists. An answer that is not JSON or breaks the
schema is asked again (hotter, like the LLM judge's); after the last attempt it is given
back as an error for the search to record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from journeygen.backends.base import Backend, ChatMessage, SamplingOptions
from journeygen.config import CriticConfig
from journeygen.judges.llm import RETRY_TEMPERATURE, JudgeOutputError, load_json
from journeygen.models import Usage

__all__ = ["START_OVER", "Action", "ActionKind", "action_names", "action_schema", "ask_action"]

ActionKind = Literal["continue", "reflect", "backtrack", "terminate"]
START_OVER = "start over"
_BACKTRACK = "backtrack to step "
_PLAIN: dict[str, ActionKind] = {k: k for k in ("continue", "reflect", "terminate")}


@dataclass(frozen=True)
class Action:
    """What an agent chose, and why in its own words; `target` is the step a backtrack keeps
    last (0: none, back to the question)."""

    kind: ActionKind
    reason: str
    target: int = 0


def action_names(kinds: Sequence[ActionKind], steps: int) -> list[str]:
    """The actions offered after `steps` steps: the plain kinds in order, then a backtrack to
    each earlier point ("start over", "backtrack to step 1" … step `steps - 1`)."""
    names: list[str] = [kind for kind in kinds if kind != "backtrack"]
    if "backtrack" in kinds:
        names += [START_OVER, *(f"{_BACKTRACK}{k}" for k in range(1, steps))]
    return names


def action_schema(names: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of one answer: a reason first (the model says why before it chooses),
    then one of `names`."""
    return {
        "type": "object",
        "properties": {
            "reason": {"type": "string", "description": "one or two short sentences: why"},
            "action": {"type": "string", "enum": list(names)},
        },
        "required": ["reason", "action"],
        "additionalProperties": False,
    }


def parse_action(text: str, names: Sequence[str]) -> Action:
    """The action in a model's answer, or `JudgeOutputError` saying what is wrong with it."""
    data = load_json(text)
    if not isinstance(data, dict) or set(data) != {"reason", "action"}:
        raise JudgeOutputError(f"expected an object with reason and action: {text[:80]!r}")
    reason, name = data["reason"], data["action"]
    if not isinstance(reason, str) or not reason.strip():
        raise JudgeOutputError("reason: expected a non-empty string")
    if name not in names:
        raise JudgeOutputError(f"action: {name!r} is not one of {', '.join(names)}")
    reason = " ".join(reason.split())
    if name == START_OVER:
        return Action("backtrack", reason, 0)
    if name.startswith(_BACKTRACK):
        return Action("backtrack", reason, int(name.removeprefix(_BACKTRACK)))
    return Action(_PLAIN[name], reason)


async def ask_action(
    backend: Backend,
    messages: list[ChatMessage],
    names: Sequence[str],
    settings: CriticConfig,
    *,
    seed: int,
    spend: Callable[[Usage], bool],
) -> Action | str:
    """One action out of `names` or, after `settings.attempts` bad answers, why the last one
    failed. `spend` is told what each attempt cost and says whether the tree's budget allows
    another: a retry is a request like any other, so a spent budget stops the retries too. A
    retry is asked hotter with its own seed: at temperature 0 it would repeat the same bad
    answer."""
    error = ""
    for attempt in range(settings.attempts):
        temperature = settings.temperature if attempt == 0 else RETRY_TEMPERATURE
        options = SamplingOptions(
            n=1,
            temperature=max(settings.temperature, temperature),
            max_tokens=settings.tokens,
            seed=seed + attempt,
            json_schema=action_schema(names),
        )
        (completion,) = await backend.complete(messages, options)
        within_budget = spend(completion.usage)
        try:
            return parse_action(completion.text, names)
        except JudgeOutputError as exc:
            error = str(exc)
        if not within_budget:
            return f"no valid action in {attempt + 1} attempts before the budget ran out: {error}"
    return f"no valid action after {settings.attempts} attempts: {error}"
