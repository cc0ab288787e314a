"""The one constructor of the SDK-backed backends and batch providers: key and URL from the
environment, client options, the aiohttp transport, and keys kept out of every text we show.

The SDK modules are not imported here: each provider's module names its client class in an
`Api`, so this module (and `journeygen.backends`) stays free of SDK imports.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import httpx2

from journeygen.backends.base import BackendError, BackendOptions

__all__ = ["Api", "SdkClient"]

_SECRET = re.compile(r"\bsk-[A-Za-z0-9_*.\-]{3,}")  # OpenAI and Anthropic keys, masked ones too


class _Closeable(Protocol):
    async def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Closeable)


@dataclass(frozen=True)
class Api(Generic[ClientT]):
    """One provider's SDK: its environment variables (`<ENV>_API_KEY`, `<ENV>_BASE_URL`), its
    async client class and aiohttp transport, and the model used when none is named."""

    env: str
    title: str
    default_model: str
    client: Callable[..., ClientT]
    transport: Callable[[], httpx2.AsyncClient]
    no_key: str | None = None
    """Sent to a server given by URL when no key is set (local servers ignore it); None:
    a key is always needed."""


SdkT = TypeVar("SdkT", bound="SdkClient[Any]")


class SdkClient(Generic[ClientT]):
    """Holds one SDK client for `model`; subclasses name their `api`. Close with `aclose()`.

    The key comes from `api_key` or `<ENV>_API_KEY` and is only handed to the SDK: it is in
    no repr, and `_redact` takes it out of any text we show. `timeout` (seconds per attempt)
    and `max_retries` go to the SDK, which retries transport errors, timeouts, 429 (honouring
    `Retry-After`) and 5xx itself. Without `http_client`, aiohttp carries the requests.
    """

    api: ClassVar[Api[Any]]

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 2,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.model = model or self.api.default_model
        self.base_url = base_url or os.environ.get(f"{self.api.env}_BASE_URL") or None
        self._key = self._resolve_key(api_key)
        self.client: ClientT = self.api.client(
            api_key=self._key,
            base_url=self.base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client or self.api.transport(),
        )

    def _resolve_key(self, api_key: str | None) -> str:
        variable = f"{self.api.env}_API_KEY"
        key = api_key or os.environ.get(variable)
        if key:
            return key
        if self.api.no_key is None:
            raise BackendError(f"{variable} is not set")
        if self.base_url is None:
            raise BackendError(
                f"{variable} is not set (set it, or pass a base URL for a local server)"
            )
        return self.api.no_key

    @classmethod
    def create(cls: type[SdkT], options: BackendOptions) -> SdkT:
        """From `make_backend`'s options (the seed is not the client's: it rides on requests)."""
        return cls(
            options.model,
            base_url=options.base_url,
            timeout=options.timeout,
            max_retries=options.max_retries,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP connections (also one passed in as `http_client`)."""
        await self.client.close()

    def _where(self) -> str:
        """Who answered, for error messages: the base URL, or the provider's API."""
        return self.base_url or self.api.title

    def _redact(self, text: str) -> str:
        """`text` with the key, and anything shaped like a key, blanked out."""
        return _SECRET.sub("[redacted]", text.replace(self._key, "[redacted]"))
