"""Search strategies by name. The table names each strategy's function as "module:function"
and imports it only when a run uses it, so the CLI and the config read the names without
loading the search; `search.tree.search` turns a problem into a tree."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["EPISODE_STRATEGIES", "STRATEGIES", "STRATEGY_NAMES", "strategy"]

STRATEGIES: dict[str, str] = {
    "beam": "journeygen.search.beam:beam",
    "rollout": "journeygen.search.rollout:rollout",
    "mcts": "journeygen.search.mcts:mcts",
    "best_of_n": "journeygen.search.best_of_n:best_of_n",
    "critique": "journeygen.search.critique:critique",
    "dialogue": "journeygen.search.dialogue:dialogue",
}
STRATEGY_NAMES: tuple[str, ...] = tuple(STRATEGIES)
# Strategies whose trees keep their moves in order (`Tree.events`): their runs also write
# the `episode` journeys those moves replay as.
EPISODE_STRATEGIES: tuple[str, ...] = ("critique", "dialogue")


def strategy(name: str) -> Callable[[Any], Awaitable[None]]:
    """The strategy function registered as `name`: it grows a `TreeBuilder`'s tree."""
    module, _, attr = STRATEGIES[name].partition(":")
    function: Callable[[Any], Awaitable[None]] = getattr(importlib.import_module(module), attr)
    return function
