"""In-process fakes of the OpenAI Batch API and Anthropic Message Batches (httpx2 handlers).

Each implements only the endpoints journeygen calls, with bodies shaped as the providers
document them. A batch ends after `polls_to_end` polls. A prompt (the last user message)
in `expire_once` is left unanswered the first time it is in a batch (the batch expires); one
in `fail` always gets a per-request error; the first `failing_polls` polls get HTTP 500.
With `thinking` set, every answer carries it as the model's reasoning (`reasoning_content`
of an OpenAI-compatible server, an Anthropic thinking block).
`batches` keeps the prompts of every batch created.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx2

Answer = Callable[[str, int], str]
"""The text for (prompt, sample index)."""

EXPIRED_ERROR = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}


def last_user_text(messages: list[dict[str, Any]]) -> str:
    content = [m for m in messages if m["role"] == "user"][-1]["content"]
    if isinstance(content, str):
        return content
    return "".join(block["text"] for block in content)


class _FakeBatches:
    def __init__(self, answer: Answer, *, polls_to_end: int = 1) -> None:
        self.answer = answer
        self.polls_to_end = polls_to_end
        self.expire_once: set[str] = set()
        self.fail: set[str] = set()
        self.failing_polls = 0  # answer this many polls with HTTP 500 first
        self.thinking: str | None = None
        self.batches: list[list[str]] = []  # the prompts of each batch, in order of creation
        self._expired: set[str] = set()
        self._ids = itertools.count(1)

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=self.transport())

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        raise NotImplementedError

    def _poll_fails(self) -> bool:
        if self.failing_polls:
            self.failing_polls -= 1
            return True
        return False

    def _fate(self, prompt: str) -> str:
        """`expired` (first time only), `errored` or `succeeded`."""
        if prompt in self.fail:
            return "errored"
        if prompt in self.expire_once and prompt not in self._expired:
            self._expired.add(prompt)
            return "expired"
        return "succeeded"


class FakeOpenAIBatches(_FakeBatches):
    """POST /v1/files, GET /v1/files/{id}/content, POST /v1/batches, GET /v1/batches (newest
    first, one page), GET /v1/batches/{id}."""

    def __init__(self, answer: Answer, *, polls_to_end: int = 1) -> None:
        super().__init__(answer, polls_to_end=polls_to_end)
        self.files: dict[str, bytes] = {}
        self.state: dict[str, dict[str, Any]] = {}
        self.polls: dict[str, int] = {}

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        path, method = request.url.path, request.method
        if method == "POST" and path == "/v1/files":
            return self._upload(request)
        if method == "GET" and path.startswith("/v1/files/") and path.endswith("/content"):
            return httpx2.Response(200, content=self.files[path.split("/")[3]])
        if method == "POST" and path == "/v1/batches":
            return self._create(json.loads(request.content))
        if method == "GET" and path == "/v1/batches":
            return self._list()
        if method == "GET" and path.startswith("/v1/batches/"):
            return self._retrieve(path.rsplit("/", 1)[1])
        return httpx2.Response(404, json={"error": {"message": f"no route {method} {path}"}})

    def _upload(self, request: httpx2.Request) -> httpx2.Response:
        head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
        form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
        fields = {
            part.get_param("name", header="content-disposition"): part for part in form.iter_parts()
        }
        assert fields["purpose"].get_content().strip() == "batch"
        data = fields["file"].get_payload(decode=True)
        return httpx2.Response(200, json=self._file(data, "input.jsonl", "batch"))

    def _file(self, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = data
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": 1_700_000_000,
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }

    def _create(self, body: dict[str, Any]) -> httpx2.Response:
        assert body["endpoint"] == "/v1/chat/completions" and body["completion_window"] == "24h"
        lines = [json.loads(line) for line in self.files[body["input_file_id"]].splitlines()]
        assert all(ln["method"] == "POST" and ln["url"] == body["endpoint"] for ln in lines)
        self.batches.append([last_user_text(ln["body"]["messages"]) for ln in lines])
        batch_id = f"batch_{next(self._ids)}"
        self.state[batch_id] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": body["endpoint"],
            "errors": None,
            "input_file_id": body["input_file_id"],
            "completion_window": "24h",
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": 1_700_000_000,
            "in_progress_at": None,
            "expires_at": 1_700_086_400,
            "completed_at": None,
            "expired_at": None,
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        self.polls[batch_id] = 0
        return httpx2.Response(200, json=self.state[batch_id])

    def _list(self) -> httpx2.Response:
        data = list(reversed(self.state.values()))
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        page = {"object": "list", "data": data, "first_id": first, "last_id": last}
        return httpx2.Response(200, json={**page, "has_more": False})

    def _retrieve(self, batch_id: str) -> httpx2.Response:
        if self._poll_fails():
            error = {"message": "The server had an error", "type": "server_error"}
            return httpx2.Response(500, json={"error": error})
        batch = self.state[batch_id]
        self.polls[batch_id] += 1
        if batch["status"] in ("validating", "in_progress"):
            batch["status"] = "in_progress"
            if self.polls[batch_id] >= self.polls_to_end:
                self._end(batch)
        return httpx2.Response(200, json=batch)

    def _end(self, batch: dict[str, Any]) -> None:
        lines = [json.loads(line) for line in self.files[batch["input_file_id"]].splitlines()]
        output, errors = [], []
        for number, line in enumerate(lines):
            body = line["body"]
            prompt = last_user_text(body["messages"])
            row: dict[str, Any] = {"id": f"batch_req_{number}", "custom_id": line["custom_id"]}
            fate = self._fate(prompt)
            if fate == "expired":
                errors.append(row | {"response": None, "error": EXPIRED_ERROR})
            elif fate == "errored":
                error = {
                    "message": "max_tokens is too large: 999999.",
                    "type": "invalid_request_error",
                    "param": "max_tokens",
                    "code": None,
                }
                response = {
                    "status_code": 400,
                    "request_id": f"req_{number}",
                    "body": {"error": error},
                }
                errors.append(row | {"response": response, "error": None})
            else:
                completion = _chat_completion(
                    body, [self.answer(prompt, i) for i in range(body.get("n", 1))], self.thinking
                )
                response = {"status_code": 200, "request_id": f"req_{number}", "body": completion}
                output.append(row | {"response": response, "error": None})
        expired = any(row["error"] == EXPIRED_ERROR for row in errors)
        batch["status"] = "expired" if expired else "completed"
        batch["expired_at" if expired else "completed_at"] = 1_700_090_000
        batch["request_counts"] = {
            "total": len(lines),
            "completed": len(output),
            "failed": len(errors),
        }
        for rows, key in ((output, "output_file_id"), (errors, "error_file_id")):
            if rows:
                data = "".join(json.dumps(row) + "\n" for row in rows).encode()
                batch[key] = self._file(data, f"{key}.jsonl", "batch_output")["id"]


def _chat_completion(
    body: dict[str, Any], texts: list[str], thinking: str | None
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body["model"],
        "choices": [
            {
                "index": index,
                "message": {"role": "assistant", "content": text}
                | ({"reasoning_content": thinking} if thinking else {}),
                "logprobs": None,
                "finish_reason": "stop",
            }
            for index, text in enumerate(texts)
        ],
        "usage": {
            "prompt_tokens": 30,
            "completion_tokens": 4 * len(texts),
            "total_tokens": 30 + 4 * len(texts),
        },
    }


class FakeAnthropicBatches(_FakeBatches):
    """POST /v1/messages/batches, GET /v1/messages/batches/{id}, GET …/{id}/results."""

    def __init__(self, answer: Answer, *, polls_to_end: int = 1) -> None:
        super().__init__(answer, polls_to_end=polls_to_end)
        self.state: dict[str, dict[str, Any]] = {}
        self.requests: dict[str, list[dict[str, Any]]] = {}
        self.results: dict[str, bytes] = {}
        self.polls: dict[str, int] = {}

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        parts = request.url.path.strip("/").split("/")  # v1 messages batches [id [results]]
        if parts[:3] != ["v1", "messages", "batches"]:
            return httpx2.Response(
                404,
                json={"type": "error", "error": {"type": "not_found_error", "message": "no route"}},
            )
        if request.method == "POST" and len(parts) == 3:
            return self._create(json.loads(request.content)["requests"])
        if request.method == "GET" and len(parts) == 4:
            return self._retrieve(parts[3])
        if request.method == "GET" and len(parts) == 5 and parts[4] == "results":
            return httpx2.Response(200, content=self.results[parts[3]])
        return httpx2.Response(405)

    def _create(self, requests: list[dict[str, Any]]) -> httpx2.Response:
        custom_ids = [r["custom_id"] for r in requests]
        assert len(set(custom_ids)) == len(custom_ids)
        assert all(
            0 < len(c) <= 64 and c.replace("-", "").replace("_", "").isalnum() for c in custom_ids
        )
        self.batches.append([last_user_text(r["params"]["messages"]) for r in requests])
        batch_id = f"msgbatch_{next(self._ids):024d}"
        self.requests[batch_id] = requests
        self.state[batch_id] = {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "in_progress",
            "request_counts": {
                "processing": len(requests),
                "succeeded": 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "ended_at": None,
            "created_at": "2024-09-24T18:37:24.100435Z",
            "expires_at": "2024-09-25T18:37:24.100435Z",
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": None,
        }
        self.polls[batch_id] = 0
        return httpx2.Response(200, json=self.state[batch_id])

    def _list(self) -> httpx2.Response:
        data = list(reversed(self.state.values()))
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        page = {"object": "list", "data": data, "first_id": first, "last_id": last}
        return httpx2.Response(200, json={**page, "has_more": False})

    def _retrieve(self, batch_id: str) -> httpx2.Response:
        if self._poll_fails():
            error = {"type": "api_error", "message": "Internal server error"}
            return httpx2.Response(500, json={"type": "error", "error": error})
        batch = self.state[batch_id]
        self.polls[batch_id] += 1
        if (
            batch["processing_status"] == "in_progress"
            and self.polls[batch_id] >= self.polls_to_end
        ):
            self._end(batch)
        return httpx2.Response(200, json=batch)

    def _end(self, batch: dict[str, Any]) -> None:
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        lines = []
        fates: dict[str, str] = {}
        for request in self.requests[batch["id"]]:
            params = request["params"]
            prompt = last_user_text(params["messages"])
            if prompt not in fates:  # the n samples of one request share a fate
                fates[prompt] = self._fate(prompt)
            fate = fates[prompt]
            index = int(request["custom_id"].rsplit("-", 1)[1])
            if fate == "succeeded":
                result = {
                    "type": "succeeded",
                    "message": _message(params, self.answer(prompt, index), self.thinking),
                }
            elif fate == "errored":
                error = {"type": "invalid_request_error", "message": "max_tokens: 999999 > 64000"}
                result = {"type": "errored", "error": {"type": "error", "error": error}}
            else:
                result = {"type": "expired"}
            counts[fate] += 1
            lines.append({"custom_id": request["custom_id"], "result": result})
        self.results[batch["id"]] = "".join(
            json.dumps(line) + "\n" for line in reversed(lines)
        ).encode()
        batch |= {
            "processing_status": "ended",
            "request_counts": counts,
            "ended_at": "2024-09-24T19:37:24.100435Z",
            "results_url": f"https://api.anthropic.com/v1/messages/batches/{batch['id']}/results",
        }


def _message(params: dict[str, Any], text: str, thinking: str | None) -> dict[str, Any]:
    thought = [{"type": "thinking", "thinking": thinking, "signature": "EqQB"}] if thinking else []
    return {
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "content": [*thought, {"type": "text", "text": text}],
        "model": params["model"],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "output_tokens": 4,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 20,
        },
    }
