"""What a run's reflections teach, for `journeygen stats`: where each one's "why" came from,
how many say why (an exact claim or a written reason that names what is wrong), how varied
their wording is (distinct texts, the most repeated phrasings, how evenly the phrase bank's
lists are used), and detours per journey against those asked, with why a journey has fewer.
Pure, over trees and the samples built from them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from journeygen.derive.journey import SHORT_REASONS, detour_shortfall
from journeygen.derive.samples import journey_settings
from journeygen.judges import traits
from journeygen.judges.reasons import reason_flaw
from journeygen.models import Sample, Segment, StrictModel, Tree, empty_dict, empty_list

if TYPE_CHECKING:  # a type only: importing the prompts module loads yaml
    from journeygen.prompts import PromptSet

__all__ = [
    "KINDS",
    "PHRASE_LISTS",
    "PhraseUse",
    "ReflectionStats",
    "phrasing",
    "reflection_kind",
    "reflection_stats",
]

# What a reflection's "why" is, most specific first; the first two say why.
KINDS = ("exact claim", "written reason", "answer re-check", "stock phrase", "vacuous")
SAYS_WHY = frozenset(KINDS[:2])
PHRASE_LISTS = (
    "reflection_reason",
    "reflection_arithmetic",
    "reflection_answer",
    "reflection_no_answer",
    "reflection_generic",
    "markers",
    "backtrack_step",
    "backtrack_start",
)
TOP_PHRASINGS = 5
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_FIELD = re.compile(r"\{[a-z_]+\}")


class PhraseUse(StrictModel):
    """How one list of the phrase bank was used across the run's journeys."""

    uses: int = 0
    options: int = 0
    used: int = Field(default=0, description="phrasings of the list used at least once")
    top: str = ""
    top_share: float | None = Field(default=None, description="share of the most used phrasing")
    even_share: float | None = Field(default=None, description="1 / options: every phrasing alike")


class ReflectionStats(StrictModel):
    """The reflections section of `journeygen stats`."""

    journeys: int = 0
    reflections: int = 0
    sources: dict[str, int] = Field(default_factory=empty_dict)
    kinds: dict[str, int] = Field(default_factory=empty_dict, description="KINDS → reflections")
    says_why: int = Field(default=0, description="reflections that are an exact claim or a reason")
    says_why_share: float | None = None
    distinct: int = Field(default=0, description="distinct reflection texts")
    distinct_share: float | None = Field(default=None, description="distinct texts / reflections")
    top_phrasings: list[tuple[str, int]] = Field(
        default_factory=empty_list, description="most repeated texts, numbers as #, if said twice"
    )
    phrase_use: dict[str, PhraseUse] = Field(default_factory=empty_dict)
    detours_asked: int = Field(default=0, description="sum over journeys of --detours")
    detours_taken: int = 0
    short_journeys: int = Field(default=0, description="journeys with fewer detours than asked")
    short_reasons: dict[str, int] = Field(
        default_factory=empty_dict, description="why (derive.journey.SHORT_REASONS) → journeys"
    )


def phrasing(text: str) -> str:
    """A reflection's wording with its numbers as '#', so templates show as one phrasing."""
    return _NUMBER.sub("#", " ".join(text.split()))


def reflection_kind(segment: Segment, tree: Tree | None) -> str:
    """Which of `KINDS` a reflected segment's "why" is (judged on its text alone without
    the tree)."""
    fixed = {"arithmetic": KINDS[0], "answer": KINDS[2], "phrase": KINDS[3]}
    if segment.source in fixed:
        return fixed[segment.source or ""]
    node = tree.node(segment.node_id) if tree is not None and segment.node_id else None
    reasons = [segment.text]
    if segment.source == "judge" and node is not None:  # the verdict reason it quotes
        text = segment.text.lower()
        quoted = [
            v.reason
            for v in node.verdicts
            if traits(v.judge).explains
            and v.reason.strip()
            and v.reason.strip().rstrip(".").lower() in text
        ]
        reasons = quoted or reasons
    step = node.text if node is not None else ""
    question = tree.problem.question if tree is not None else ""
    return KINDS[1] if any(reason_flaw(r, step, question) is None for r in reasons) else KINDS[4]


