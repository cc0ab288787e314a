"""`rewrite` linearisation: an LLM turns the template draft into one natural monologue, kept
only when the fidelity check passes; otherwise the draft stays and the sample says why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from journeygen.derive.fidelity import check_fidelity
from journeygen.derive.texts import TextCache
from journeygen.models import Journey, Sample

if TYPE_CHECKING:  # a type only: importing the prompts module loads yaml
    from journeygen.prompts import PromptSet

__all__ = ["FIDELITY_FAILED", "NO_REWRITE", "rewrite", "rewrite_tokens"]

FIDELITY_FAILED: Final = "fidelity check failed"
NO_REWRITE: Final = "no rewrite"


def rewrite_tokens(draft: str) -> int:
    """Room for a rewrite about as long as its draft, with some slack."""
    return min(4096, 2 * len(draft.split()) + 64)


def _fallback(sample: Sample, reason: str) -> Sample:
    provenance = sample.provenance.model_copy(
        update={"linearize_mode": "template", "linearize_reason": reason}
    )
    return sample.model_copy(update={"provenance": provenance})


def rewrite(
    sample: Sample, journey: Journey, prompts: PromptSet, texts: TextCache | None
) -> Sample:
    """The template `sample` with its thought rewritten from `texts` (a miss is recorded
    there for a backend to fill) if the rewrite is faithful to `journey`."""
    if texts is None:
        return _fallback(sample, f"{NO_REWRITE}: no backend (export with --reflect-backend)")
    messages = prompts.rewrite.render(question=sample.prompt, draft=sample.thought)
    text = texts.get("rewrite", messages, max_tokens=rewrite_tokens(sample.thought))
    if text is None:
        return _fallback(sample, f"{NO_REWRITE}: none cached and no backend to write one")
    instructions = [line for line in prompts.rewrite.user.splitlines() if "{" not in line]
    check = check_fidelity(
        text,
        journey,
        draft=sample.thought,
        question=sample.prompt,
        answer=sample.answer,
        forbidden=[line for line in instructions if len(line.strip()) >= 20],
    )
    if not check.ok:
        return _fallback(sample, f"{FIDELITY_FAILED}: {check.reason}")
    provenance = sample.provenance.model_copy(
        update={"linearize_mode": "rewrite", "linearize_reason": None}
    )
    return sample.model_copy(update={"thought": text.strip(), "provenance": provenance})
