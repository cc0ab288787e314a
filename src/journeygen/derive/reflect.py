"""Say why each detour of a journey is wrong, from the best source there is: a judge's written
reason, a failing arithmetic claim, a re-check of the final answer, an LLM-written
reflection, and the phrase bank last. The gold answer is never revealed."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from journeygen.derive.fidelity import number_values, numbers
from journeygen.derive.texts import TextCache
from journeygen.judges import traits
from journeygen.models import Journey, Node, ReflectionSource, Segment, Tree, Verdict

if TYPE_CHECKING:  # a type only: importing the prompts module loads yaml
    from journeygen.prompts import PromptSet

__all__ = ["REFLECT_TOKENS", "Phrases", "reflect"]

REFLECT_TOKENS = 160


class Phrases:
    """Seeded phrase picker that never says the same stock phrase twice in a row."""

    def __init__(self, prompts: PromptSet, rng: random.Random) -> None:
        self.prompts = prompts
        self.rng = rng
        self.last: dict[str, str] = {}

    def pick(self, key: str, **fields: str) -> str:
        choices = self.prompts.phrase_list(key)
        fresh = [c for c in choices if c != self.last.get(key)] or choices
        choice = self.rng.choice(fresh)
        self.last[key] = choice
        return choice.format(**fields)


def _sentence(reason: str) -> str:
    """A reason as the tail of a sentence: no final full stop, a lower-case first word
    unless it is "I" or an acronym."""
    text = reason.strip().rstrip(".")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _reveals_gold(text: str, tree: Tree) -> bool:
    """Whether `text` states the gold answer as a number the question does not already show."""
    gold = tree.problem.answer
    if gold is None:
        return False
    if len(numbers(gold)) != 1:  # not a plain number (a LaTeX fraction, a word)
        return gold.strip() in text
    golds = number_values(gold) - number_values(tree.problem.question)
    return bool(golds & number_values(text))


def _own_words(segment: Segment, tree: Tree) -> bool:
    """A reflection the searching model wrote itself that may stand: said, and silent about
    the gold answer."""
    own = segment.source in ("self", "critic") and bool(segment.text.strip())
    return own and not _reveals_gold(segment.text, tree)


def _incorrect(node: Node, accept: Callable[[Verdict], bool]) -> Verdict | None:
    for verdict in node.verdicts:
        if verdict.label == "incorrect" and verdict.reason.strip() and accept(verdict):
            return verdict
    return None


class _Reflector:
    """Resolves one reflection at a time, trying the configured sources in order."""

    def __init__(
        self, tree: Tree, prompts: PromptSet, texts: TextCache | None, rng: random.Random
    ) -> None:
        self.tree = tree
        self.prompts = prompts
        self.texts = texts
        self.phrases = Phrases(prompts, rng)

    def judge(self, node: Node, steps: list[str], wrong: list[str]) -> str | None:
        verdict = _incorrect(node, lambda v: traits(v.judge).explains)
        if verdict is None or _reveals_gold(verdict.reason, self.tree):
            return None
        return self.phrases.pick("reflection_reason", reason=_sentence(verdict.reason))

    def arithmetic(self, node: Node, steps: list[str], wrong: list[str]) -> str | None:
        verdict = _incorrect(node, lambda v: v.judge == "arithmetic")
        if verdict is None:
            return None
        return self.phrases.pick("reflection_arithmetic", reason=_sentence(verdict.reason))

    def answer(self, node: Node, steps: list[str], wrong: list[str]) -> str | None:
        if _incorrect(node, lambda v: v.judge == "answer") is None:
            return None
        if node.answer is None:
            return self.phrases.pick("reflection_no_answer")
        return self.phrases.pick("reflection_answer", answer=node.answer)

    def llm(self, node: Node, steps: list[str], wrong: list[str]) -> str | None:
        if self.texts is None:
            return None
        messages = self.prompts.reflect.render(
            question=self.tree.problem.question,
            steps="\n".join(steps) or "(none yet)",
            wrong="\n".join(wrong),
        )
        text = self.texts.get("reflect", messages, max_tokens=REFLECT_TOKENS)
        if not text or _reveals_gold(text, self.tree):
            return None
        return " ".join(text.split())

    def phrase(self, node: Node, steps: list[str], wrong: list[str]) -> str:
        if node.terminal and node.answer is None:
            return self.phrases.pick("reflection_no_answer")
        return self.phrases.pick("reflection_generic")


def reflect(
    journey: Journey,
    tree: Tree,
    prompts: PromptSet,
    *,
    sources: Sequence[ReflectionSource],
    texts: TextCache | None,
    seed: int,
    index: int = 0,
) -> Journey:
    """The journey with every reflection's text and `source` filled in. An LLM reflection
    comes from `texts` (a miss is recorded there for a backend to fill); when no listed
    source applies, the phrase bank answers. A reflection in the searching model's own words
    (an episode's `self` or `critic`) stays as it was said, unless it reveals the gold answer."""
    rng = random.Random(f"{seed}\x1f{tree.problem.id}\x1freflect\x1f{index}")
    reflector = _Reflector(tree, prompts, texts, rng)
    by_source: dict[ReflectionSource, Callable[[Node, list[str], list[str]], str | None]] = {
        "judge": reflector.judge,
        "arithmetic": reflector.arithmetic,
        "answer": reflector.answer,
        "llm": reflector.llm,
        "phrase": reflector.phrase,
    }
    segments: list[Segment] = []
    steps: list[str] = []
    wrong: list[str] = []
    for segment in journey.segments:
        if segment.kind == "step":
            steps.append(segment.text)
        elif segment.kind == "wrong_step":
            wrong.append(segment.text)
        elif segment.kind == "reflection" and _own_words(segment, tree):
            wrong = []
        elif segment.kind == "reflection" and segment.node_id is not None:
            node = tree.node(segment.node_id)
            source: ReflectionSource = "phrase"
            text = None
            for name in sources:  # lazily: a better source spares the LLM call
                text = by_source[name](node, steps, wrong)
                if text:
                    source = name
                    break
            text = text or reflector.phrase(node, steps, wrong)
            segment = segment.model_copy(update={"text": text, "source": source})
            wrong = []
        segments.append(segment)
    return journey.model_copy(update={"segments": segments})
