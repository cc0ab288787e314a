"""Run a long batch on one event loop without garbage-collector stalls.

After the SDKs, pydantic and sympy are imported, the collector tracks about 300,000 objects,
and each full collection walks all of them: a 100-150 ms pause of the event loop, every few
seconds of a busy run. While the loop is paused no answer is read and no request is sent,
so every request slot idles. Freezing what exists before the run starts (`gc.freeze`, as
long-lived servers do) leaves full collections only the objects the run itself creates.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_batch"]

T = TypeVar("T")


def run_batch(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` with the objects alive now (modules, classes, the loaded
    configuration) moved out of the garbage collector's reach; garbage is collected first,
    so nothing collectable is kept for good."""
    gc.collect()
    gc.freeze()
    return asyncio.run(main)