class _Template:
    """A phrasing of the bank as its literal parts: a paragraph fits it when the parts appear
    in order, each `{field}` between them filled with at least one character. Plain string
    search, not a regex per phrasing: compiling the bank's ~40 took 5 ms of every `stats`."""

    def __init__(self, key: str, text: str) -> None:
        self.key, self.text = key, text
        self.parts = _FIELD.split(text.replace("{{", "{").replace("}}", "}"))
        self.whole = key != "markers"  # a marker starts a paragraph; the rest are all of it

    def fits(self, paragraph: str) -> bool:
        first, *rest = self.parts
        if not paragraph.startswith(first):
            return False
        if not rest:
            return paragraph == first or not self.whole
        end = len(first)
        *middle, last = rest
        for part in middle:
            end = paragraph.find(part, end + 1)
            if end < 0:
                return False
            end += len(part)
        if self.whole:
            return paragraph.endswith(last) and len(paragraph) - len(last) > end
        return paragraph.find(last, end + 1) >= 0


def _templates(prompts: PromptSet) -> list[_Template]:
    found = [_Template(key, text) for key in PHRASE_LISTS for text in prompts.phrase_list(key)]
    found.sort(key=lambda template: -len(template.text))  # "Hmm, wait." before "Hmm."
    return found


def _phrase_use(journeys: Sequence[Sample], prompts: PromptSet) -> dict[str, PhraseUse]:
    """Which phrasing of each list each paragraph of the journeys' thoughts uses."""
    templates = _templates(prompts)
    markers = [t for t in templates if not t.whole]
    counts: dict[str, Counter[str]] = {key: Counter() for key in PHRASE_LISTS}
    for sample in journeys:
        for paragraph in sample.thought.split("\n\n"):
            marker = next((m for m in markers if m.fits(paragraph)), None)
            if marker is not None:
                counts["markers"][marker.text] += 1
                paragraph = paragraph[len(marker.text) :].lstrip()
            for template in templates:
                if template.whole and template.fits(paragraph):
                    counts[template.key][template.text] += 1
                    break
    use = {}
    for key, counter in counts.items():
        options = len(prompts.phrase_list(key))
        uses = sum(counter.values())
        top, most = counter.most_common(1)[0] if counter else ("", 0)
        use[key] = PhraseUse.model_construct(
            uses=uses,
            options=options,
            used=len(counter),
            top=top,
            top_share=round(most / uses, 4) if uses else None,
            even_share=round(1 / options, 4) if options else None,
        )
    return use


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def reflection_stats(
    trees: Sequence[Tree],
    journeys: Sequence[Sample],
    prompts: PromptSet | None = None,
    journey: Mapping[str, Any] | None = None,
) -> ReflectionStats:
    """The reflections of `journeys` (built from `trees` with the `journey` overrides): their
    sources and kinds, wording, phrase-bank use (with `prompts`), and detours against asked."""
    by_id = {tree.problem.id: tree for tree in trees}
    kinds: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    texts: list[str] = []
    short: Counter[str] = Counter()
    asked = taken = 0
    for sample in journeys:
        tree = by_id.get(sample.provenance.problem_id)
        for segment in sample.segments:
            if segment.kind == "reflection" and segment.source is not None:
                sources[segment.source] += 1
                kinds[reflection_kind(segment, tree)] += 1
                texts.append(segment.text)
        if tree is None:  # samples without their tree: no detours asked to compare
            continue
        config, seed = journey_settings(tree, journey or {})
        detours = sum(1 for segment in sample.segments if segment.kind == "backtrack")
        asked, taken = asked + config.detours, taken + detours
        if detours < config.detours:
            short[detour_shortfall(tree, config, seed=seed)] += 1
    says_why = sum(kinds[kind] for kind in SAYS_WHY)
    repeated = Counter(map(phrasing, texts)).most_common(TOP_PHRASINGS)
    return ReflectionStats.model_construct(
        journeys=len(journeys),
        reflections=len(texts),
        sources=dict(sources.most_common()),
        kinds={kind: kinds[kind] for kind in KINDS if kinds[kind]},
        says_why=says_why,
        says_why_share=_share(says_why, len(texts)),
        distinct=len(set(texts)),
        distinct_share=_share(len(set(texts)), len(texts)),
        top_phrasings=[(text, n) for text, n in repeated if n > 1],
        phrase_use=_phrase_use(journeys, prompts) if prompts is not None else {},
        detours_asked=asked,
        detours_taken=taken,
        short_journeys=sum(short.values()),
        short_reasons={why: short[why] for why in SHORT_REASONS if short[why]},
    )
