"""Ctrl-C and SIGTERM stop a run cleanly: the request gate closes, trees in flight end as
`partial`, and a second signal kills as usual."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from journeygen.executors.summary import RunSummary
from journeygen.runtime import Stack

__all__ = ["SignalStop"]


class SignalStop:
    """While active, SIGINT and SIGTERM stop the run through the gate (trees in flight end as
    `partial`); the handlers are removed after the first signal, so a second one kills."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, stack: Stack, summary: RunSummary) -> None:
        self.stack = stack
        self.summary = summary
        self.previous: dict[signal.Signals, Any] = {}

    def _handle(self, signum: signal.Signals) -> None:
        self.summary.interrupted = True
        self.stack.gate.stop(f"interrupted ({signum.name})", abort=True)
        self._remove()

    def _remove(self) -> None:
        loop = asyncio.get_running_loop()
        for signum, previous in self.previous.items():
            loop.remove_signal_handler(signum)
            signal.signal(signum, previous)  # e.g. asyncio.run's own Ctrl-C handler
        self.previous = {}

    def __enter__(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in self.SIGNALS:
            previous = signal.getsignal(signum)
            try:
                loop.add_signal_handler(signum, self._handle, signum)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                continue
            self.previous[signum] = previous

    def __exit__(self, *exc: object) -> None:
        self._remove()
