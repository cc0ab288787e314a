"""The loop of the critique and dialogue strategies (O1 Journey Part 1's attempts 2 and 3):
the policy writes a step, an agent (the policy itself, or a critic) chooses what comes next,
and the run checks every final answer, telling the agent when it is wrong without ever
naming the gold answer (the negative signal). Every move lands in `builder.events`, in the
order it happened, so the tree keeps the model's own reflections and backtracks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from journeygen.backends.base import Backend, SamplingOptions
from journeygen.judges.answer import AnswerJudge
from journeygen.models import AgentName, Event, EventKind, Node, Usage, Verdict
from journeygen.prompts import ChatTemplate
from journeygen.search.actions import Action, ActionKind, action_names, ask_action
from journeygen.search.builder import TreeBuilder, dead_end, reward
from journeygen.search.steps import clean_step
from journeygen.seeds import request_seed

__all__ = ["CRITIC_JUDGE", "Agent", "Episode", "numbered"]

CRITIC_JUDGE = "critic"


@dataclass(frozen=True)
class Agent:
    """Who chooses the actions, and how.

    `inner`: the actions it may take after an inner step, the first one the default when its
    answer never parses. `final`: the actions after a step that states an answer (None: the
    answer is checked at once). `note`: the phrase that shows its last words to the policy
    before the next step. `objects`: its reason for a backtrack becomes an `incorrect`
    verdict on the first step it drops (a critic's objection is evidence, a policy's
    second thoughts are not).
    """

    name: Literal["policy", "critic"]
    backend: Backend
    template: ChatTemplate
    inner: tuple[ActionKind, ...]
    final: tuple[ActionKind, ...] | None
    note: str
    objects: bool


def numbered(steps: Sequence[Node]) -> str:
    """The steps as the agents see them, so a backtrack can name one: "Step 1: …" per line."""
    return "".join(f"Step {index}: {node.text}\n" for index, node in enumerate(steps, start=1))


class _Stopped(Exception):
    """A budget is spent: the search ends before its next request."""


class Episode:
    """One critique or dialogue search over a `TreeBuilder`: where the policy stands, the
    note it is shown next, and how often each step has been gone back to."""

    def __init__(self, builder: TreeBuilder, agent: Agent) -> None:
        self.builder = builder
        self.agent = agent
        self.current: str | None = None  # the last step kept; None: the question
        self.note = ""  # the agent's last words, shown to the policy before its next step
        self.backtracks: Counter[str | None] = Counter()
        self.written = 0
        self.asked = 0

    async def run(self) -> None:
        """Write steps and act on them until a final answer is right, cannot be checked, or
        a budget ends the search before its next request (the step budget `search.turns`,
        `search.revisits` backtracks to one step, and the budgets of every strategy)."""
        try:
            await self._loop()
        except _Stopped:
            return

    async def _loop(self) -> None:
        while True:
            depth = len(self.builder.path(self.current)) + 1
            step = await self._write(final=depth >= self.builder.config.search.depth)
            if step is None or dead_end(step):
                continue  # nothing usable: the next step is asked with another seed
            if not step.terminal:
                action = await self._choose(step, self.agent.inner)
                if action.kind != "terminate":
                    self._act(step, action)
                    continue
                self._event("terminate", step.id, action.reason)
                self.current = step.id
                step = await self._write(final=True)
                if step is None or dead_end(step):
                    continue
            elif self.agent.final is not None:
                action = await self._choose(step, self.agent.final)
                if action.kind != "terminate":
                    self._act(step, action)
                    continue
                self._event("terminate", step.id, action.reason)
            if await self._check(step):
                return

    def _before_request(self, *, writing: bool) -> None:
        """Raise `_Stopped` once a budget is spent (the step budget before a step only)."""
        builder = self.builder
        turns = builder.config.search.turns
        if writing and builder.stop_reason is None and self.written >= turns:
            builder.stop_reason = f"step budget reached ({turns} steps written)"
        if builder.out_of_budget():
            raise _Stopped

    def _event(self, kind: EventKind, node_id: str | None, text: str = "") -> None:
        """Record a move: a step is the policy's, a check the run's, an action the agent's."""
        agent: AgentName = self.agent.name
        if kind in ("solved", "feedback"):
            agent = "system"
        elif kind == "step":
            agent = "policy"
        self.builder.events.append(Event(kind=kind, agent=agent, node_id=node_id, text=text))

    async def _write(self, *, final: bool) -> Node | None:
        """The policy's next step after `current` (a closing one if `final`), with the note
        shown first; a step it wrote before at this point is met again, not added twice."""
        self._before_request(writing=True)
        builder = self.builder
        prompts = builder.prompts
        steps = builder.path(self.current)
        progress = ""
        if steps:
            header, footer = prompts.phrase("progress_header"), prompts.phrase("progress_footer")
            progress = header + numbered(steps) + footer
        if self.note:
            progress += prompts.phrase(self.agent.note).format(text=self.note)
        template = prompts.final if final else prompts.step
        search = builder.config.search
        self.written += 1
        options = SamplingOptions(
            n=1,
            temperature=search.temperature,
            max_tokens=search.final_tokens if final else search.step_tokens,
            stop=[] if final else ["\n"],
            seed=request_seed(builder.config.seed, builder.problem.id, "write", self.written),
        )
        messages = template.render(question=builder.problem.question, progress=progress)
        (completion,) = await builder.backend.complete(messages, options)
        builder.counters["steps_written"] += 1
        added = await builder.add_steps(self.current, [completion], final=final)
        if added:
            step: Node | None = added[0]
        else:
            text = clean_step(completion.text, whole=final)
            step = next((c for c in builder.children(self.current) if c.text == text), None)
        if step is not None:
            self._event("step", step.id)
            self.note = ""
        return step

    async def _choose(self, step: Node, kinds: Sequence[ActionKind], feedback: str = "") -> Action:
        """The agent's action after `step`, out of `kinds`; an answer that never parses is
        recorded and the first of `kinds` taken (from the question, for a backtrack)."""
        self._before_request(writing=False)
        builder = self.builder
        path = builder.path(step.id)
        names = action_names(kinds, len(path))
        messages = self.agent.template.render(
            question=builder.problem.question,
            steps=numbered(path),
            feedback=feedback,
            actions=", ".join(f'"{name}"' for name in names),
        )
        self.asked += 1
        seed = request_seed(builder.config.seed, builder.problem.id, "act", self.asked)

        def spend(usage: Usage) -> bool:
            builder.usage = builder.usage + usage
            return not builder.out_of_budget()

        found = await ask_action(
            self.agent.backend, messages, names, builder.config.critic, seed=seed, spend=spend
        )
        builder.counters["actions"] += 1
        if isinstance(found, str):
            builder.counters["unparsed_actions"] += 1
            self._event("unparsed", step.id, found)
            return Action(kinds[0], "")
        return found

    def _act(self, step: Node, action: Action) -> None:
        """Continue from `step`, reflect on it and go on, or go back to an earlier step."""
        if action.kind != "backtrack":
            self._event(action.kind, step.id, action.reason)
            self.current = step.id
            self.note = action.reason if action.kind == "reflect" else ""
            return
        builder = self.builder
        path = builder.path(step.id)
        target = path[action.target - 1].id if action.target else None
        builder.counters["backtracks"] += 1
        self._event("backtrack", target, action.reason)
        dropped = path[action.target]
        if self.agent.objects and action.reason and not _objected(dropped):
            dropped.verdicts.append(
                Verdict(judge=CRITIC_JUDGE, label="incorrect", reason=action.reason)
            )
        self.current, self.note = target, action.reason
        self.backtracks[target] += 1
        limit = builder.config.search.revisits
        if self.backtracks[target] > limit:
            where = f"step {action.target}" if action.target else "the question"
            builder.stop_reason = f"went back to {where} more than {limit} times"

    async def _check(self, step: Node) -> bool:
        """Whether the search is over at this final step: its answer is right, or cannot be
        checked (no gold answer, no answer judge). A wrong one is said to be wrong, naming
        only the model's own answer, and the agent must go back."""
        score = reward(step)
        if score is None:
            return True
        if score == 1.0:
            self._event("solved", step.id)
            return True
        feedback = self._feedback(step)
        self._event("feedback", step.id, feedback.strip())
        self._act(step, await self._choose(step, ("backtrack",), feedback))
        return False

    def _feedback(self, step: Node) -> str:
        """The negative signal names the model's own answer when the answer check failed it;
        an answer that matches but fails another check (a false calculation) is not named,
        so the signal never states the gold answer."""
        phrase = self.builder.prompts.phrase
        if step.answer is None:
            return phrase("feedback_no_answer")
        wrong = any(v.judge == AnswerJudge.name and v.label == "incorrect" for v in step.verdicts)
        if wrong:
            return phrase("feedback_wrong_answer").format(answer=step.answer)
        return phrase("feedback_wrong_step")


def _objected(node: Node) -> bool:
    return any(verdict.judge == CRITIC_JUDGE for verdict in node.verdicts)
