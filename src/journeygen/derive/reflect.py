"""Say why each detour of a journey is wrong, with the most specific usable reason there is: a
failing arithmetic claim over a judge's written reason that says why over a re-check of the
final answer; an LLM-written reflection when no source listed before it has one; the phrase
bank last. A reason that only restates the label is never used, and the gold answer is never
revealed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from journeygen.derive.fidelity import number_values, numbers
from journeygen.derive.texts import TextCache
from journeygen.judges import traits
from journeygen.judges.reasons import reason_flaw
from journeygen.models import Journey, Node, ReflectionSource, Segment, Tree

if TYPE_CHECKING:  # a type only: importing the prompts module loads yaml
    from journeygen.prompts import PromptSet

__all__ = [
    "INFORMATIVE",
    "LLM_ORIGIN",
    "PHRASE_ORIGIN",
    "RANKS",
    "REFLECT_TOKENS",
    "Offer",
    "Phrases",
    "best_offer",
    "offers",
    "reflect",
    "reflection_origin",
]

REFLECT_TOKENS = 160
# How specific each source's "why" is: an exact claim with its true value, a written reason
# that names what is wrong, a re-check that names only the wrong answer, a stock phrase.
RANKS: dict[ReflectionSource, int] = {
    "arithmetic": 3,
    "judge": 2,
    "llm": 2,
    "answer": 1,
    "phrase": 0,
}
INFORMATIVE = 2  # a rank from which a reflection says why the step is wrong
REVEALS_GOLD = "states the gold answer"
LLM_ORIGIN = "written by a model from prompts/reflect.md"
PHRASE_ORIGIN = "the phrase bank: no listed source had a reason that says why"


class Phrases:
    """Seeded phrase picker that goes through each list in a seeded order before it says any
    phrase again (and never the same one twice in a row), so no phrasing crowds out the rest."""

    def __init__(self, prompts: PromptSet, rng: random.Random) -> None:
        self.prompts = prompts
        self.rng = rng
        self.queue: dict[str, list[str]] = {}
        self.last: dict[str, str] = {}

    def pick(self, key: str, **fields: str) -> str:
        queue = self.queue.get(key)
        if not queue:
            queue = list(self.prompts.phrase_list(key))
            self.rng.shuffle(queue)
            if len(queue) > 1 and queue[0] == self.last.get(key):
                queue.append(queue.pop(0))
            self.queue[key] = queue
        choice = queue.pop(0)
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


@dataclass(frozen=True)
class Offer:
    """What one source offers as the "why" of a reflection on a step: the verdict it comes
    from and, when it may not be used, why not (`flaw`)."""

    source: ReflectionSource
    judge: str = ""
    reason: str = ""
    flaw: str | None = None

    @property
    def rank(self) -> int:
        return RANKS[self.source]


_PHRASE_OFFER = Offer("phrase")  # the same for every step (frozen: safe to share)


def _judge_offer(node: Node, tree: Tree) -> Offer | None:
    """The first written reason that says why; else the first one, with what it lacks."""
    offered: list[Offer] = []
    for verdict in node.verdicts:
        if verdict.label != "incorrect" or not traits(verdict.judge).explains:
            continue
        flaw = reason_flaw(verdict.reason, node.text, tree.problem.question)
        if flaw is None and _reveals_gold(verdict.reason, tree):
            flaw = REVEALS_GOLD
        offered.append(Offer("judge", verdict.judge, verdict.reason, flaw))
    return next((o for o in offered if o.flaw is None), offered[0] if offered else None)


def offers(node: Node, tree: Tree, sources: Sequence[ReflectionSource]) -> list[Offer]:
    """What each of `sources` offers for a reflection on the wrong step `node`, in their
    order; `llm` offers nothing here (its text is asked for only when it could win)."""
    found: list[Offer] = []
    for source in sources:
        offer: Offer | None = None
        if source == "judge":
            offer = _judge_offer(node, tree)
        elif source in ("arithmetic", "answer"):
            verdicts = [v for v in node.verdicts if v.label == "incorrect" and v.judge == source]
            offer = Offer(source, source, verdicts[0].reason) if verdicts else None
        elif source == "phrase":
            offer = _PHRASE_OFFER
        if offer is not None:
            found.append(offer)
    return found


def _may_ask_llm(usable: Sequence[Offer], sources: Sequence[ReflectionSource]) -> bool:
    """Whether the LLM (the one source that costs a call) is asked: no usable offer from a
    source listed before it, and none more specific than it could be."""
    before = set(sources[: list(sources).index("llm")])
    return not any(o.source in before or o.rank > RANKS["llm"] for o in usable)


def _best(usable: Sequence[Offer]) -> Offer | None:
    """More specific first; the configured order breaks ties (offers come in the order of
    their sources, and `max` keeps the first of equals)."""
    return max(usable, key=lambda o: o.rank, default=None)


def best_offer(node: Node, tree: Tree, sources: Sequence[ReflectionSource]) -> Offer | None:
    """The most specific usable offer from the verdicts and the phrase bank (None: none)."""
    return _best([o for o in offers(node, tree, sources) if o.flaw is None])


class _Reflector:
    """Resolves one reflection at a time: the best offer, unless an LLM text could beat it."""

    def __init__(
        self,
        tree: Tree,
        prompts: PromptSet,
        texts: TextCache | None,
        rng: random.Random,
        sources: Sequence[ReflectionSource],
    ) -> None:
        self.tree = tree
        self.prompts = prompts
        self.texts = texts
        self.phrases = Phrases(prompts, rng)
        self.sources = sources

    def resolve(self, node: Node, steps: list[str], wrong: list[str]) -> tuple[str, str]:
        usable = [o for o in offers(node, self.tree, self.sources) if o.flaw is None]
        best = _best(usable)
        if "llm" in self.sources and _may_ask_llm(usable, self.sources):
            text = self.llm(steps, wrong)
            if text is not None:
                return text, "llm"
        if best is None:
            return self.phrase(node), "phrase"
        return self.words(node, best), best.source

    def words(self, node: Node, offer: Offer) -> str:
        if offer.source == "judge":
            return self.phrases.pick("reflection_reason", reason=_sentence(offer.reason))
        if offer.source == "arithmetic":
            return self.phrases.pick("reflection_arithmetic", reason=_sentence(offer.reason))
        if offer.source == "answer" and node.answer is not None:
            return self.phrases.pick("reflection_answer", answer=node.answer)
        return self.phrase(node)

    def llm(self, steps: list[str], wrong: list[str]) -> str | None:
        if self.texts is None:
            return None
        messages = self.prompts.reflect.render(
            question=self.tree.problem.question,
            steps="\n".join(steps) or "(none yet)",
            wrong="\n".join(wrong),
        )
        text = self.texts.get("reflect", messages, max_tokens=REFLECT_TOKENS)
        question = self.tree.problem.question
        if (
            not text
            or _reveals_gold(text, self.tree)
            or reason_flaw(text, "\n".join(wrong), question)
        ):
            return None
        return " ".join(text.split())

    def phrase(self, node: Node) -> str:
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
    """The journey with every reflection's text and `source` filled in, from the most
    specific usable source (`RANKS`; the order of `sources` breaks ties). An LLM reflection,
    the one source that costs a call, is asked only when no source listed before it (and none
    more specific) has a usable reason; it comes from `texts` (a miss is recorded there for a
    backend to fill) and is used only if it says why. When no listed source applies, the
    phrase bank answers. A reflection in the searching model's own words
    (an episode's `self` or `critic`) stays as it was said, unless it reveals the gold answer."""
    rng = random.Random(f"{seed}\x1f{tree.problem.id}\x1freflect\x1f{index}")
    reflector = _Reflector(tree, prompts, texts, rng, sources)
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
            text, source = reflector.resolve(tree.node(segment.node_id), steps, wrong)
            segment = segment.model_copy(update={"text": text, "source": source})
            wrong = []
        segments.append(segment)
    return journey.model_copy(update={"segments": segments})


def reflection_origin(
    segment: Segment, tree: Tree, sources: Sequence[ReflectionSource]
) -> dict[str, Any]:
    """Where a reflected segment's "why" came from, for a reader: its source, the verdict and
    reason behind it, and every other offer that was passed over with why."""
    origin: dict[str, Any] = {"source": segment.source, "judge": "", "reason": ""}
    if segment.node_id is None or segment.source in (None, "self", "critic"):
        own = {"self": "the searching model's own words", "critic": "the critic's own words"}
        origin["reason"] = own.get(segment.source or "", "")
        return origin
    found = offers(tree.node(segment.node_id), tree, sources)
    used = next((o for o in found if o.source == segment.source and o.flaw is None), None)
    if segment.source == "llm":
        origin["reason"] = LLM_ORIGIN
    elif segment.source == "phrase":
        origin["reason"] = PHRASE_ORIGIN
    elif used is not None:
        origin.update(judge=used.judge, reason=used.reason)
    origin["passed_over"] = [
        {"source": o.source, "judge": o.judge, "reason": o.reason, "why": o.flaw}
        for o in found
        if o.flaw is not None
    ]
    return origin
