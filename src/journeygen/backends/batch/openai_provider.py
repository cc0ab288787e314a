"""The OpenAI Batch API as a `BatchProvider`: a jsonl file of chat requests in, files out.

Submit uploads the requests (purpose `batch`) and creates a batch on `/v1/chat/completions`
with the 24 h window; an ended batch (`completed`, `expired`, `cancelled`, `failed`) is read
from its output file (answers) and error file (per-request errors; `batch_expired` for those
the window left unanswered).
"""

from __future__ import annotations

import json
from typing import Any, Final

import openai
from pydantic import ValidationError

from journeygen.backends.base import BackendError
from journeygen.backends.batch.provider import BatchItem, BatchResults, Outcome
from journeygen.backends.openai_backend import OPENAI, ChatReply, chat_params, to_completions
from journeygen.backends.sdk import SdkClient

__all__ = ["OpenAIBatchProvider"]

ENDPOINT: Final = "/v1/chat/completions"
_RUNNING = {"validating", "in_progress", "finalizing", "cancelling"}
TOKEN_FIELD: Final = "journeygen_submission"
"""The batch metadata field that carries the journal's submission token."""
FIND_MARGIN_S: Final = 3600.0
"""How far before the journal's time a batch's `created_at` may lie (clocks differ)."""


class OpenAIBatchProvider(SdkClient[openai.AsyncOpenAI]):
    """Batches through one `AsyncOpenAI` client (key from `OPENAI_API_KEY`)."""

    name = "openai"
    api = OPENAI

    async def submit(self, items: list[BatchItem], token: str) -> str:
        lines = [
            {
                "custom_id": item.key,
                "method": "POST",
                "url": ENDPOINT,
                "body": chat_params(self.model, item.messages, item.options),
            }
            for item in items
        ]
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        try:
            upload = await self.client.files.create(
                file=("journeygen-batch.jsonl", data, "application/jsonl"), purpose="batch"
            )
            batch = await self.client.batches.create(
                input_file_id=upload.id,
                endpoint=ENDPOINT,
                completion_window="24h",
                metadata={TOKEN_FIELD: token},
            )
        except openai.APIError as exc:
            raise BackendError(f"openai batch: cannot submit: {_reason(exc)}") from None
        return batch.id

    async def find(self, token: str, since: float) -> str | None:
        """Newest batches first, back to an hour before `since`."""
        try:
            async for batch in self.client.batches.list(limit=100):
                if (batch.metadata or {}).get(TOKEN_FIELD) == token:
                    return batch.id
                if batch.created_at < since - FIND_MARGIN_S:
                    break
        except openai.APIError as exc:
            raise BackendError(f"openai batch: cannot list batches: {_reason(exc)}") from None
        return None

    async def poll(self, batch_id: str) -> BatchResults | None:
        try:
            batch = await self.client.batches.retrieve(batch_id)
            if batch.status in _RUNNING:
                return None
            outcomes: dict[str, Outcome] = {}
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    content = await self.client.files.content(file_id)
                    outcomes.update(_outcomes(content.text))
        except openai.APIError as exc:
            raise BackendError(f"openai batch {batch_id}: {_reason(exc)}") from None
        if batch.status == "failed":
            errors = [e.message for e in (batch.errors.data or [])] if batch.errors else []
            reason = "; ".join(m for m in errors if m) or "no reason given"
            return BatchResults(outcomes, missing=Outcome(error=f"batch failed: {reason}"))
        if batch.status == "expired":
            return BatchResults(outcomes, missing=Outcome(error="batch expired", retry=True))
        return BatchResults(outcomes)


def _outcomes(text: str) -> dict[str, Outcome]:
    """Outcomes from an output or error file: `{custom_id, response{status_code, body}, error}`."""
    outcomes: dict[str, Outcome] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key = str(row["custom_id"])
        except (ValueError, KeyError, TypeError):
            raise BackendError(f"openai batch: result line {number} is not a result") from None
        outcomes[key] = _outcome(row)
    return outcomes


def _outcome(row: dict[str, Any]) -> Outcome:
    error = row.get("error")
    if isinstance(error, dict):
        code = str(error.get("code") or "error")
        return Outcome(error=f"{code}: {error.get('message') or ''}", retry=code == "batch_expired")
    response = row.get("response") or {}
    status = response.get("status_code")
    body = response.get("body")
    if status == 200:
        try:
            completion = ChatReply.model_validate(body)
        except ValidationError:
            return Outcome(error="the answer is not a chat completion", retry=True)
        return Outcome(completions=to_completions(completion, len(completion.choices)))
    detail = body.get("error") if isinstance(body, dict) else None
    message = detail.get("message") if isinstance(detail, dict) else None
    retry = isinstance(status, int) and (status == 429 or status >= 500)
    return Outcome(error=f"HTTP {status}: {message or 'no message'}", retry=retry)


def _reason(exc: openai.APIError) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"  # the body may echo the key: keep only the status
    return type(exc).__name__
