"""What a step judge is to the search, and how a run's judges are built from its settings."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol

from journeygen.backends.base import Backend
from journeygen.config import RunConfig
from journeygen.judges import JUDGES
from journeygen.models import Node, Problem, Verdict
from journeygen.prompts import ChatTemplate

__all__ = ["Judge", "make_judges"]


class Judge(Protocol):
    """Judges one step given the steps before it (`path`, from the first step)."""

    name: str

    async def judge(self, problem: Problem, path: Sequence[Node], node: Node) -> list[Verdict]:
        """Verdicts on `node`; an empty list when the judge has nothing to say about it."""
        ...


class JudgeFactory(Protocol):
    """A step judge's class: built from the run's settings (and the run's backend and judge
    prompt when it asks a model)."""

    def __call__(
        self, config: RunConfig, backend: Backend | None, template: ChatTemplate | None
    ) -> Judge: ...


def _factory(target: str) -> JudgeFactory:
    module, _, attr = target.partition(":")
    factory: JudgeFactory = getattr(importlib.import_module(module), attr).from_config
    return factory


def make_judges(
    config: RunConfig, backend: Backend | None = None, template: ChatTemplate | None = None
) -> list[Judge]:
    """The step judges `config.judges.use` names, in that order (labelling steps such as the
    rollout value run after search, in `judges.labels`)."""
    return [
        _factory(step_judge)(config, backend, template)
        for name in config.judges.use
        if (step_judge := JUDGES[name].step_judge) is not None
    ]
