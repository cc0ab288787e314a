"""A local OpenAI-compatible chat server on 127.0.0.1 for fault tests and the remote benchmark;
it also answers Anthropic's `POST /v1/messages`, so that backend is tested over real HTTP.

Plain asyncio streams (no framework), so it can misbehave exactly as asked: answer after a
fixed delay with unlimited concurrency, or inject a 429 with `Retry-After`, a 500, a hang
past the client's timeout, a connection dropped mid-body, a complete answer whose JSON is
cut off, or a `finish_reason: "length"` answer.
Answers are a pure function of the request (messages, seed, choice index), so a run against
it is reproducible, and it counts how often each request was answered (paid for).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

FAULTS = ("429", "500", "hang", "truncated", "garbled", "length")


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big")


def answer_text(messages: list[dict[str, Any]], seed: int | None, index: int) -> str:
    """A step or a final answer, chosen by a hash of the request: deterministic and varied."""
    h = _digest(json.dumps(messages, sort_keys=True), seed, index)
    a, b = h % 7 + 1, (h >> 8) % 5 + 1
    kind = (h >> 16) % 4
    if kind == 0:
        return f"First add {a} and {b} to get {a + b}."
    if kind == 1:
        return f"Then {a} times {b} is {a * b}."
    result = 8 if kind == 2 else a + b
    return f"So the result is {result}. The answer is {result}."


@dataclass
class StubServer:
    """Serve on a free port in a background thread; use `serve()` as a context manager."""

    delay: float = 0.0
    fault_rate: float = 0.0  # share of attempts that get a fault (by hash of request, attempt)
    faults: tuple[str, ...] = FAULTS
    hang_s: float = 5.0
    port: int = 0
    answered: Counter[str] = field(default_factory=Counter)  # 200s with a full body, by request
    attempts: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    dealt: int = 0  # faults decided so far

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def repeats(self) -> int:
        """Answers paid for more than once (same request body answered again)."""
        return sum(count - 1 for count in self.answered.values() if count > 1)

    def reset(self) -> None:
        self.answered.clear()
        self.attempts.clear()
        self.injected.clear()
        self.requests = 0
        self.dealt = 0

    @contextmanager
    def serve(self) -> Iterator[StubServer]:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        stop: asyncio.Future[None] | None = None

        async def main() -> None:
            nonlocal stop
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
            self.port = server.sockets[0].getsockname()[1]
            stop = loop.create_future()
            ready.set()
            async with server:
                await stop
            handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        ready.wait(10)
        try:
            yield self
        finally:
            assert stop is not None
            loop.call_soon_threadsafe(stop.set_result, None)
            thread.join(10)
            loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if not await self._respond(lines[0], body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # Shutdown cancels handlers idle on a kept-alive connection. Python 3.11's stream
            # callback logs a cancelled handler as an error, so this one ends normally.
            pass
        finally:
            writer.close()

    async def _respond(self, request_line: str, body: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False closes the connection."""
        self.requests += 1
        anthropic = "/v1/messages " in request_line
        if not request_line.startswith("POST") or not (
            anthropic or "/chat/completions" in request_line
        ):
            _send(writer, 404, {"error": {"message": "not found"}})
            return True
        key = hashlib.sha256(body).hexdigest()
        attempt = self.attempts[key]
        self.attempts[key] += 1
        request = json.loads(body)
        fault = self._fault(key, attempt)
        if self.delay:
            await asyncio.sleep(self.delay)
        if fault:
            self.injected[fault] += 1
        if fault == "429":
            _send(writer, 429, {"error": {"message": "slow down", "type": "rate_limit"}},
                  extra="Retry-After: 0.05\r\n")  # fmt: skip
            return True
        if fault == "500":
            _send(writer, 500, {"error": {"message": "boom", "type": "server_error"}})
            return True
        if fault == "hang":
            await asyncio.sleep(self.hang_s)
            return False
        make = self._message if anthropic else self._completion
        payload = make(request, cut=fault == "length")
        if fault == "truncated":  # the connection drops mid-body: a transport error
            data = json.dumps(payload).encode()
            writer.write(_head(200, len(data)) + data[: len(data) // 2])
            await writer.drain()
            return False
        if fault == "garbled":  # a whole HTTP answer whose body is cut JSON: unparseable
            data = json.dumps(payload).encode()[:40]
            writer.write(_head(200, len(data)) + data)
            return True
        _send(writer, 200, payload)
        await writer.drain()
        self.answered[key] += 1
        return True

    def _fault(self, key: str, attempt: int) -> str | None:
        """Whether an attempt gets a fault is a hash of (request, attempt); the kinds take
        turns, so a run with at least as many faults as kinds sees every kind."""
        if not self.fault_rate or not self.faults:
            return None
        if (_digest(key, attempt) % 10_000) / 10_000 >= self.fault_rate:
            return None
        self.dealt += 1
        return self.faults[(self.dealt - 1) % len(self.faults)]

    def _completion(self, request: dict[str, Any], *, cut: bool) -> dict[str, Any]:
        messages = request["messages"]
        seed = request.get("seed")
        choices = []
        for index in range(request.get("n") or 1):
            text = answer_text(messages, seed, index)
            if cut:
                text = text[: len(text) // 2]
            choices.append({
                "index": index,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "length" if cut else "stop",
                "logprobs": None,
            })  # fmt: skip
        prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion = sum(len(c["message"]["content"].split()) for c in choices)
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": 0,
            "model": request.get("model", "stub"),
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    def _message(self, request: dict[str, Any], *, cut: bool) -> dict[str, Any]:
        """A Messages API answer: one sample (the API has no `n`), text from the request."""
        text = answer_text(request["messages"], None, 0)
        if cut:
            text = text[: len(text) // 2]
        words = len(json.dumps(request["messages"]).split())
        return {
            "id": "msg_stub",
            "type": "message",
            "role": "assistant",
            "model": request.get("model", "stub"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "max_tokens" if cut else "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": words,
                "output_tokens": len(text.split()),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }


def _head(status: int, length: int, extra: str = "") -> bytes:
    reason = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Server Error"}[status]
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def _send(
    writer: asyncio.StreamWriter, status: int, payload: dict[str, Any], extra: str = ""
) -> None:
    data = json.dumps(payload).encode()
    writer.write(_head(status, len(data), extra) + data)


def main() -> None:
    """`python tests/stub_server.py DELAY_S`: print the base URL, serve until stdin closes
    (the benchmark runs the server in its own process so it does not share the client's GIL)."""
    import sys

    with StubServer(delay=float(sys.argv[1])).serve() as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
