"""Shared machinery of every strategy: ask for steps, add judged nodes, keep the budget."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from journeygen.answers import extract_answer, is_final_step, last_number
from journeygen.backends.base import Backend, SamplingOptions
from journeygen.config import RunConfig
from journeygen.judges import Judge
from journeygen.models import Node, Problem, Usage
from journeygen.prompts import PromptSet

__all__ = ["TreeBuilder", "clean_step", "request_seed"]

ENUMERATION = re.compile(
    r"^\s*(?:[-*•]\s+|(?:step\s*)?\d+\s*[.):]\s+|step\s*\d+\s*[-—:]?\s*)", re.I
)
ANSWER_END = re.compile(
    r"(\\boxed\{.*\}|####\s*\S+|\b(?:the\s+)?(?:final\s+)?answer\s*(?:is|:)\s*[^\n]*?)"
    r"(?:\.(?=\s|$)|$)",
    re.I,
)


def request_seed(seed: int, *parts: str | int | None) -> int:
    """A stable 31-bit seed for one request, derived from the run seed and where it is asked."""
    key = "\x1f".join(str(part) for part in (seed, *parts))
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") >> 1


def clean_step(text: str, *, whole: bool) -> str:
    """One step out of a completion: the first non-empty line (or all lines when `whole`),
    without list numbering, cut after the sentence that states an answer."""
    lines = [ENUMERATION.sub("", line).strip() for line in text.strip().splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    step = " ".join(lines) if whole else lines[0]
    match = ANSWER_END.search(step)
    if match:
        step = step[: match.end()].strip()
    return step


class TreeBuilder:
    """The growing tree of one problem: strategies ask it to expand nodes and read its state."""

    def __init__(
        self,
        problem: Problem,
        backend: Backend,
        judges: Sequence[Judge],
        config: RunConfig,
        prompts: PromptSet,
    ) -> None:
        self.problem = problem
        self.backend = backend
        self.judges = list(judges)
        self.config = config
        self.prompts = prompts
        self.nodes: list[Node] = []
        self.usage = Usage()
        self.stop_reason: str | None = None
        self._by_id: dict[str, Node] = {}

    def path(self, node_id: str | None) -> list[Node]:
        """Steps from the first one down to `node_id` (empty for the question)."""
        steps: list[Node] = []
        while node_id is not None:
            node = self._by_id[node_id]
            steps.append(node)
            node_id = node.parent
        return steps[::-1]

    def children(self, node_id: str | None) -> list[Node]:
        return [node for node in self.nodes if node.parent == node_id]

    def out_of_budget(self) -> bool:
        """True (and the reason recorded) once nodes or tokens reach their budget."""
        search = self.config.search
        if len(self.nodes) >= search.max_nodes:
            self.stop_reason = f"node budget reached ({search.max_nodes} nodes)"
        elif self.usage.total_tokens >= search.max_tokens:
            self.stop_reason = f"token budget reached ({search.max_tokens} tokens)"
        return self.stop_reason is not None

    def _progress(self, steps: Sequence[Node]) -> str:
        if not steps:
            return ""
        phrase = self.prompts.phrase
        body = "".join(phrase("progress_line").format(text=node.text) for node in steps)
        return phrase("progress_header") + body + phrase("progress_footer")

    async def expand(self, parent: str | None, *, n: int, final: bool) -> list[Node]:
        """Sample `n` next steps after `parent` (closing steps if `final`), judge and add them.

        Returns the new nodes; an empty or repeated sibling text adds no node.
        """
        search = self.config.search
        steps = self.path(parent)
        template = self.prompts.final if final else self.prompts.step
        messages = template.render(question=self.problem.question, progress=self._progress(steps))
        options = SamplingOptions(
            n=n,
            temperature=search.temperature,
            max_tokens=search.final_tokens if final else search.step_tokens,
            stop=[] if final else ["\n"],
            seed=request_seed(self.config.seed, self.problem.id, parent or "", len(steps)),
        )
        completions = await self.backend.complete(messages, options)
        siblings = {node.text for node in self.children(parent)}
        added: list[Node] = []
        for completion in completions:
            self.usage = self.usage + completion.usage
            text = clean_step(completion.text, whole=final)
            if not text or text in siblings or len(self.nodes) >= search.max_nodes:
                continue
            siblings.add(text)
            node = await self._add(parent, text, final=final, completion_usage=completion.usage)
            added.append(node)
        return added

    async def _add(
        self, parent: str | None, text: str, *, final: bool, completion_usage: Usage
    ) -> Node:
        terminal = final or is_final_step(text)
        answer = (extract_answer(text) or last_number(text)) if terminal else None
        index = len(self.children(parent)) + 1
        node = Node(
            id=str(index) if parent is None else f"{parent}.{index}",
            parent=parent,
            text=text,
            terminal=terminal,
            answer=answer,
            usage=completion_usage,
        )
        path = self.path(parent)
        for judge in self.judges:
            node.verdicts.extend(await judge.judge(self.problem, path, node))
        self.nodes.append(node)
        self._by_id[node.id] = node
        return node
