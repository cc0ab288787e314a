"""Backends by name: the registries, `make_backend`, and the one constructor that the
SDK-backed backends and batch providers share (key and URL from the environment)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from journeygen.backends import BACKEND_NAMES, BACKENDS, BATCH_PROVIDERS
from journeygen.backends.anthropic_backend import AnthropicBackend
from journeygen.backends.base import Backend, BackendError, ChatMessage, SamplingOptions
from journeygen.backends.batch.anthropic_provider import AnthropicBatchProvider
from journeygen.backends.batch.openai_provider import OpenAIBatchProvider
from journeygen.backends.build import make_backend, make_batch_backend
from journeygen.backends.fake import FakeBackend
from journeygen.backends.local import LocalBackend
from journeygen.backends.openai_backend import OpenAIBackend
from journeygen.backends.sdk import SdkClient

QUESTION: list[ChatMessage] = [{"role": "user", "content": "What is 12 + 30?"}]
SDK_CLASSES: list[type[SdkClient[Any]]] = [
    OpenAIBackend,
    AnthropicBackend,
    OpenAIBatchProvider,
    AnthropicBatchProvider,
]
KEY = "sk-ant-api03-SECRETsecret0123456789"


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for provider in ("OPENAI", "ANTHROPIC"):
        for variable in ("API_KEY", "BASE_URL"):
            monkeypatch.delenv(f"{provider}_{variable}", raising=False)


def test_reading_the_names_and_building_a_fake_loads_no_sdk() -> None:
    """The CLI and the config read the registries: no SDK may load (start-up time), and
    building a backend loads only its own module."""
    code = (
        "import sys\n"
        "import journeygen.backends.batch, journeygen.config\n"
        "from journeygen.backends.build import make_backend\n"
        "make_backend('fake')\n"
        "print(sorted(m for m in ('openai', 'anthropic', 'llama_cpp', 'aiohttp') "
        "if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


async def test_every_registered_name_builds_its_class(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdef")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-abcdef")
    gguf = tmp_path / "model.gguf"  # loaded on first use only
    gguf.write_bytes(b"GGUF")
    assert tuple(BACKENDS) == BACKEND_NAMES
    models = {"local": str(gguf), "vllm": "org/model"}  # the engine, too, loads on first use
    for name, path in BACKENDS.items():
        backend = make_backend(name, model=models.get(name))
        try:
            assert isinstance(backend, Backend)
            assert (backend.name, type(backend).__name__) == (name, path.rpartition(":")[2])
        finally:
            await backend.aclose()
    for name, path in BATCH_PROVIDERS.items():
        batching = make_batch_backend(
            name, model="m", base_url=None, journal=tmp_path / "batches.jsonl"
        )
        try:
            assert (batching.name, batching.provider.model) == (name, "m")
            assert type(batching.provider).__name__ == path.rpartition(":")[2]
        finally:
            await batching.aclose()
    with pytest.raises(ValueError, match="batch mode needs the openai or anthropic backend"):
        make_batch_backend("local", model=None, base_url=None, journal=tmp_path / "b.jsonl")


@pytest.mark.parametrize("cls", SDK_CLASSES, ids=lambda cls: cls.__name__)
async def test_sdk_clients_share_one_constructor(
    cls: type[SdkClient[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = cls.api.env
    with pytest.raises(BackendError, match=f"{env}_API_KEY is not set"):
        cls()
    monkeypatch.setenv(f"{env}_BASE_URL", "http://127.0.0.1:9/v1")
    if cls.api.no_key is None:  # a server given by URL still needs the key
        with pytest.raises(BackendError, match=f"{env}_API_KEY is not set"):
            cls()
    monkeypatch.setenv(f"{env}_API_KEY", KEY)
    client = cls(timeout=7.5, max_retries=4)
    try:
        assert (client.model, client.base_url) == (cls.api.default_model, "http://127.0.0.1:9/v1")
        sdk: Any = client.client
        assert str(sdk.base_url).startswith("http://127.0.0.1:9/v1")
        assert (sdk.api_key, sdk.timeout, sdk.max_retries) == (KEY, 7.5, 4)
        assert isinstance(sdk._client, cls.api.transport)  # aiohttp carries the requests
        assert KEY not in repr(client)
        shown = client._redact(f"invalid key {KEY}, also known as sk-ant-api03-SEC*****6789")
        assert "SEC" not in shown and shown.count("[redacted]") == 2
    finally:
        await client.aclose()


async def test_make_backend_fake_default_cycles_one_answer() -> None:
    backend = make_backend("fake")
    assert isinstance(backend, FakeBackend)
    completions = await backend.complete(QUESTION, SamplingOptions(n=3))
    assert [c.text for c in completions] == ["The answer is 0."] * 3


async def test_make_backend_fake_from_script(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text('["Step 1: 12 + 30 = 42."]', encoding="utf-8")
    backend = make_backend("fake", model=str(script))
    [completion] = await backend.complete(QUESTION, SamplingOptions())
    assert completion.text == "Step 1: 12 + 30 = 42."


def test_make_backend_local_uses_bundled_model_and_seed(bundled_gguf: Path) -> None:
    backend = make_backend("local", seed=7)
    assert isinstance(backend, LocalBackend)
    assert isinstance(backend, Backend)
    assert (backend.model_path, backend.seed, backend.name) == (bundled_gguf, 7, "local")
    explicit = make_backend("local", model=str(bundled_gguf))
    assert isinstance(explicit, LocalBackend)
    assert explicit.model_path == bundled_gguf


async def test_make_backend_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BackendError, match="OPENAI_API_KEY is not set"):
        make_backend("openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdef")
    default = make_backend("openai")
    served = make_backend("openai", model="smollm2", base_url="http://127.0.0.1:8080/v1")
    assert isinstance(default, OpenAIBackend) and isinstance(served, OpenAIBackend)
    assert isinstance(default, Backend)
    assert (default.model, default.base_url, default.name) == ("gpt-4o-mini", None, "openai")
    assert (served.model, served.base_url) == ("smollm2", "http://127.0.0.1:8080/v1")
    await default.aclose()
    await served.aclose()


def test_make_backend_rejects_unknown_names_and_stray_base_url() -> None:
    assert BACKEND_NAMES == ("local", "openai", "anthropic", "fake", "vllm")
    with pytest.raises(ValueError, match="unknown backend 'ollama'; choose one of: local, openai"):
        make_backend("ollama")
    for name in ("fake", "local", "vllm"):
        with pytest.raises(ValueError, match=f"only for a backend that talks to a server.*{name}"):
            make_backend(name, base_url="http://127.0.0.1:8080/v1")
