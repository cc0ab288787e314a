"""Seeds derived from where a request is asked, so the same run asks the same things at any
concurrency and a rerun hits the request cache."""

from __future__ import annotations

import hashlib

__all__ = ["request_seed"]


def request_seed(seed: int, *parts: str | int | None) -> int:
    """A stable 31-bit seed for one request, derived from the run seed and where it is asked."""
    key = "\x1f".join(str(part) for part in (seed, *parts))
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") >> 1
