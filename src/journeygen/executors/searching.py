"""Where a run's trees are searched: in this process (the default), or on other machines
(Ray workers) while the run's own process keeps the run folder, the request cache, the
budgets and the limits. Everything else about a run (which trees to build, saving them,
their LLM texts, the export) is the same code whatever the executor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from journeygen.backends.batch import tree_scope
from journeygen.config import RunConfig
from journeygen.judges.base import make_judges
from journeygen.models import Problem, Tree
from journeygen.prompts import PromptSet
from journeygen.runtime import Stack
from journeygen.search.tree import search
from journeygen.store import ExecutorInfo

__all__ = ["Executor", "InProcess", "SearchTree"]

SearchTree = Callable[[Problem], Awaitable[Tree]]
"""Build one problem's tree, every request through the run's runtime stack."""


class Executor(Protocol):
    """Searches a run's trees; `generate` asks it once per run."""

    def describe(self, concurrency: int) -> ExecutorInfo:
        """What the manifest records (`concurrency`: the run's requests in flight)."""
        ...

    def searching(
        self, stack: Stack, config: RunConfig, prompts: PromptSet
    ) -> AbstractAsyncContextManager[SearchTree]:
        """A tree searcher that sends its requests through `stack`, ready while entered."""
        ...


class InProcess:
    """The trees are searched in this process, on its event loop."""

    def describe(self, concurrency: int) -> ExecutorInfo:
        return ExecutorInfo(name="local", workers=1, concurrency=concurrency)

    @asynccontextmanager
    async def searching(
        self, stack: Stack, config: RunConfig, prompts: PromptSet
    ) -> AsyncIterator[SearchTree]:
        judges = make_judges(config, stack.backend, prompts.judge)
        critic = stack.critic.backend if stack.critic else None

        async def search_here(problem: Problem) -> Tree:
            async with tree_scope(stack.limits.inner):  # batch mode: a batch when all wait
                return await search(problem, stack.backend, judges, config, prompts, critic)

        yield search_here
