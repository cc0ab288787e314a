"""Shared machinery of every strategy: ask for steps, add judged nodes, keep the budget."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from journeygen.backends.base import Backend, Completion, SamplingOptions
from journeygen.config import RunConfig
from journeygen.judges import traits
from journeygen.judges.answers import extract_answer, is_final_step
from journeygen.judges.base import Judge
from journeygen.judges.labels import own_label
from journeygen.judges.redundancy import is_padding, redundancy_verdict
from journeygen.models import Event, Node, Problem, Usage, children_of, path_to
from journeygen.prompts import PromptSet
from journeygen.search.steps import clean_step, split_steps
from journeygen.seeds import request_seed

__all__ = ["Tally", "TreeBuilder", "dead_end", "reward"]


def dead_end(node: Node) -> bool:
    """A step nothing should follow: cut by `max_tokens`, or one that adds nothing."""
    return node.finish_reason == "length" or is_padding(node)


def reward(node: Node) -> float | None:
    """1 for a finished step judged correct, 0 for one judged wrong, None if not judged."""
    if not node.terminal:
        return None
    return {"correct": 1.0, "incorrect": 0.0, "unknown": None}[own_label(node)]


@dataclass
class Tally:
    """Search samples through one step: all of them, the judged ones, and the correct ones."""

    visits: int = 0
    judged: int = 0
    wins: float = 0.0


class TreeBuilder:
    """The growing tree of one problem: strategies ask it to expand nodes and read its state."""

    def __init__(
        self,
        problem: Problem,
        backend: Backend,
        judges: Sequence[Judge],
        config: RunConfig,
        prompts: PromptSet,
        critic: Backend | None = None,
    ) -> None:
        self.problem = problem
        self.backend = backend
        self.critic = critic or backend  # the dialogue's critic: the run's model unless another
        self.judges = list(judges)
        self._judges_ask_model = any(traits(judge.name).asks_model for judge in self.judges)
        self.config = config
        self.prompts = prompts
        self.nodes: list[Node] = []
        self.usage = Usage()
        self.stop_reason: str | None = None
        self.counters: Counter[str] = Counter()
        self.tallies: dict[str | None, Tally] = {}  # None: the question itself
        self._by_id: dict[str, Node] = {}
        self._rollouts_from: Counter[str | None] = Counter()
        self.events: list[Event] = []  # critique, dialogue: every move, in order

    def path(self, node_id: str | None) -> list[Node]:
        """Steps from the first one down to `node_id` (empty for the question)."""
        return path_to(self._by_id, node_id)

    def children(self, node_id: str | None) -> list[Node]:
        return children_of(self.nodes, node_id)

    def node(self, node_id: str) -> Node:
        return self._by_id[node_id]

    @property
    def cost(self) -> float:
        """Dollars spent so far at the configured per-million-token prices."""
        search = self.config.search
        return (
            self.usage.prompt_tokens * search.prompt_price
            + self.usage.completion_tokens * search.completion_price
        ) / 1_000_000

    def out_of_budget(self) -> bool:
        """True (and the reason recorded) once nodes, tokens or cost reach their budget."""
        search = self.config.search
        if len(self.nodes) >= search.max_nodes:
            self.stop_reason = f"node budget reached ({search.max_nodes} nodes)"
        elif self.usage.total_tokens >= search.max_tokens:
            self.stop_reason = f"token budget reached ({search.max_tokens} tokens)"
        elif search.max_cost is not None and self.cost >= search.max_cost:
            self.stop_reason = f"cost budget reached (${search.max_cost:g})"
        return self.stop_reason is not None

    def affordable(self, wanted: int, unit: str = "expansions") -> int:
        """How many of `wanted` units (a beam's expansions, MCTS simulations) sent together
        the token budget has room for, at this tree's tokens per unit so far (its requests
        and their judging; all of them before the first; at least one, so a round goes over
        the budget by one unit at most, as a single unit may). Decided from answers already
        in, so the tree is the same in any arrival order."""
        done = self.counters[unit]
        if done == 0:
            return wanted
        per_unit = self.usage.total_tokens / done
        left = self.config.search.max_tokens - self.usage.total_tokens
        return max(1, min(wanted, math.ceil(left / per_unit)))

    def tally(self, node_id: str | None) -> Tally:
        return self.tallies.get(node_id, Tally())

    def record(self, node_id: str | None, score: float | None) -> None:
        """Count one search sample ending at `node_id` on every step above it and the question."""
        for key in [None, *(node.id for node in self.path(node_id))]:
            tally = self.tallies.setdefault(key, Tally())
            tally.visits += 1
            if score is not None:
                tally.judged += 1
                tally.wins += score

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
        (added,) = await self.expand_all([parent], n=n, final=final)
        return added

    async def expand_all(
        self, parents: Sequence[str | None], *, n: int, final: bool | Sequence[bool]
    ) -> list[list[Node]]:
        """`expand` for several parents at once: their requests go out together, and their
        answers are added in `parents` order, so the tree is the same whatever order the
        answers arrive in. `final` may be given per parent (MCTS expands several levels)."""
        finals = [final] * len(parents) if isinstance(final, bool) else list(final)
        pairs = zip(parents, finals, strict=True)
        asked = await asyncio.gather(*(self._ask_steps(parent, n, last) for parent, last in pairs))
        added: list[list[Node]] = []
        made: list[tuple[Node, list[Node]]] = []
        for parent, completions, last in zip(parents, asked, finals, strict=True):
            nodes = self._hang_steps(parent, completions, last)
            made += [(node, self.path(parent)) for node in nodes]
            added.append(nodes)
        await self._judge(made)
        return added

    async def _ask_steps(self, parent: str | None, n: int, final: bool) -> list[Completion]:
        """The completions for `n` next steps after `parent` (none after a dead end)."""
        if parent is not None and dead_end(self.node(parent)):
            return []
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
        self.counters["expansions"] += 1
        return completions

    def _hang_steps(
        self, parent: str | None, completions: Sequence[Completion], final: bool
    ) -> list[Node]:
        """One new child of `parent` per usable completion (not empty, not a repeated sibling,
        within the node budget), not yet judged."""
        siblings = {node.text for node in self.children(parent)}
        added: list[Node] = []
        for completion in completions:
            self.usage = self.usage + completion.usage
            text = clean_step(completion.text, whole=final)
            if not text or text in siblings or len(self.nodes) >= self.config.search.max_nodes:
                continue
            siblings.add(text)
            node = self._new_node(
                parent,
                text,
                final=final,
                made_by=completion,
                finish_reason=completion.finish_reason,
            )
            added.append(node)
        return added

    async def add_steps(
        self, parent: str | None, completions: Sequence[Completion], *, final: bool
    ) -> list[Node]:
        """Hang and judge one step per usable completion under `parent`, for a strategy that
        asks for steps with its own prompts and seeds (critique, dialogue)."""
        nodes = self._hang_steps(parent, completions, final)
        await self._judge([(node, self.path(parent)) for node in nodes])
        return nodes

    async def rollout(self, parent: str | None, *, n: int) -> list[str | None]:
        """Sample `n` full solutions after `parent`, merge their steps into the tree on equal
        prefixes and record each one's reward; returns where each ended (its last step)."""
        return await self.rollout_all([parent], n=n)

    async def rollout_all(self, parents: Sequence[str | None], *, n: int) -> list[str | None]:
        """`rollout` from several prefixes at once (a prefix may repeat: each request gets
        its own seed): the requests go out together, the solutions are merged in order."""
        asked = await asyncio.gather(*(self._ask_solutions(parent, n) for parent in parents))
        ends: list[str | None] = []
        made: list[tuple[Node, list[Node]]] = []
        for parent, completions in zip(parents, asked, strict=True):
            for completion in completions:
                self.usage = self.usage + completion.usage
                new_steps, finished = split_steps(
                    completion.text, truncated=completion.finish_reason == "length"
                )
                end, created = self._hang_path(parent, new_steps, finished, completion)
                made += [(node, self.path(node.parent)) for node in created]
                ends.append(end)
        await self._judge(made)
        for end in ends:
            self.record(end, reward(self.node(end)) if end is not None else None)
        return ends

    async def _ask_solutions(self, parent: str | None, n: int) -> list[Completion]:
        """The completions of `n` whole solutions after `parent` (none after a dead end)."""
        if parent is not None and dead_end(self.node(parent)):
            self.record(parent, None)  # a visit that can go nowhere
            return []
        search = self.config.search
        steps = self.path(parent)
        messages = self.prompts.rollout.render(
            question=self.problem.question, progress=self._progress(steps)
        )
        asked = self._rollouts_from[parent]  # rollouts from one prefix get different seeds
        self._rollouts_from[parent] += 1
        options = SamplingOptions(
            n=n,
            temperature=search.temperature,
            max_tokens=search.rollout_tokens,
            seed=request_seed(self.config.seed, self.problem.id, "rollout", parent or "", asked),
        )
        completions = await self.backend.complete(messages, options)
        self.counters["rollouts"] += len(completions)
        return completions

    def _hang_path(
        self, parent: str | None, steps: Sequence[str], finished: bool, completion: Completion
    ) -> tuple[str | None, list[Node]]:
        """Hang `steps` under `parent`, reusing equal steps already there; steps past the depth
        limit join the last allowed one. Returns the id of the step the path ends on and the
        new (not yet judged) steps; the completion's usage, reasoning and cache entry go on the
        first new step it made."""
        room = self.config.search.depth - len(self.path(parent))
        if room <= 0 or not steps:
            return parent, []
        steps = [*steps[: room - 1], " ".join(steps[room - 1 :])] if len(steps) > room else steps
        current = parent
        created: list[Node] = []
        for index, text in enumerate(steps):
            same = next((c for c in self.children(current) if c.text == text), None)
            if same is None:
                if len(self.nodes) >= self.config.search.max_nodes:
                    self.out_of_budget()  # records why the path stops here
                    return current, created
                last = index == len(steps) - 1
                same = self._new_node(
                    current, text, final=last and finished, made_by=None if created else completion
                )
                created.append(same)
            current = same.id
            if same.terminal:
                return current, created
        return current, created

    def _new_node(
        self,
        parent: str | None,
        text: str,
        *,
        final: bool,
        made_by: Completion | None,
        finish_reason: str | None = None,
    ) -> Node:
        """Add a step (judged later): terminal when final or when it states an answer; a step
        that adds nothing gets its `redundant` verdict now. `finish_reason` is the
        completion's when the step is all it wrote (a line of a whole solution has none)."""
        terminal = final or is_final_step(text)
        index = len(self.children(parent)) + 1
        node = Node(
            id=str(index) if parent is None else f"{parent}.{index}",
            parent=parent,
            text=text,
            terminal=terminal,
            answer=extract_answer(text) if terminal else None,
            usage=made_by.usage if made_by else Usage(),
            reasoning=made_by.reasoning if made_by else None,
            finish_reason=finish_reason,
            request=made_by.request if made_by else None,
        )
        if padding := redundancy_verdict(text, self.problem.question, self.path(parent)):
            node.verdicts.append(padding)
        self.nodes.append(node)
        self._by_id[node.id] = node
        return node

    async def _judge(self, made: Sequence[tuple[Node, list[Node]]]) -> None:
        """Every judge on every new step (with the steps above it); verdicts land in judge
        order on each step, whatever order the answers arrive in. Steps are judged all at
        once when a judge asks a model; checks that run here (answer, arithmetic) go step by
        step, since a task per step costs more than the check."""

        async def judge_one(node: Node, path: list[Node]) -> None:
            for judge in self.judges:
                node.verdicts.extend(await judge.judge(self.problem, path, node))

        if self._judges_ask_model:
            await asyncio.gather(*(judge_one(node, path) for node, path in made))
            return
        for node, path in made:
            await judge_one(node, path)
